// A BEP 15 UDP tracker client for the tests, packets built field by field from the spec's tables
// (not from the server's codec). One socket; replies are matched to requests by transaction id.
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'

export const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const
export const EVENT = { none: 0, completed: 1, started: 2, stopped: 3 } as const
const MAGIC = Buffer.from('0000041727101980', 'hex')

export function connectPacket(tid: number): Buffer {
  const b = Buffer.alloc(16)
  MAGIC.copy(b, 0)
  b.writeUInt32BE(ACTION.connect, 8)
  b.writeUInt32BE(tid >>> 0, 12)
  return b
}

export interface UdpAnnounceFields {
  infoHash: string // hex
  peerId?: Buffer
  downloaded?: bigint
  left?: bigint
  uploaded?: bigint
  event?: number
  key?: number
  numwant?: number
  port?: number
}

export function announcePacket(connectionId: Buffer, tid: number, f: UdpAnnounceFields): Buffer {
  const b = Buffer.alloc(98)
  connectionId.copy(b, 0)
  b.writeUInt32BE(ACTION.announce, 8)
  b.writeUInt32BE(tid >>> 0, 12)
  Buffer.from(f.infoHash, 'hex').copy(b, 16)
  ;(f.peerId ?? Buffer.from('-UT0001-' + randomBytes(6).toString('hex'))).copy(b, 36)
  b.writeBigUInt64BE(f.downloaded ?? 0n, 56)
  b.writeBigUInt64BE(f.left ?? 1000n, 64)
  b.writeBigUInt64BE(f.uploaded ?? 0n, 72)
  b.writeUInt32BE(f.event ?? EVENT.started, 80)
  b.writeUInt32BE(0, 84) // ip: default
  b.writeUInt32BE(f.key ?? 0x1234, 88)
  b.writeInt32BE(f.numwant ?? -1, 92)
  b.writeUInt16BE(f.port ?? 6881, 96)
  return b
}

export function scrapePacket(connectionId: Buffer, tid: number, infoHashes: string[]): Buffer {
  return Buffer.concat([connectionId, u32(ACTION.scrape), u32(tid), ...infoHashes.map((h) => Buffer.from(h, 'hex'))])
}

const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b }

export interface UdpAnnounceReply { interval: number; leechers: number; seeders: number; peers: { ip: string; port: number }[] }
export interface UdpScrapeEntry { seeders: number; completed: number; leechers: number }

export class UdpError extends Error {}

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
      if (w) { this.waiting.delete(tid); w(msg) } else this.unmatched.push(msg)
    })
  }

  /** A socket bound to `bindHost` (127.0.0.1 or ::1) talking to the tracker at host:port. */
  static async open(host: string, port: number, bindHost = host): Promise<UdpTrackerClient> {
    const socket = dgram.createSocket(bindHost.includes(':') ? 'udp6' : 'udp4')
    await new Promise<void>((resolve, reject) => { socket.once('error', reject); socket.bind(0, bindHost, () => { socket.off('error', reject); resolve() }) })
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
      const timer = setTimeout(() => { this.waiting.delete(tid); resolve(null) }, timeoutMs)
      this.waiting.set(tid, (msg) => { clearTimeout(timer); resolve(msg) })
      this.send(packet)
    })
  }

  async connect(): Promise<Buffer> {
    const tid = this.tid()
    const reply = await this.request(connectPacket(tid), tid)
    if (!reply) throw new UdpError('no reply to connect')
    if (reply.length < 16 || reply.readUInt32BE(0) !== ACTION.connect) throw new UdpError(`bad connect reply ${reply.toString('hex')}`)
    this.connectionId = Buffer.from(reply.subarray(8, 16))
    return this.connectionId
  }

  private async id(): Promise<Buffer> {
    return this.connectionId ?? this.connect()
  }

  /** Announce; throws UdpError with the tracker's message on an error reply (action 3). */
  async announce(f: UdpAnnounceFields, timeoutMs = 2000): Promise<UdpAnnounceReply> {
    const tid = this.tid()
    const reply = await this.request(announcePacket(await this.id(), tid, { peerId: this.peerId, ...f }), tid, timeoutMs)
    if (!reply) throw new UdpError('no reply to announce')
    const action = reply.readUInt32BE(0)
    if (action === ACTION.error) throw new UdpError(reply.toString('utf8', 8))
    if (action !== ACTION.announce || reply.length < 20) throw new UdpError(`bad announce reply ${reply.toString('hex')}`)
    const entry = this.socket.address().family === 'IPv6' ? 18 : 6
    if ((reply.length - 20) % entry !== 0) throw new UdpError(`announce reply peers not in ${entry}-byte entries`)
    const peers: { ip: string; port: number }[] = []
    for (let o = 20; o < reply.length; o += entry) {
      const ip = entry === 6 ? [...reply.subarray(o, o + 4)].join('.') : Array.from({ length: 8 }, (_, i) => reply.readUInt16BE(o + 2 * i).toString(16)).join(':')
      peers.push({ ip, port: reply.readUInt16BE(o + entry - 2) })
    }
    return { interval: reply.readUInt32BE(8), leechers: reply.readUInt32BE(12), seeders: reply.readUInt32BE(16), peers }
  }

  async scrape(infoHashes: string[], timeoutMs = 2000): Promise<UdpScrapeEntry[]> {
    const tid = this.tid()
    const reply = await this.request(scrapePacket(await this.id(), tid, infoHashes), tid, timeoutMs)
    if (!reply) throw new UdpError('no reply to scrape')
    const action = reply.readUInt32BE(0)
    if (action === ACTION.error) throw new UdpError(reply.toString('utf8', 8))
    if (action !== ACTION.scrape || reply.length !== 8 + 12 * infoHashes.length) throw new UdpError(`bad scrape reply ${reply.toString('hex')}`)
    return infoHashes.map((_, i) => ({ seeders: reply.readUInt32BE(8 + 12 * i), completed: reply.readUInt32BE(12 + 12 * i), leechers: reply.readUInt32BE(16 + 12 * i) }))
  }

  close(): Promise<void> {
    for (const w of this.waiting.values()) w(null)
    this.waiting.clear()
    return new Promise((resolve) => this.socket.close(() => resolve()))
  }
}
