// A BEP 15 UDP tracker client for the tests, over the core's request builders (the seeder's
// client side, which share no code with the server's parser) and its compact-peer reader. One
// socket; replies are matched to requests by transaction id.
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { compactPeerList } from '../../src/bittorrent/address.ts'
import {
  ACTION_ANNOUNCE,
  ACTION_CONNECT,
  ACTION_ERROR,
  ACTION_SCRAPE,
  udpAnnounceRequest,
  udpConnectRequest,
  udpScrapeRequest,
} from '../../src/bittorrent/tracker/udp.ts'

export const ACTION = {
  connect: ACTION_CONNECT,
  announce: ACTION_ANNOUNCE,
  scrape: ACTION_SCRAPE,
  error: ACTION_ERROR,
} as const
export const EVENT = { none: 0, completed: 1, started: 2, stopped: 3 } as const

export const connectPacket = (tid: number): Buffer => udpConnectRequest(tid)

export interface UdpAnnounceFields {
  infoHash: string // hex
  peerId?: Buffer
  downloaded?: bigint
  left?: bigint
  uploaded?: bigint
  event?: number // the raw BEP 15 code, so a test may send any
  key?: number
  numwant?: number
  port?: number
}

export function announcePacket(connectionId: Buffer, tid: number, f: UdpAnnounceFields): Buffer {
  const b = udpAnnounceRequest(connectionId, tid, {
    infoHash: Buffer.from(f.infoHash, 'hex'),
    peerId: f.peerId ?? Buffer.from('-UT0001-' + randomBytes(6).toString('hex')),
    downloaded: Number(f.downloaded ?? 0n),
    left: Number(f.left ?? 1000n),
    uploaded: Number(f.uploaded ?? 0n),
    event: 'update',
    key: f.key ?? 0x1234,
    numwant: f.numwant ?? -1,
    port: f.port ?? 6881,
  })
  b.writeUInt32BE(f.event ?? EVENT.started, 80)
  return b
}

export function scrapePacket(connectionId: Buffer, tid: number, infoHashes: string[]): Buffer {
  return udpScrapeRequest(
    connectionId,
    tid,
    infoHashes.map((h) => Buffer.from(h, 'hex')),
  )
}

export interface UdpAnnounceReply {
  interval: number
  leechers: number
  seeders: number
  peers: { ip: string; port: number }[]
}
export interface UdpScrapeEntry {
  seeders: number
  completed: number
  leechers: number
}

class UdpError extends Error {}

export class UdpTrackerClient {
  readonly socket: dgram.Socket
  readonly host: string
  readonly port: number
  private readonly waiting = new Map<number, (msg: Buffer | null) => void>()
  /** Every reply whose transaction id nobody waited for. */
  readonly unmatched: Buffer[] = []
  private nextTid = randomBytes(4).readUInt32BE() >>> 1
  connectionId: Buffer | null = null
  /** One peer id per client, as a real client has; an announce may name another. */
  readonly peerId = Buffer.from('-UT0001-' + randomBytes(6).toString('hex'))

  private constructor(socket: dgram.Socket, host: string, port: number) {
    this.socket = socket
    this.host = host
    this.port = port
    socket.on('message', (msg) => {
      const tid = msg.length >= 8 ? msg.readUInt32BE(4) : -1
      const w = this.waiting.get(tid)
      if (w) {
        this.waiting.delete(tid)
        w(msg)
      } else this.unmatched.push(msg)
    })
  }

  /** A socket bound to `bindHost` (127.0.0.1 or ::1) talking to the tracker at host:port. */
  static async open(host: string, port: number, bindHost = host): Promise<UdpTrackerClient> {
    const socket = dgram.createSocket(bindHost.includes(':') ? 'udp6' : 'udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, bindHost, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    return new UdpTrackerClient(socket, host, port)
  }

  tid(): number {
    this.nextTid = (this.nextTid + 1) >>> 0
    return this.nextTid
  }

  send(packet: Buffer): void {
    this.socket.send(packet, this.port, this.host)
  }

  /** Sends and waits for the reply carrying `tid`; null when none comes within timeoutMs. */
  request(packet: Buffer, tid: number, timeoutMs = 2000): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(tid)
        resolve(null)
      }, timeoutMs)
      this.waiting.set(tid, (msg) => {
        clearTimeout(timer)
        resolve(msg)
      })
      this.send(packet)
    })
  }

  async connect(): Promise<Buffer> {
    const tid = this.tid()
    const reply = await this.request(connectPacket(tid), tid)
    if (!reply) throw new UdpError('no reply to connect')
    if (reply.length < 16 || reply.readUInt32BE(0) !== ACTION.connect)
      throw new UdpError(`bad connect reply ${reply.toString('hex')}`)
    this.connectionId = Buffer.from(reply.subarray(8, 16))
    return this.connectionId
  }

  private async id(): Promise<Buffer> {
    return this.connectionId ?? this.connect()
  }

  /** Announce; throws UdpError with the tracker's message on an error reply (action 3). */
  async announce(f: UdpAnnounceFields, timeoutMs = 2000): Promise<UdpAnnounceReply> {
    const tid = this.tid()
    const reply = await this.request(
      announcePacket(await this.id(), tid, { peerId: this.peerId, ...f }),
      tid,
      timeoutMs,
    )
    if (!reply) throw new UdpError('no reply to announce')
    const action = reply.readUInt32BE(0)
    if (action === ACTION.error) throw new UdpError(reply.toString('utf8', 8))
    if (action !== ACTION.announce || reply.length < 20)
      throw new UdpError(`bad announce reply ${reply.toString('hex')}`)
    const entry = this.socket.address().family === 'IPv6' ? 18 : 6
    if ((reply.length - 20) % entry !== 0) throw new UdpError(`announce reply peers not in ${entry}-byte entries`)
    const peers = compactPeerList(reply.subarray(20), entry === 6 ? 4 : 6)
    return { interval: reply.readUInt32BE(8), leechers: reply.readUInt32BE(12), seeders: reply.readUInt32BE(16), peers }
  }

  async scrape(infoHashes: string[], timeoutMs = 2000): Promise<UdpScrapeEntry[]> {
    const tid = this.tid()
    const reply = await this.request(scrapePacket(await this.id(), tid, infoHashes), tid, timeoutMs)
    if (!reply) throw new UdpError('no reply to scrape')
    const action = reply.readUInt32BE(0)
    if (action === ACTION.error) throw new UdpError(reply.toString('utf8', 8))
    if (action !== ACTION.scrape || reply.length !== 8 + 12 * infoHashes.length)
      throw new UdpError(`bad scrape reply ${reply.toString('hex')}`)
    return infoHashes.map((_, i) => ({
      seeders: reply.readUInt32BE(8 + 12 * i),
      completed: reply.readUInt32BE(12 + 12 * i),
      leechers: reply.readUInt32BE(16 + 12 * i),
    }))
  }

  close(): Promise<void> {
    for (const w of this.waiting.values()) w(null)
    this.waiting.clear()
    return new Promise((resolve) => this.socket.close(() => resolve()))
  }
}
