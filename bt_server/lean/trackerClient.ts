// Sends one announce to an http(s) or udp tracker and returns its reply. HTTP goes through
// keep-alive agents (one connection per tracker serves many torrents' announces); UDP (BEP 15)
// uses one socket per address family for every tracker, with connection ids cached for a minute.
import dgram from 'node:dgram'
import { lookup } from 'node:dns/promises'
import http from 'node:http'
import https from 'node:https'
import { randomInt } from 'node:crypto'
import type { AnnounceParams, AnnounceReply } from '../../src/bittorrent/tracker/announce.ts'
import { httpAnnounceUrl, parseHttpAnnounceReply } from '../../src/bittorrent/tracker/http.ts'
import {
  parseUdpAnnounceReply,
  parseUdpConnectReply,
  udpAnnounceRequest,
  udpConnectRequest,
  udpReplyHeader,
} from '../../src/bittorrent/tracker/udp.ts'

const HTTP_TIMEOUT_MS = 15_000
const MAX_REPLY_BYTES = 256 * 1024
const UDP_TRY_MS = 5_000
const UDP_TRIES = 2
const CONNECTION_ID_MS = 60_000

interface StaleSocketError extends Error {
  staleSocket?: boolean
}

interface Pending {
  resolve(msg: Buffer): void
  reject(err: Error): void
  timer: NodeJS.Timeout
}

export class TrackerClient {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 })
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4 })
  private readonly sockets = new Map<4 | 6, dgram.Socket>()
  private readonly pending = new Map<number, Pending>()
  private readonly connectionIds = new Map<string, { id: Buffer; until: number }>()
  private closed = false

  /** Trackers we can announce to (ws/wss are WebRTC-only trackers: nothing for a TCP seed). */
  static supports(url: string): boolean {
    return /^(https?|udp):\/\//i.test(url)
  }

  announce(url: string, p: AnnounceParams): Promise<AnnounceReply> {
    return url.toLowerCase().startsWith('udp:') ? this.udpAnnounce(url, p) : this.httpAnnounce(url, p)
  }

  close(): void {
    this.closed = true
    this.httpAgent.destroy()
    this.httpsAgent.destroy()
    for (const s of this.sockets.values()) s.close()
    this.sockets.clear()
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.reject(new Error('closed'))
    }
    this.pending.clear()
  }

  // A kept connection the tracker closed while idle (opentracker closes each after its reply) can
  // be picked for the next announce before its end of file is read: the request then fails with
  // "socket hang up" or ECONNRESET without reaching the tracker. That one is sent again on a new
  // connection at once, not left to the 30 s back-off (a CI run saw a seed missing for 10 s).
  private async httpAnnounce(base: string, p: AnnounceParams): Promise<AnnounceReply> {
    const url = httpAnnounceUrl(base, p)
    try {
      return await this.httpGet(url)
    } catch (err) {
      if (!(err as StaleSocketError).staleSocket || this.closed) throw err
      return this.httpGet(url)
    }
  }

  private httpGet(url: string): Promise<AnnounceReply> {
    const isHttps = url.toLowerCase().startsWith('https:')
    return new Promise((resolve, reject) => {
      let answered = false
      const req = (isHttps ? https : http).get(
        url,
        { agent: isHttps ? this.httpsAgent : this.httpAgent, timeout: HTTP_TIMEOUT_MS },
        (res) => {
          answered = true
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (c: Buffer) => {
            size += c.length
            if (size > MAX_REPLY_BYTES) {
              req.destroy(new Error('reply too large'))
              return
            }
            chunks.push(c)
          })
          res.on('end', () => {
            const body = Buffer.concat(chunks)
            try {
              resolve(parseHttpAnnounceReply(body))
            } catch (err) {
              reject(new Error(res.statusCode === 200 ? (err as Error).message : `HTTP ${res.statusCode}`))
            }
          })
          res.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(new Error('timed out')))
      req.on('error', (err: NodeJS.ErrnoException & StaleSocketError) => {
        if (req.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.message === 'socket hang up'))
          err.staleSocket = true
        reject(err)
      })
    })
  }

  private async udpAnnounce(url: string, p: AnnounceParams): Promise<AnnounceReply> {
    const u = new URL(url)
    const port = Number(u.port)
    if (!port) throw new Error('udp tracker URL without a port')
    const host = u.hostname.replace(/^\[|\]$/g, '')
    const { address, family } = await lookup(host)
    const fam = family === 6 ? 6 : 4
    const target = `${address}:${port}`
    for (let attempt = 0; ; attempt++) {
      const connectionId = await this.connectionId(fam, address, port, target)
      const tid = randomInt(2 ** 32)
      const reply = await this.exchange(fam, address, port, tid, udpAnnounceRequest(connectionId, tid, p))
      const parsed = parseUdpAnnounceReply(reply, fam)
      // An error reply after a long pause is most likely an expired connection id: get a new one once.
      if (!parsed.ok && attempt === 0 && this.connectionIds.has(target)) {
        this.connectionIds.delete(target)
        continue
      }
      return parsed
    }
  }

  private async connectionId(fam: 4 | 6, address: string, port: number, target: string): Promise<Buffer> {
    const known = this.connectionIds.get(target)
    if (known && known.until > Date.now()) return known.id
    const tid = randomInt(2 ** 32)
    const id = parseUdpConnectReply(await this.exchange(fam, address, port, tid, udpConnectRequest(tid)))
    this.connectionIds.set(target, { id, until: Date.now() + CONNECTION_ID_MS })
    return id
  }

  /** Sends `packet` (retrying once) and resolves with the reply carrying `tid`. */
  private async exchange(fam: 4 | 6, address: string, port: number, tid: number, packet: Buffer): Promise<Buffer> {
    const socket = this.socket(fam)
    for (let attempt = 1; ; attempt++) {
      try {
        return await new Promise<Buffer>((resolve, reject) => {
          const timer = setTimeout(() => {
            this.pending.delete(tid)
            reject(new Error('timed out'))
          }, UDP_TRY_MS)
          this.pending.set(tid, { resolve, reject, timer })
          socket.send(packet, port, address, (err) => {
            if (!err) return
            clearTimeout(timer)
            this.pending.delete(tid)
            reject(err)
          })
        })
      } catch (err) {
        if (attempt >= UDP_TRIES || this.closed) throw err
      }
    }
  }

  private socket(fam: 4 | 6): dgram.Socket {
    let s = this.sockets.get(fam)
    if (s) return s
    s = dgram.createSocket(fam === 6 ? 'udp6' : 'udp4')
    s.on('message', (msg: Buffer) => {
      const head = udpReplyHeader(msg)
      const p = head && this.pending.get(head.transactionId)
      if (!p) return
      this.pending.delete(head.transactionId)
      clearTimeout(p.timer)
      p.resolve(msg)
    })
    s.on('error', () => {})
    s.unref()
    this.sockets.set(fam, s)
    return s
  }
}
