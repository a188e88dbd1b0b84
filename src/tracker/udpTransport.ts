// The UDP tracker (BEP 15). Connection IDs are HMACs of the source address and a time window,
// so a spoofed source cannot announce or scrape: it never sees the ID. Packets that do not parse,
// or carry a bad ID, are dropped unanswered so the tracker cannot be used to reflect traffic.
import dgram from 'node:dgram'
import { ConnectionIds } from './connectionIds.ts'
import { announceReply, connectReply, errorReply, parseUdpRequest, scrapeReply } from '../bittorrent/tracker/udp.ts'
import { TrackerProtocolError } from '../bittorrent/errors.ts'
import type { EmbeddedTracker } from './embeddedTracker.ts'

export class UdpTracker {
  private readonly tracker: EmbeddedTracker
  private readonly ids = new ConnectionIds()
  private readonly sockets: dgram.Socket[] = []

  constructor(tracker: EmbeddedTracker) {
    this.tracker = tracker
  }

  /** Binds `port` on `host`; on a wildcard host one dual-stack socket takes IPv4 and IPv6. */
  async listen(port: number, host: string): Promise<number> {
    const wildcard = host === '0.0.0.0' || host === '::'
    if (!wildcard) return this.bind(host.includes(':') ? 'udp6' : 'udp4', port, host)
    // A host without IPv6 falls back to IPv4 only.
    return this.bind('udp6', port, '::').catch(() => this.bind('udp4', port, '0.0.0.0'))
  }

  private bind(type: 'udp4' | 'udp6', port: number, address: string): Promise<number> {
    // A deep receive buffer rides out bursts instead of dropping them (the kernel caps it).
    const socket = dgram.createSocket({ type, ipv6Only: false, recvBufferSize: 4 * 1024 * 1024 })
    return new Promise<number>((resolve, reject) => {
      socket.once('error', (err) => {
        socket.close()
        reject(err)
      })
      socket.bind(port, address, () => {
        socket.removeAllListeners('error')
        socket.on('error', (err) => console.error(`[tracker] udp: ${err.message}`))
        socket.on('message', (msg, rinfo) => this.onMessage(socket, msg, rinfo))
        this.sockets.push(socket)
        resolve(socket.address().port)
      })
    })
  }

  private onMessage(socket: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const m = this.tracker.metrics
    let req
    try {
      req = parseUdpRequest(msg)
    } catch (err) {
      if (!(err instanceof TrackerProtocolError)) throw err
      m.udpDropped++
      return
    }
    const reply = (buf: Buffer) => socket.send(buf, rinfo.port, rinfo.address)
    if (req.action === 'connect') {
      m.udpConnects++
      return reply(connectReply(req.transactionId, this.ids.issue(rinfo.address, rinfo.port)))
    }
    if (!this.ids.verify(req.connectionId, rinfo.address, rinfo.port)) {
      m.udpDropped++
      return
    }
    if (req.action === 'announce') {
      const out = this.tracker.announce(req, rinfo.address, 'udp')
      if (!out.ok) return reply(errorReply(req.transactionId, out.reason))
      const v6 = rinfo.family === 'IPv6' && !rinfo.address.toLowerCase().startsWith('::ffff:')
      return reply(
        announceReply(req.transactionId, out.interval, out.incomplete, out.complete, v6 ? out.peers6 : out.peers4),
      )
    }
    const out = this.tracker.scrape(req.infoHashes, rinfo.address, 'udp')
    if (!out.ok) return reply(errorReply(req.transactionId, out.reason))
    // UDP scrape answers are positional: an unknown infohash in the list gets zeros.
    const byHash = new Map(out.files.map((f) => [f.infoHash, f]))
    reply(
      scrapeReply(
        req.transactionId,
        req.infoHashes.map((h) => byHash.get(h) ?? { complete: 0, downloaded: 0, incomplete: 0 }),
      ),
    )
  }

  /** Whether it still takes announces (/healthz): a closed socket has no address any more. */
  listening(): boolean {
    return (
      this.sockets.length > 0 &&
      this.sockets.every((s) => {
        try {
          s.address()
          return true
        } catch {
          return false
        }
      })
    )
  }

  close(): Promise<void> {
    return Promise.all(
      this.sockets.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    ).then(() => {})
  }
}
