// The lean seeding engine: one TCP listener (and a uTP one on the same port number) for every
// torrent, the handshake's infohash picking the torrent; a shared piece cache and an LRU of open
// files; one housekeeping timer and one announce timer for everything. It also dials the peers
// trackers hand out, since some clients (transmission) never dial a peer on loopback themselves.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import { Announcer } from './announcer.ts'
import { FdCache } from './fdCache.ts'
import { Peer, type PeerHost, type PeerSocket } from './peer.ts'
import { PieceCache } from './pieceCache.ts'
import { infoDictBytes, readTorrentMeta, sha1Hex } from './torrentMeta.ts'
import { mseTorrentKey } from '../wire/mse.ts'
import { newTorrent, slotsOf, type LeanTorrent } from './torrents.ts'
import type { PeerAddress } from './trackerCodec.ts'
import { listenUtp, type UtpListener } from './utp.ts'

const MAX_PEERS = 2000
const MAX_PEERS_PER_TORRENT = 100
const MAX_UNCHOKED_PER_TORRENT = 50
const DIAL_CONCURRENCY = 8
const DIAL_TIMEOUT_MS = 10_000
const MAX_DIAL_QUEUE = 5000
const HANDSHAKE_TIMEOUT_MS = 20_000
const IDLE_TIMEOUT_MS = 180_000
const KEEP_ALIVE_MS = 100_000
const UNINTERESTED_TIMEOUT_MS = 600_000
/** An unchoked peer that lost interest keeps its slot this long (its last requests may follow). */
const UNCHOKED_UNINTERESTED_MS = 10_000
const HOUSEKEEPING_MS = 10_000
const CACHE_WINDOWS = 64 // x 256 KiB
const CACHE_IDLE_MS = 20_000
const OPEN_FILES = 64
const INFO_DICTS = 16

export interface LeanEngineOptions {
  port: number
  log: (line: string) => void
  /** Accept uTP connections too (utp-native on the same port number); default true. */
  utp?: boolean
}

export class LeanEngine implements PeerHost {
  readonly peerId: Buffer = Buffer.concat([Buffer.from('-SC0100-'), Buffer.from(randomBytes(6).toString('hex'))])
  readonly cache: PieceCache<LeanTorrent>
  private readonly opts: LeanEngineOptions
  private readonly server: net.Server
  private utpServer: UtpListener | null = null
  private readonly ready: Promise<number>
  private readonly torrents = new Map<string, LeanTorrent>()
  /** HASH('req2', infohash) in hex -> torrent, for MSE handshakes. */
  private readonly mseKeys = new Map<string, LeanTorrent>()
  private readonly peers = new Set<Peer>()
  private readonly fds = new FdCache(OPEN_FILES, {
    open: (p) => new Promise((resolve, reject) => fs.open(p, 'r', (err, fd) => (err ? reject(err) : resolve(fd)))),
    close: (fd) => fs.close(fd, () => {}),
  })
  private readonly infoDicts = new Map<string, Promise<Buffer>>()
  private readonly dialQueue: { t: LeanTorrent; ip: string; port: number }[] = []
  private readonly selfAddresses = new Set<string>()
  private dialing = 0
  private nextId = 1
  private totalUploaded = 0
  private announcer: Announcer | null = null
  private readonly housekeeping: NodeJS.Timeout
  private port = 0
  private destroying: Promise<void> | null = null

  constructor(opts: LeanEngineOptions) {
    this.opts = opts
    this.cache = new PieceCache<LeanTorrent>({ maxWindows: CACHE_WINDOWS, maxPooled: CACHE_WINDOWS, read: (t, pos, targets) => this.readv(t, pos, targets) })
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket, true))
    this.server.on('error', (err) => opts.log(`[seeder] peer listener error: ${err.message}`))
    this.ready = new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(opts.port, () => {
        this.port = (this.server.address() as net.AddressInfo).port
        this.announcer = new Announcer({ peerId: this.peerId, port: this.port, log: opts.log, onPeers: (h, peers) => this.onPeers(h, peers) })
        if (opts.utp === false) resolve(this.port)
        else this.listenUtp(this.port).finally(() => resolve(this.port))
      })
    })
    this.housekeeping = setInterval(() => this.tidy(), HOUSEKEEPING_MS)
    this.housekeeping.unref()
  }

  get listenPort(): number { return this.port }

  listening(): Promise<number> { return this.ready }

  uploadedBytes(): number { return this.totalUploaded }

  async add(infoHash: string, torrentFile: Buffer, filePath: string): Promise<void> {
    await this.ready
    if (this.torrents.has(infoHash)) return
    const meta = readTorrentMeta(torrentFile, infoHash)
    const t = newTorrent(this.nextId++, meta, filePath, `${filePath}.torrent`)
    this.torrents.set(infoHash, t)
    this.mseKeys.set(mseTorrentKey(t.infoHashBuf).toString('hex'), t)
    this.announcer!.add(t)
  }

  /** New tracker list, same torrent: peers, cache and the info dict we serve stay as they are. */
  async retrack(infoHash: string, torrentFile: Buffer): Promise<void> {
    await this.ready
    const t = this.torrents.get(infoHash)
    if (!t) throw new Error('not seeding it')
    t.trackers = readTorrentMeta(torrentFile, infoHash).trackers
    this.announcer!.update(t)
  }

  async remove(infoHash: string): Promise<void> {
    const t = this.torrents.get(infoHash)
    if (!t) return
    this.torrents.delete(infoHash)
    this.mseKeys.delete(mseTorrentKey(t.infoHashBuf).toString('hex'))
    t.removed = true
    for (const p of [...(t.peers ?? [])]) p.destroy('torrent removed')
    for (const p of [...this.peers]) if (p.dialledFor === t) p.destroy('torrent removed')
    this.cache.dropTorrent(t.id)
    this.fds.drop(t.filePath)
    this.infoDicts.delete(infoHash)
    this.announcer?.remove(infoHash)
  }

  /** Idempotent: a second call (SIGINT, then SIGTERM from the web app) waits for the first. */
  destroy(): Promise<void> {
    this.destroying ??= this.shutdown()
    return this.destroying
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.housekeeping)
    this.server.close()
    this.utpServer?.close()
    for (const p of [...this.peers]) p.destroy('shutting down')
    this.dialQueue.length = 0
    await this.announcer?.close(1500)
    this.fds.closeAll()
  }

  // ---- PeerHost --------------------------------------------------------------------------

  findTorrent(infoHash: Buffer): LeanTorrent | undefined {
    return this.torrents.get(infoHash.toString('hex'))
  }

  mseLookup(req2: Buffer): Buffer | undefined {
    return this.mseKeys.get(req2.toString('hex'))?.infoHashBuf
  }

  attach(peer: Peer, t: LeanTorrent): boolean {
    t.peers ??= new Set()
    if (t.peers.size >= MAX_PEERS_PER_TORRENT) return false
    t.peers.add(peer)
    return true
  }

  detach(peer: Peer): void {
    this.peers.delete(peer)
    const t = peer.torrent ?? peer.dialledFor
    if (!t) return
    if (peer.dialledFor) t.dialled?.delete(peer.address)
    if (t.dialled?.size === 0) t.dialled = null
    if (peer.torrent && t.peers?.delete(peer)) {
      this.releaseSlot(peer)
      if (t.peers.size === 0) { t.peers = null; t.slots = null }
    }
    this.runDials()
  }

  wantUnchoke(peer: Peer): void {
    if (peer.torrent && slotsOf(peer.torrent, MAX_UNCHOKED_PER_TORRENT).request(peer)) peer.unchoke()
  }

  releaseSlot(peer: Peer): void {
    const next = peer.torrent?.slots?.release(peer)
    if (next && !next.destroyed) next.unchoke()
  }

  selfConnection(peer: Peer): void {
    if (peer.dialledFor) this.selfAddresses.add(peer.address)
  }

  readDirect(t: LeanTorrent, position: number, target: Buffer): Promise<number> {
    return this.readv(t, position, [target])
  }

  infoDict(t: LeanTorrent): Promise<Buffer> {
    let p = this.infoDicts.get(t.infoHash)
    if (!p) {
      p = readFile(t.torrentPath).then((file) => {
        const info = Buffer.from(infoDictBytes(file))
        if (sha1Hex(info) !== t.infoHash) throw new Error('the .torrent file changed')
        return info
      })
      p.catch(() => this.infoDicts.delete(t.infoHash))
      this.infoDicts.set(t.infoHash, p)
      if (this.infoDicts.size > INFO_DICTS) this.infoDicts.delete(this.infoDicts.keys().next().value!)
    }
    return p
  }

  countUpload(t: LeanTorrent, bytes: number): void {
    t.uploaded += bytes
    this.totalUploaded += bytes
  }

  log(line: string): void {
    this.opts.log(line)
  }

  // ---- connections -----------------------------------------------------------------------

  private accept(socket: PeerSocket, tcp: boolean): void {
    if (this.peers.size >= MAX_PEERS) { socket.destroy(); return }
    this.peers.add(new Peer(socket, this, { poolWrites: tcp }))
  }

  private async listenUtp(port: number): Promise<void> {
    try {
      const server = await listenUtp(port, (socket) => this.accept(socket, false), (err) => this.opts.log(`[seeder] uTP listener error: ${err.message}`))
      if (this.destroying) server.close()
      else this.utpServer = server
    } catch (err) {
      this.opts.log(`[seeder] no uTP on port ${port} (TCP only): ${(err as Error).message}`)
    }
  }

  private onPeers(infoHash: string, peers: PeerAddress[]): void {
    const t = this.torrents.get(infoHash)
    if (!t) return
    for (const { ip, port } of peers) {
      const address = `${ip}:${port}`
      if (this.isSelf(ip, port) || t.dialled?.has(address) || this.dialQueue.length >= MAX_DIAL_QUEUE) continue
      this.dialQueue.push({ t, ip, port })
    }
    this.runDials()
  }

  private isSelf(ip: string, port: number): boolean {
    if (this.selfAddresses.has(`${ip}:${port}`)) return true
    if (port !== this.port) return false
    if (ip.startsWith('127.') || ip === '::1' || ip === '0:0:0:0:0:0:0:1') return true
    return Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === ip))
  }

  private runDials(): void {
    while (this.dialing < DIAL_CONCURRENCY && this.dialQueue.length > 0 && this.peers.size < MAX_PEERS) {
      const { t, ip, port } = this.dialQueue.shift()!
      const address = `${ip}:${port}`
      if (t.removed || t.dialled?.has(address) || (t.peers?.size ?? 0) >= MAX_PEERS_PER_TORRENT) continue
      this.dial(t, ip, port, address)
    }
  }

  private dial(t: LeanTorrent, ip: string, port: number, address: string): void {
    t.dialled ??= new Set()
    t.dialled.add(address)
    this.dialing++
    const socket = net.connect({ host: ip, port, noDelay: true })
    socket.setTimeout(DIAL_TIMEOUT_MS, () => socket.destroy())
    let settled = false
    const settle = () => {
      if (settled) return false
      settled = true
      this.dialing--
      return true
    }
    socket.once('connect', () => {
      settle()
      socket.setTimeout(0)
      if (t.removed) { socket.destroy(); return }
      // The handshake timeout (housekeeping) takes over from here.
      this.peers.add(new Peer(socket, this, { poolWrites: true, dialledFor: t, address }))
      this.runDials()
    })
    socket.once('close', () => {
      if (!settle()) return
      t.dialled?.delete(address)
      this.runDials()
    })
    socket.on('error', () => {})
  }

  /** Timeouts, keep-alives and the cache's idle clean-up, for every peer at once. */
  private tidy(): void {
    const now = Date.now()
    for (const p of [...this.peers]) {
      if (!p.handshaken) {
        if (now - p.connectedAt > HANDSHAKE_TIMEOUT_MS) p.destroy('no handshake')
        continue
      }
      if (now - p.lastRecv > IDLE_TIMEOUT_MS) { p.destroy('idle'); continue }
      if (!p.interested && now - p.uninterestedSince > UNINTERESTED_TIMEOUT_MS) { p.destroy('not interested'); continue }
      if (!p.interested && !p.amChoking && p.queued === 0 && now - p.uninterestedSince > UNCHOKED_UNINTERESTED_MS) {
        this.releaseSlot(p)
        p.choke()
      }
      if (now - p.lastSend > KEEP_ALIVE_MS) p.keepAlive()
    }
    this.cache.expire(CACHE_IDLE_MS)
  }

  private readv(t: LeanTorrent, position: number, targets: Buffer[]): Promise<number> {
    const fdp = this.fds.acquire(t.filePath)
    return fdp.then((fd) => new Promise<number>((resolve, reject) => {
      fs.readv(fd, targets, position, (err, n) => (err ? reject(err) : resolve(n)))
    })).finally(() => this.fds.release(t.filePath, fdp))
  }
}
