// The lean seeding engine: one TCP listener (and a uTP one on the same port number) for every
// torrent, the handshake's infohash picking the torrent; a shared piece cache and an LRU of open
// files; one housekeeping timer and one announce timer for everything. It also dials the peers
// trackers hand out, since some clients (transmission) never dial a peer on loopback themselves:
// over TCP, then uTP where TCP fails, plain, then MSE where a plain opening is left unanswered (dialWays.ts).
// Strangers are bounded (limits.ts): connections in total, per address and per torrent (a full
// cap drops an idle connection of the address holding most, admission.ts), handshakes in
// progress per address, slots held without requesting, and queued output per peer and in total.
// The site's upload cap (seederUploadCap) is one FairThrottle for every peer of every torrent.
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import { readFile } from 'node:fs/promises'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { socketAddressKey as addressKey, peerEndpoint } from '../../src/bittorrent/address.ts'
import { FairThrottle } from '../../src/fairThrottle.ts'
import { AddressBook, pickVictim, type VictimView } from './admission.ts'
import { type AnnounceTarget, Announcer } from './announcer.ts'
import { type DialCandidate, DialPlanner } from './dialer.ts'
import { openDial } from './dialSocket.ts'
import { pexRound, readPex } from './swarmPex.ts'
import { FdCache } from './fdCache.ts'
import { type DiskFile, FileMap, type ReadPlan } from './fileMap.ts'
import { HashServer } from './hashRequests.ts'
import { tidyPeers } from './housekeeping.ts'
import { DEFAULT_LIMITS, RefusalCounts, type Bound, type SeederLimits } from './limits.ts'
import { Peer, type PeerHost, type PeerSocket } from './peer.ts'
import { PieceCache } from './pieceCache.ts'
import { infoDictBytes, infoMatches, pieceLayersOf, readTorrentMeta, type TorrentMeta } from './torrentMeta.ts'
import type { HashRequest } from '../../src/bittorrent/wire/hashes.ts'
import { mseTorrentKey } from '../../src/bittorrent/wire/mse.ts'
import { type DialOutcome, type DialWay, DialWays } from './dialWays.ts'
import { releaseFilePath } from '../../src/media/storage.ts'
import { newTorrent, slotsOf, type LeanTorrent } from './torrents.ts'
import { SEEDER_PEER_ID_PREFIX, type PeerAddress } from '../../src/bittorrent/tracker/announce.ts'
import { listenUtp, type UtpListener } from './utp.ts'

const DIAL_CONCURRENCY = 8
const DIAL_TIMEOUT_MS = 10_000
/** Timeouts are checked every second: a slot held by a peer that requests nothing frees in time. */
const HOUSEKEEPING_MS = 1000
/** A full cap may also drop an idle connection this old, whatever its address holds. */
const STALE_IDLE_MS = 30_000
/** How long a computed total of queued output is reused (it walks every peer). */
const TOTAL_REUSE_MS = 20
const CACHE_WINDOWS = 64 // x 256 KiB
const CACHE_IDLE_MS = 20_000
const OPEN_FILES = 64
const INFO_DICTS = 16

export interface LeanEngineOptions {
  port: number
  log: (line: string) => void
  /** Accept uTP connections too (utp-native on the same port number); default true. */
  utp?: boolean
  /** Bounds on what peers can make us hold (defaults: limits.ts). */
  limits?: Partial<SeederLimits>
}

export class LeanEngine implements PeerHost {
  readonly peerId: Buffer = Buffer.concat([
    Buffer.from(SEEDER_PEER_ID_PREFIX),
    Buffer.from(randomBytes(6).toString('hex')),
  ])
  readonly cache: PieceCache<LeanTorrent>
  readonly limits: SeederLimits
  readonly refusals = new RefusalCounts()
  /** Each wait for the cap is counted, so /metrics shows when it bites. */
  readonly uploadThrottle = new FairThrottle(() => this.refusals.add('seeder_upload_cap'))
  private readonly opts: LeanEngineOptions
  private readonly server: net.Server
  private utpServer: UtpListener | null = null
  private readonly ready: Promise<number>
  private readonly torrents = new Map<string, LeanTorrent>()
  /** A hybrid's other infohashes (hex: truncated v2, aria2c's) -> torrent. */
  private readonly aliases = new Map<string, LeanTorrent>()
  /** HASH('req2', infohash) in hex -> the infohash (either of a hybrid's), for MSE handshakes. */
  private readonly mseKeys = new Map<string, Buffer>()
  private readonly peers = new Set<Peer>()
  private readonly book = new AddressBook<Peer>()
  private totalOutput = 0
  private totalOutputAt = 0
  private readonly fds = new FdCache(OPEN_FILES, {
    // A symlink put into media/ must not make the seeder serve what it points at (the web side refuses them too).
    open: (p) =>
      new Promise((resolve, reject) =>
        fs.open(p, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW, (err, fd) => (err ? reject(err) : resolve(fd))),
      ),
    close: (fd) => fs.close(fd, () => {}),
  })
  private readonly infoDicts = new Map<string, Promise<Buffer>>()
  private readonly hashServer = new HashServer<LeanTorrent>((t) => this.pieceLayers(t))
  private readonly dials = new DialPlanner({
    isSelf: (ip, port) => this.isSelf(ip, port),
    dropped: () => this.refusals.add('seeder_dials_dropped'),
  })
  private readonly selfAddresses = new Set<string>()
  private readonly dialWays = new DialWays()
  private dialing = 0
  private nextId = 1
  private totalUploaded = 0
  private announcer: Announcer | null = null
  private readonly housekeeping: NodeJS.Timeout
  private port = 0
  private destroying: Promise<void> | null = null

  constructor(opts: LeanEngineOptions) {
    this.opts = opts
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits }
    this.cache = new PieceCache<LeanTorrent>({
      maxWindows: CACHE_WINDOWS,
      maxPooled: CACHE_WINDOWS,
      read: (t, pos, targets) => this.readv(t, pos, targets),
    })
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket, true))
    this.server.on('error', (err) => opts.log(`[seeder] peer listener error: ${err.message}`))
    this.ready = new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(opts.port, () => {
        this.port = (this.server.address() as net.AddressInfo).port
        this.announcer = new Announcer({
          peerId: this.peerId,
          port: this.port,
          log: opts.log,
          onPeers: (h, hashBuf, peers) => this.onPeers(h, hashBuf, peers),
        })
        if (opts.utp === false) resolve(this.port)
        else this.listenUtp(this.port).finally(() => resolve(this.port))
      })
    })
    this.housekeeping = setInterval(() => this.tidy(), HOUSEKEEPING_MS)
    this.housekeeping.unref()
  }

  get listenPort(): number {
    return this.port
  }

  listening(): Promise<number> {
    return this.ready
  }

  uploadedBytes(): number {
    return this.totalUploaded
  }

  uploadedByTorrent(): Map<string, number> {
    return new Map([...this.torrents.values()].map((t) => [t.infoHash, t.uploaded]))
  }

  /** Total upload rate for all peers, bytes per second; 0 = no cap. Peers waiting go on at the new rate. */
  setUploadCap(bytesPerSecond: number): void {
    this.uploadThrottle.setRate(bytesPerSecond)
  }

  /** Bound -> how often it refused or dropped a peer (for /metrics via the status message). */
  refusalCounts(): Record<string, number> {
    return this.refusals.snapshot()
  }

  async add(infoHash: string, torrentFile: Buffer, filePath: string): Promise<void> {
    await this.ready
    if (this.torrents.has(infoHash)) return
    const meta = readTorrentMeta(torrentFile, infoHash)
    const t = newTorrent(
      this.nextId++,
      meta,
      filePath,
      new FileMap(diskFiles(meta, filePath), meta.size),
      `${filePath}.torrent`,
    )
    this.torrents.set(infoHash, t)
    for (const h of hashesOf(t)) this.mseKeys.set(mseTorrentKey(h).toString('hex'), h)
    for (const h of t.aliasBufs) this.aliases.set(h.toString('hex'), t)
    for (const target of announceTargets(t)) this.announcer!.add(target)
  }

  /** New tracker list, same torrent: peers, cache and the info dict we serve stay as they are. */
  async retrack(infoHash: string, torrentFile: Buffer): Promise<void> {
    await this.ready
    const t = this.torrents.get(infoHash)
    if (!t) throw new Error('not seeding it')
    t.trackers = readTorrentMeta(torrentFile, infoHash).trackers
    for (const target of announceTargets(t)) this.announcer!.update(target)
  }

  async remove(infoHash: string): Promise<void> {
    const t = this.torrents.get(infoHash)
    if (!t) return
    this.torrents.delete(infoHash)
    for (const h of hashesOf(t)) this.mseKeys.delete(mseTorrentKey(h).toString('hex'))
    for (const h of t.aliasBufs) this.aliases.delete(h.toString('hex'))
    t.removed = true
    for (const p of [...(t.peers ?? [])]) p.destroy('torrent removed')
    for (const p of [...this.peers]) if (p.dialledFor === t) p.destroy('torrent removed')
    this.cache.dropTorrent(t.id)
    for (const f of t.fileMap.files) this.fds.drop(f.path)
    this.infoDicts.delete(infoHash)
    this.hashServer.drop(t.id)
    for (const h of hashesOf(t)) this.announcer?.remove(h.toString('hex'))
  }

  /** Idempotent: a second call (SIGINT, then SIGTERM from the web app) waits for the first. */
  destroy(): Promise<void> {
    this.destroying ??= this.shutdown()
    return this.destroying
  }

  private async shutdown(): Promise<void> {
    clearInterval(this.housekeeping)
    this.uploadThrottle.close()
    this.server.close()
    this.utpServer?.close()
    for (const p of [...this.peers]) p.destroy('shutting down')
    this.dials.clear()
    await this.announcer?.close(1500)
    this.fds.closeAll()
  }

  // ---- PeerHost --------------------------------------------------------------------------

  findTorrent(infoHash: Buffer): LeanTorrent | undefined {
    const hex = infoHash.toString('hex')
    return this.torrents.get(hex) ?? this.aliases.get(hex)
  }

  mseLookup(req2: Buffer): Buffer | undefined {
    return this.mseKeys.get(req2.toString('hex'))
  }

  attach(peer: Peer, t: LeanTorrent): boolean {
    if (t.peers && t.peers.size >= this.limits.peersPerTorrent) {
      this.refusals.add('seeder_peers_per_torrent')
      const victim = this.victim(t.peers, this.book.count(peer.key))
      if (!victim) return false
      victim.destroy('evicted: torrent full') // may leave t.peers null
    }
    t.peers ??= new Set()
    t.peers.add(peer)
    peer.inHandshake = false
    this.book.handshakeDone(peer.key)
    return true
  }

  detach(peer: Peer): void {
    if (!this.peers.delete(peer)) return
    this.uploadThrottle.forget(peer)
    this.book.remove(peer.key, peer, peer.inHandshake)
    const t = peer.torrent ?? peer.dialledFor
    if (!t) return
    if (peer.dialledFor) {
      t.dialled?.delete(peer.address)
      this.dials.coolDown(t, peer.address, Date.now(), peer.handshaken)
    }
    if (t.dialled?.size === 0) t.dialled = null
    if (peer.torrent && t.peers?.delete(peer)) {
      this.releaseSlot(peer)
      if (t.peers.size === 0) {
        t.peers = null
        t.slots = null
        t.ledger = null
      }
    }
    if (peer.listen) this.dials.closed(t, peer.listen.address, Date.now())
    this.runDials()
  }

  wantUnchoke(peer: Peer): void {
    if (
      peer.torrent &&
      slotsOf(peer.torrent, this.limits.unchokedPerTorrent, (p) => this.book.count(p.key)).request(peer, Date.now())
    )
      peer.unchoke()
  }

  releaseSlot(peer: Peer): void {
    const next = peer.torrent?.slots?.release(peer, Date.now())
    if (next && !next.destroyed) next.unchoke()
  }

  refuse(bound: Bound): void {
    this.refusals.add(bound)
  }

  sendTotalOver(): boolean {
    const now = Date.now()
    if (now - this.totalOutputAt > TOTAL_REUSE_MS) this.measureOutput(now)
    return this.totalOutput >= this.limits.sendBufferTotalBytes
  }

  private measureOutput(now: number): number {
    let sum = 0
    for (const p of this.peers) sum += p.outputBytes
    this.totalOutput = sum
    this.totalOutputAt = now
    return sum
  }

  /** An idle connection among `candidates` to drop for a newcomer whose address holds `newCount` with it, or null. */
  private victim(candidates: Iterable<Peer>, newCount: number): Peer | null {
    const now = Date.now()
    const idleAfter = this.limits.unchokedIdleMs
    // Idle: nothing queued, and no block ever requested (or none lately).
    const view = (p: Peer): VictimView => {
      const since = Math.max(p.lastRequest, p.connectedAt)
      return { key: p.key, idle: p.queued === 0 && (p.requests === 0 || now - p.lastRequest > idleAfter), since }
    }
    return pickVictim(candidates, view, (k) => this.book.count(k), newCount, now, STALE_IDLE_MS)
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
        if (!infoMatches(info, t.infoHash, t.infoHashV2)) throw new Error('the .torrent file changed')
        return info
      })
      p.catch(() => this.infoDicts.delete(t.infoHash))
      this.infoDicts.set(t.infoHash, p)
      if (this.infoDicts.size > INFO_DICTS) this.infoDicts.delete(this.infoDicts.keys().next().value!)
    }
    return p
  }

  hashes(t: LeanTorrent, req: HashRequest): Promise<Buffer> {
    return this.hashServer.answer(t, req)
  }

  private async pieceLayers(t: LeanTorrent): Promise<Map<string, Buffer>> {
    const file = await readFile(t.torrentPath)
    if (!infoMatches(infoDictBytes(file), t.infoHash, t.infoHashV2)) throw new Error('the .torrent file changed')
    return pieceLayersOf(file)
  }

  countUpload(t: LeanTorrent, bytes: number): void {
    t.uploaded += bytes
    this.totalUploaded += bytes
  }

  pexReceived(peer: Peer, t: LeanTorrent, payload: Buffer): void {
    const now = Date.now()
    const peers = readPex(peer, payload, now)
    if (!peers?.length || t.removed) return
    this.dials.offer(t, t.infoHashBuf, peers, now)
    this.runDials()
  }

  log(line: string): void {
    this.opts.log(line)
  }

  // ---- connections -----------------------------------------------------------------------

  private accept(socket: PeerSocket, tcp: boolean): void {
    if (this.destroying) {
      socket.destroy()
      return
    }
    const key = addressKey(socket.remoteAddress)
    const refused = this.admit(key)
    if (refused) {
      this.refusals.add(refused)
      socket.on('error', () => {})
      socket.destroy()
      return
    }
    this.track(new Peer(socket, this, { tcp, key }))
  }

  /** Why a new connection from `key` may not stay (after dropping an idle one if the cap is full), or null. */
  private admit(key: string): Bound | null {
    if (this.book.count(key) >= this.limits.peersPerAddress) return 'seeder_peers_per_address'
    if (this.book.handshaking(key) >= this.limits.handshakesPerAddress) return 'seeder_handshakes_per_address'
    if (this.peers.size < this.limits.maxPeers) return null
    const victim = this.victim(this.peers, this.book.count(key) + 1)
    if (!victim) return 'seeder_peers_total'
    this.refusals.add('seeder_peers_total')
    victim.destroy('evicted: peer cap full')
    return null
  }

  private track(peer: Peer): void {
    this.peers.add(peer)
    this.book.add(peer.key, peer)
  }

  private async listenUtp(port: number): Promise<void> {
    try {
      const server = await listenUtp(
        port,
        (socket) => this.accept(socket, false),
        (err) => this.opts.log(`[seeder] uTP listener error: ${err.message}`),
      )
      if (this.destroying) server.close()
      else this.utpServer = server
    } catch (err) {
      this.opts.log(`[seeder] no uTP on port ${port} (TCP only): ${(err as Error).message}`)
    }
  }

  /**
   * `hash`: the infohash the tracker knows these peers by (a hybrid's v1 or v2 one): the one we dial
   * with. Not aria2c's: no other client knows that hash, and a tracker that keeps one swarm for all
   * of a hybrid's hashes (the site's) lists every peer under it; aria2c peers dial us themselves.
   */
  private onPeers(infoHash: string, hash: Buffer, peers: PeerAddress[], started = false): number {
    const t = this.torrents.get(infoHash) ?? this.aliases.get(infoHash)
    if (!t) return 0
    if (t.infoHashV2 !== null && infoHash !== t.infoHash && infoHash !== t.infoHashV2.slice(0, 40)) return 0
    const unseen = this.dials.offer(t, hash, peers, Date.now(), started)
    this.runDials()
    return unseen
  }

  /** Leechers the site's tracker saw announce `started` (pushed over IPC): dialled at once, as a tracker reply's. */
  addPeers(infoHash: string, peers: PeerAddress[]): void {
    if (/^[0-9a-f]{40}$/.test(infoHash)) this.onPeers(infoHash, Buffer.from(infoHash, 'hex'), peers, true)
  }

  private isSelf(ip: string, port: number): boolean {
    if (this.selfAddresses.has(peerEndpoint(ip, port))) return true
    if (port !== this.port) return false
    if (ip.startsWith('127.') || ip === '::1' || ip === '0:0:0:0:0:0:0:1') return true
    return Object.values(os.networkInterfaces()).some((list) => list?.some((a) => a.address === ip))
  }

  private runDials(): void {
    // Peers closed while shutting down call this: no new dials then (nor calls into a closing uTP socket).
    if (this.destroying) return
    while (this.dialing < DIAL_CONCURRENCY && this.peers.size < this.limits.maxPeers) {
      const next = this.dials.next()
      if (!next) return
      const { t, hash, ip, port, address } = next
      if (t.removed || t.dialled?.has(address) || (t.peers?.size ?? 0) >= this.limits.peersPerTorrent) continue
      if (this.book.count(addressKey(ip)) >= this.limits.peersPerAddress) continue
      this.dial(t, hash, ip, port, address)
    }
  }

  private dial(t: LeanTorrent, hash: Buffer, ip: string, port: number, address: string): void {
    t.dialled ??= new Set()
    t.dialled.add(address)
    this.dialing++
    const utp = this.utpServer !== null && net.isIPv4(ip) // utp-native speaks IPv4 only
    const way = this.dialWays.first(address, utp)
    const target = { ip, port, timeoutMs: DIAL_TIMEOUT_MS, utp: way.utp ? this.utpServer : null }
    openDial(target, (socket) => {
      this.dialing--
      if (!socket) {
        t.dialled?.delete(address)
        this.dials.coolDown(t, address, Date.now())
        this.dialAgain({ t, hash, ip, port, address }, way, 'failed')
        this.runDials()
        return
      }
      if (t.removed || this.destroying) {
        socket.destroy()
        t.dialled?.delete(address)
        return
      }
      // The handshake timeout (housekeeping) takes over from here.
      const listen = { ip, port, address }
      const peer = new Peer(socket, this, {
        tcp: !way.utp,
        dialledFor: t,
        hash,
        listen,
        key: addressKey(ip),
        mse: way.mse,
      })
      this.track(peer)
      // After the peer's own 'close' handler (detach): closed unanswered, it may require encryption or uTP.
      socket.once('close', () => {
        if (!peer.answered) this.dialAgain({ t, hash, ip, port, address }, way, 'unanswered')
      })
      this.runDials()
    })
  }

  /** A dial that went wrong: dialled again first, the next way (dialWays.ts), if there is one. */
  private dialAgain(c: DialCandidate, tried: DialWay, outcome: DialOutcome): void {
    if (c.t.removed || this.destroying) return
    const utp = this.utpServer !== null && net.isIPv4(c.ip)
    if (!this.dialWays.after(c.address, tried, outcome, utp)) return
    this.dials.retryFirst(c)
    this.runDials()
  }

  /** Timeouts, keep-alives, stuck output and the cache's idle clean-up, for every peer at once. */
  private tidy(): void {
    const now = Date.now()
    tidyPeers(
      this.peers,
      {
        limits: this.limits,
        refuse: (bound) => this.refusals.add(bound),
        releaseSlot: (p) => this.releaseSlot(p),
        wantUnchoke: (p) => this.wantUnchoke(p),
      },
      now,
      this.measureOutput(now),
    )
    for (const t of this.torrents.values()) {
      const turn = t.slots?.rotate(now)
      turn?.choke?.choke()
      turn?.unchoke?.unchoke()
      if (t.peers && !t.private) pexRound(t.peers, now)
    }
    this.cache.expire(CACHE_IDLE_MS)
  }

  /** Reads piece-space bytes: from the files they are in, zeros where no file is (pads, v2 gaps). */
  private readv(t: LeanTorrent, position: number, targets: Buffer[]): Promise<number> {
    const plan = t.fileMap.plan(position, targets)
    // One file, no zeros (every read of a single-file torrent but its tail): as before, one preadv.
    if (plan.zeros === 0 && plan.reads.length === 1) {
      const r = plan.reads[0]!
      return this.readFile(r.path, r.position, r.targets)
    }
    return this.readParts(plan)
  }

  private async readParts({ reads, zeros }: ReadPlan): Promise<number> {
    let n = zeros
    for (const r of reads) {
      const got = await this.readFile(r.path, r.position, r.targets)
      n += got
      if (got < r.targets.reduce((sum, b) => sum + b.length, 0)) break // short: the caller reports it
    }
    return n
  }

  private readFile(filePath: string, position: number, targets: Buffer[]): Promise<number> {
    const fdp = this.fds.acquire(filePath)
    return fdp
      .then(
        (fd) =>
          new Promise<number>((resolve, reject) => {
            fs.readv(fd, targets, position, (err, n) => (err ? reject(err) : resolve(n)))
          }),
      )
      .finally(() => this.fds.release(filePath, fdp))
  }
}

/** The infohashes peers may name a torrent by: its own and a hybrid's aliases. */
const hashesOf = (t: LeanTorrent): Buffer[] => [t.infoHashBuf, ...t.aliasBufs]

/** What the announcer announces: the torrent, and a hybrid under each alias (same trackers, same counts). */
function announceTargets(t: LeanTorrent): AnnounceTarget[] {
  const aliases = t.aliasBufs.map(
    (buf): AnnounceTarget => ({
      infoHash: buf.toString('hex'),
      infoHashBuf: buf,
      get trackers() {
        return t.trackers
      },
      get uploaded() {
        return t.uploaded
      },
    }),
  )
  return [t, ...aliases]
}

/**
 * Where each file of the piece space is: a single-file torrent is `filePath`; a multi-file
 * release's files are found by the storage convention (releaseFilePath) from the video's path.
 */
function diskFiles(meta: TorrentMeta, filePath: string): DiskFile[] {
  if (!meta.multiFile) return meta.files.map((f) => ({ offset: f.offset, length: f.length, path: filePath }))
  const media = { mediaDir: path.dirname(filePath) }
  const fileName = path.basename(filePath)
  return meta.files.map((f) => ({ offset: f.offset, length: f.length, path: releaseFilePath(media, fileName, f.path) }))
}
