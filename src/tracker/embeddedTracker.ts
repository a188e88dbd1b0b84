// The site's tracker. HTTP (httpTransport.ts) and UDP (udpTransport.ts) announces share one
// in-memory SwarmStore built for speed; WebSocket (browser peers, WebRTC signalling) is served by
// bittorrent-tracker (behind wsTracker.ts), which does that well. A swarm's counts are the sum of
// both (counts()): every scrape (HTTP, UDP, WebSocket), the page and the API read them there, and
// completed downloads from one ledger, whichever transport reported them. Only infohashes on the
// allow list (kept in step with the database by VideoService) are tracked; completed downloads
// are counted once per peer, a few per address (completionLedger.ts), and handed to
// `onCompleted` to be stored.
//
// Each allowed torrent also keeps a tally of what its peers announced they downloaded (HTTP and
// UDP: swarmStore.ts; WebSocket: wsAnnounced; both by peerDownloads.ts's rules), taken by the offload flusher (takeDownloaded). The
// site's own seeder is left out by its peer id; it announces downloaded=0 anyway.
//
// A hybrid torrent (BEP 52) has two infohashes: its v1 SHA-1 and its v2 SHA-256, which clients
// announce truncated to 20 bytes (libtorrent 2 announces under both, same peer id and port). The
// truncated v2 is an alias: the allow list maps it to the same entry as the v1 hash, and every
// announce, completion and scrape resolves to that entry's `infoHash` (Torrent.infoHash) in the
// same Map get that checks the allow list. So both hashes share one swarm, one peer list, one set
// of counts and one completion per peer. WebSocket peers by the alias keep a swarm of their own
// in the package (its signalling carries the hash the browser knows), added into the counts.
//
// Every per-address bound (rate limit, peer and connection caps, completions) counts an IPv4
// address, or an IPv6 /64, as one address. Each bound that bites is counted in /metrics as
// seedcast_tracker_rejected_total{reason}: a refusal carries that reason as its code.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { SwarmStore } from './swarmStore.ts'
import { RateLimiter } from './rateLimiter.ts'
import { CompletionLedger } from './completionLedger.ts'
import { ConnectionCaps, type ConnectionVerdict } from './connectionCaps.ts'
import { WsTracker, wsScrapeReply, type WsConnection, type WsEvent } from './wsTracker.ts'
import { TrackerMetrics, renderMetrics, type RejectReason, type Transport } from './metrics.ts'
import { addressKey, normalizeAddress } from '../bittorrent/address.ts'
import { parseWsRequest, wsFailureReply } from '../bittorrent/tracker/ws.ts'
import { TrackerProtocolError } from '../bittorrent/errors.ts'
import type { AnnounceEvent } from '../bittorrent/tracker/announce.ts'
import { forwardedFor } from './httpTransport.ts'
import { SEEDER_PEER_ID_PREFIX } from '../bittorrent/tracker/announce.ts'
import { countDownloaded } from './peerDownloads.ts'
import type { OffloadIncrement } from '../offload/offloadTally.ts'

/** An allowed torrent: its counts and tally, under its infohash and (hybrid) its aliases. */
export interface LiveSwarm extends SwarmCounts {
  infoHash: string
  aliases: string[]
  completed: number
  browserSeeders: number
}

/** A tracked torrent as the database holds it (reconcile). */
export interface AllowRow {
  infoHash: string
  completed: number
  size: number
  infoHashV2: string | null
  legacyInfoHash: string | null
}

interface Allowed {
  readonly infoHash: string
  /** A hybrid's truncated v2 infohash, and the one aria2c < 1.37 computes for it. */
  aliases: string[]
  completed: number
  size: number
  downloaded: number
}

export interface SwarmCounts {
  seeders: number
  leechers: number
}

export interface TrackerOptions {
  intervalSeconds: number
  minIntervalSeconds: number
  maxNumwant: number
  rateLimitPerMinute: number
  maxPeersPerSwarm?: number
  /** HTTP/UDP peers in all swarms, and per address per swarm. */
  maxPeers?: number
  maxPeersPerAddress?: number
  /** Completions counted per torrent per address per peer TTL; addresses remembered for it. */
  completionsPerAddress?: number
  maxCompletionRecords?: number
  /** WebSocket tracker: message size, connections (total, per address), peers per connection, unsent bytes. */
  wsMaxMessageBytes?: number
  wsMaxConnections?: number
  wsMaxConnectionsPerAddress?: number
  wsMaxPeersPerConnection?: number
  wsMaxBufferedBytes?: number
  onCompleted: (infoHash: string) => void
  /**
   * A leecher announced `started` and was stored (infohash as it announced it, its address and
   * port): the supervised seeder is told, to dial it at once (src/seeder/peerPush.ts).
   */
  onLeecher?: (infoHash: string, ip: string, port: number) => void
}

// Defaults when an option is left out (config.ts has the same ones for the env settings).
const TRACKER_DEFAULTS = {
  maxPeers: 200_000,
  maxPeersPerAddress: 16,
  completionsPerAddress: 3,
  maxCompletionRecords: 100_000,
  wsMaxMessageBytes: 64 * 1024,
  wsMaxConnections: 256,
  wsMaxConnectionsPerAddress: 16,
  wsMaxPeersPerConnection: 32,
  wsMaxBufferedBytes: 128 * 1024,
}

export interface PeerAnnouncement {
  infoHash: string
  peerId: Buffer
  port: number
  left: number
  downloaded: number
  event: AnnounceEvent
  numwant: number
  wantPeerList?: boolean
}

/** A refused request: `code` is what /metrics counts it as, `reason` the text the client is sent. */
export interface Refusal {
  code: RejectReason
  reason: string
}

export type AnnounceOutcome =
  | {
      ok: true
      interval: number
      minInterval: number
      complete: number
      incomplete: number
      downloaded: number
      peers4: Buffer
      peers6: Buffer
      peerList: { ip: string; port: number; peerId: Buffer }[]
    }
  | ({ ok: false } & Refusal)

export type ScrapeOutcome =
  | { ok: true; files: { infoHash: string; complete: number; incomplete: number; downloaded: number }[] }
  | ({ ok: false } & Refusal)

const DISABLED: Refusal = { code: 'disabled', reason: 'BitTorrent is switched off on this site' }
const UNREGISTERED: Refusal = {
  code: 'unregistered',
  reason: "unregistered torrent: this tracker only tracks this site's videos",
}
const FULL_SCRAPE: Refusal = { code: 'full_scrape', reason: 'full scrape is not offered: name the info_hash' }
// A WebSocket failure reply names a torrent (wsFailureReply): a scrape naming none gets this one.
const NO_INFO_HASH = '00'.repeat(20)

const SWEEP_EVERY_MS = 60_000

export class EmbeddedTracker {
  enabled = true
  readonly metrics = new TrackerMetrics()
  readonly intervalSeconds: number
  readonly minIntervalSeconds: number
  private readonly store: SwarmStore
  private readonly limiter: RateLimiter
  private readonly ledger: CompletionLedger
  private readonly wsCaps: ConnectionCaps
  private readonly ws: WsTracker
  private readonly wsMaxPeers: number
  private readonly maxPeersPerAddress: number
  // WebSocket peers per address per swarm ("key infoHash"), across that address's connections.
  private readonly wsPeersPerAddress = new Map<string, number>()
  private readonly peerTtlMs: number
  // Per allowed torrent: completed downloads, the file size and the tally of peers' downloads;
  // a hybrid's entry is under both its infohash and its alias (`aliases` counts those).
  private readonly allowed = new Map<string, Allowed>()
  private aliases = 0
  /** Hashes allowed or disallowed here while a reconcile reads the database (see reconcile). */
  private readonly touchedDuringSync = new Set<Set<string>>()
  private readonly onCompleted: (infoHash: string) => void
  private readonly onLeecher: TrackerOptions['onLeecher']
  private readonly sweepTimer: NodeJS.Timeout

  constructor(opts: TrackerOptions) {
    const o = { ...TRACKER_DEFAULTS, ...stripUndefined(opts) }
    this.intervalSeconds = opts.intervalSeconds
    this.minIntervalSeconds = opts.minIntervalSeconds
    this.onCompleted = opts.onCompleted
    this.onLeecher = opts.onLeecher
    // A peer is dropped after missing two announces (plus a minute of slack for slow clients).
    this.peerTtlMs = (2 * opts.intervalSeconds + 60) * 1000
    this.store = new SwarmStore({
      peerTtlMs: this.peerTtlMs,
      maxPeersPerSwarm: opts.maxPeersPerSwarm ?? 50_000,
      maxNumwant: opts.maxNumwant,
      maxPeers: o.maxPeers,
      maxPeersPerAddress: o.maxPeersPerAddress,
    })
    this.limiter = new RateLimiter({
      perMinute: opts.rateLimitPerMinute,
      burst: Math.max(1, opts.rateLimitPerMinute),
      maxTracked: 100_000,
    })
    // One torrent may fill a quarter of the ledger: an attack on one video leaves the others counting.
    this.ledger = new CompletionLedger({
      perAddress: o.completionsPerAddress,
      windowMs: this.peerTtlMs,
      maxTotal: o.maxCompletionRecords,
      maxPerSwarm: Math.ceil(o.maxCompletionRecords / 4),
    })
    this.wsCaps = new ConnectionCaps({ max: o.wsMaxConnections, maxPerAddress: o.wsMaxConnectionsPerAddress })
    this.wsMaxPeers = o.wsMaxPeersPerConnection
    this.maxPeersPerAddress = o.maxPeersPerAddress
    this.ws = new WsTracker({
      intervalMs: opts.intervalSeconds * 1000,
      maxMessageBytes: o.wsMaxMessageBytes,
      maxBufferedBytes: o.wsMaxBufferedBytes,
      hooks: {
        filter: (conn, infoHash, peerId) => {
          const refusal = this.refusal(this.allowed.get(infoHash))
          if (refusal === null) return null
          this.metrics.reject(refusal.code)
          this.releaseWsPeer(conn, infoHash, peerId) // reserved by admitWs, never joined
          return refusal.reason
        },
        admit: (conn, data, nowMs) => this.admitWs(conn, data, nowMs),
        announced: (conn, event, infoHash, peerId, downloaded) =>
          this.wsAnnounced(conn, event, infoHash, peerId, downloaded),
        closed: (conn) => {
          for (const peer of conn.peers) this.releaseWsPeer(conn, peer.slice(0, 40), peer.slice(40))
        },
        refused: (reason) => this.metrics.reject(reason),
      },
    })
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), SWEEP_EVERY_MS).unref()
  }

  /**
   * `size`: the file's, the most a peer's download can count (0: peers' downloads are not counted).
   * `infoHashV2`: a hybrid's full v2 infohash; its first 20 bytes become an alias of `infoHash`.
   * `legacyInfoHash`: the infohash aria2c before 1.37 gives a hybrid (aria2LegacyInfoHash), an alias too.
   */
  allow(
    infoHash: string,
    completed = 0,
    size = 0,
    infoHashV2: string | null = null,
    legacyInfoHash: string | null = null,
  ): void {
    const key = infoHash.toLowerCase()
    this.touch(key)
    let entry = this.allowed.get(key)
    if (entry?.infoHash === key) {
      entry.completed = Math.max(entry.completed, completed)
      if (size > 0) entry.size = size
    } else {
      if (entry) this.dropAliases(entry) // `key` was another torrent's alias: the real hash wins
      entry = { infoHash: key, aliases: [], completed, size, downloaded: 0 }
      this.allowed.set(key, entry)
    }
    // The v1 infohash fixes the info dict, so its aliases never change once set. v2-only:
    // infoHash already is the truncated v2, nothing to alias. Never shadow another torrent's hash.
    if (entry.aliases.length > 0) return
    for (const a of [infoHashV2?.slice(0, 40), legacyInfoHash]) {
      const alias = a?.toLowerCase()
      if (alias === undefined || alias === null || alias === key || this.allowed.has(alias)) continue
      entry.aliases.push(alias)
      this.allowed.set(alias, entry)
      this.aliases++
    }
  }

  private dropAliases(entry: Allowed): void {
    for (const alias of entry.aliases) {
      this.allowed.delete(alias)
      this.ws.forget(alias)
      this.aliases--
    }
    entry.aliases = []
  }

  /** What peers announced they downloaded since the last call, per torrent (the offload flusher's source). */
  takeDownloaded(): OffloadIncrement[] {
    const out: OffloadIncrement[] = []
    for (const [infoHash, entry] of this.allowed) {
      if (entry.downloaded <= 0 || infoHash !== entry.infoHash) continue
      out.push({ by: 'infoHash', key: infoHash, seeder: 0, webseed: 0, playback: 0, downloaded: entry.downloaded })
      entry.downloaded = 0
    }
    return out
  }

  disallow(infoHash: string): void {
    const entry = this.allowed.get(infoHash.toLowerCase())
    if (entry) this.dropAliases(entry)
    const key = entry?.infoHash ?? infoHash.toLowerCase()
    this.touch(key)
    this.allowed.delete(key)
    this.store.removeSwarm(key)
    this.ledger.removeSwarm(key)
    this.ws.forget(key)
  }

  private touch(key: string): void {
    for (const set of this.touchedDuringSync) set.add(key)
  }

  /**
   * Makes the allow list what the database says (`read`: every tracked torrent), after another
   * process changed it. A change made here while `read` runs is newer than what it returns and
   * wins: without that, a torrent removed during the read came back (allowed again from the
   * stale rows) and stayed tracked.
   */
  async reconcile(read: () => Promise<AllowRow[]>): Promise<void> {
    const touched = new Set<string>()
    this.touchedDuringSync.add(touched)
    let rows: AllowRow[]
    try {
      rows = await read()
    } finally {
      this.touchedDuringSync.delete(touched)
    }
    const wanted = new Set<string>()
    for (const t of rows) {
      const key = t.infoHash.toLowerCase()
      wanted.add(key)
      if (!touched.has(key)) this.allow(key, t.completed, t.size, t.infoHashV2, t.legacyInfoHash)
    }
    const gone = [...this.allowed.values()].filter((e) => !wanted.has(e.infoHash))
    for (const e of new Set(gone)) if (!touched.has(e.infoHash)) this.disallow(e.infoHash)
  }

  /** Counts a request refused before it reached the tracker (an unparsable one, say). */
  reject(reason: RejectReason): void {
    this.metrics.reject(reason)
  }

  /**
   * Every tracked torrent with peers or completions: what web workers (WEB_WORKERS) show on pages
   * between pushes. One row per torrent, by its main infohash; aliases are looked up by the worker.
   */
  liveSwarms(): LiveSwarm[] {
    const out: LiveSwarm[] = []
    for (const [key, entry] of this.allowed) {
      if (key !== entry.infoHash) continue
      const c = this.counts(key)
      if (c.seeders + c.leechers === 0 && entry.completed === 0) continue
      const browserSeeders = this.browserSeeders(key)
      out.push({ infoHash: key, aliases: entry.aliases, ...c, completed: entry.completed, browserSeeders })
    }
    return out
  }

  isAllowed(infoHash: string): boolean {
    return this.allowed.has(infoHash.toLowerCase())
  }

  /** The torrent's seeders among WebSocket (browser) peers: the only seeders a browser can reach. */
  browserSeeders(infoHash: string): number {
    const key = infoHash.toLowerCase()
    return this.wsCounts(key, this.allowed.get(key)).complete
  }

  /** Either infohash of a hybrid gives the one swarm's counts. */
  counts(infoHash: string): SwarmCounts {
    const key = infoHash.toLowerCase()
    const entry = this.allowed.get(key)
    const bt = this.store.counts(entry?.infoHash ?? key)
    const ws = this.wsCounts(key, entry)
    return { seeders: bt.complete + ws.complete, leechers: bt.incomplete + ws.incomplete }
  }

  completed(infoHash: string): number {
    return this.allowed.get(infoHash.toLowerCase())?.completed ?? 0
  }

  // WebSocket peers by either hash (the package keeps one swarm per hash it was sent).
  private wsCounts(key: string, entry: Allowed | undefined): { complete: number; incomplete: number } {
    if (entry === undefined) return this.ws.counts(key)
    const ws = { ...this.ws.counts(entry.infoHash) }
    for (const a of entry.aliases) {
      const alias = this.ws.counts(a)
      ws.complete += alias.complete
      ws.incomplete += alias.incomplete
    }
    return ws
  }

  private refusal(entry: Allowed | undefined): Refusal | null {
    if (!this.enabled) return DISABLED
    if (entry === undefined) return UNREGISTERED
    return null
  }

  private limited(address: string, nowMs: number): Refusal | null {
    const wait = this.limiter.take(address, nowMs)
    return wait
      ? { code: 'rate_limited', reason: `rate limit exceeded: too many requests from your address; retry in ${wait} s` }
      : null
  }

  // A completion claimed by `peerId` (any stable text for it) from address `key`: counted unless
  // this address has had its share for this torrent lately (completionLedger.ts).
  private countCompletion(entry: Allowed, key: string, peerId: string, nowMs: number): void {
    const infoHash = entry.infoHash
    const claim = this.ledger.claim(infoHash, key, peerId, nowMs)
    if (claim !== 'counted')
      return this.metrics.reject(
        claim === 'repeated'
          ? 'completion_repeated'
          : claim === 'full'
            ? 'completions_full'
            : 'completions_per_address',
      )
    entry.completed++
    this.metrics.completions++
    this.onCompleted(infoHash)
  }

  announce(a: PeerAnnouncement, address: string, transport: Transport, nowMs = Date.now()): AnnounceOutcome {
    const ip = normalizeAddress(address)
    const key = addressKey(ip)
    // The one Map get of the allow list: also resolves a hybrid's v2 alias to its infohash.
    const entry = this.allowed.get(a.infoHash)
    const refusal = this.limited(key, nowMs) ?? this.refusal(entry)
    if (refusal || entry === undefined) {
      const r = refusal ?? UNREGISTERED
      this.metrics.reject(r.code)
      return { ok: false, ...r }
    }
    this.metrics.announces[transport]++
    const result = this.store.announce({
      infoHash: entry.infoHash,
      peerKey: `${ip}|${a.peerId.toString('latin1')}`,
      peerId: a.peerId,
      ip,
      port: a.port,
      left: a.left,
      downloaded: a.downloaded,
      event: a.event,
      numwant: a.numwant,
      nowMs,
      wantPeerList: a.wantPeerList,
      tally: isSiteSeeder(a.peerId) ? undefined : entry,
    })
    if (result.notStored !== null) this.metrics.reject(`peers_${result.notStored}`)
    if (result.evicted) this.metrics.reject('peers_evicted')
    if (result.firstCompletion) this.countCompletion(entry, key, a.peerId.toString('latin1'), nowMs)
    if (a.event === 'started' && a.left > 0 && result.notStored === null && this.onLeecher && !isSiteSeeder(a.peerId))
      this.onLeecher(a.infoHash, ip, a.port)
    // The reply's counts include the swarm's WebSocket peers, so a client shows what the page shows.
    const ws = this.wsCounts(a.infoHash, entry)
    return {
      ok: true,
      interval: this.intervalSeconds,
      minInterval: this.minIntervalSeconds,
      complete: result.complete + ws.complete,
      incomplete: result.incomplete + ws.incomplete,
      downloaded: entry.completed,
      peers4: result.peers4,
      peers6: result.peers6,
      peerList: result.peerList,
    }
  }

  /** Several infohashes at once (BEP 48); unknown ones are left out, all unknown is a failure. */
  scrape(infoHashes: string[], address: string | null, transport: Transport, nowMs = Date.now()): ScrapeOutcome {
    // WebSocket scrapes were rate-limited as messages (admitWs): address null.
    const limited = address === null ? null : this.limited(addressKey(normalizeAddress(address)), nowMs)
    // A full scrape would list every torrent; private videos (to come) must never be listed.
    const refusal = limited ?? (!this.enabled ? DISABLED : infoHashes.length === 0 ? FULL_SCRAPE : null)
    if (refusal) {
      this.metrics.reject(refusal.code)
      return { ok: false, ...refusal }
    }
    // By either hash of a hybrid: the one swarm's counts, under the hash asked for.
    const files = infoHashes
      .filter((h) => this.allowed.has(h))
      .map((h) => {
        const c = this.counts(h)
        return { infoHash: h, complete: c.seeders, incomplete: c.leechers, downloaded: this.completed(h) }
      })
    if (files.length === 0) {
      this.metrics.reject('unregistered')
      return { ok: false, ...UNREGISTERED }
    }
    this.metrics.scrapes[transport]++
    return { ok: true, files }
  }

  /**
   * WebSocket tracker (browser peers) on the web port: the HTTP server hands upgrades here. The
   * peer's address is the socket's (with TRUST_PROXY, the proxy's last X-Forwarded-For entry, as
   * for HTTP announces); its connection counts against the caps until the socket closes.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, trustProxy = false): void {
    const address = trustProxy ? (forwardedFor(req) ?? req.socket.remoteAddress) : req.socket.remoteAddress
    if (address === undefined) {
      socket.destroy()
      return
    }
    const ip = normalizeAddress(address)
    const key = addressKey(ip)
    // Opening a connection is a request like an announce: it takes from the address's bucket.
    const wait = this.limiter.take(key, Date.now())
    let verdict: ConnectionVerdict | { ok: false; reason: 'rate_limited' } = wait
      ? { ok: false, reason: 'rate_limited' }
      : this.wsCaps.take(key)
    // Full, and room taken from the biggest holder: its least recently heard connection goes.
    if (verdict.ok && verdict.evict !== undefined && !this.ws.closeQuietest(verdict.evict)) {
      // None of its connections is open yet (a handshake failing): refuse after all.
      this.wsCaps.restore(verdict.evict)
      this.wsCaps.release(key)
      verdict = { ok: false, reason: 'ws_connections' }
    }
    if (verdict.ok && verdict.evict !== undefined) this.metrics.reject('ws_connections')
    if (!verdict.ok) {
      this.metrics.reject(verdict.reason)
      const status = verdict.reason === 'ws_connections' ? '503 Service Unavailable' : '429 Too Many Requests'
      socket.on('error', () => {})
      socket.end(`HTTP/1.1 ${status}\r\nRetry-After: ${wait || 60}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
      return
    }
    // Released when the TCP socket closes (handshake or not), unless its slot went to a newcomer.
    let held = true
    socket.once('close', () => {
      if (held) this.wsCaps.release(key)
    })
    this.ws.upgrade(req, socket, head, ip, key, () => {
      held = false
    })
  }

  // Every WebSocket message: the address's rate limit (shared with HTTP and UDP), then a
  // well-formed request, then a bounded number of peers (torrent, peer id): per connection, and
  // per address in one swarm as for HTTP/UDP peers. A real client has one peer id and a few
  // torrents; a fresh peer id per message is how fake peers and completions were made. A peer is
  // reserved here, before the package (which answers later, on a next tick) has seen it, so a
  // burst of messages cannot slip past the bounds; it is released when it stops, is refused by
  // the allow list, or its connection closes.
  private admitWs(conn: WsConnection, data: Buffer | string, nowMs: number): string | null {
    const limited = this.limited(conn.key, nowMs)
    if (limited) {
      this.metrics.reject(limited.code)
      return wsFailureReply(limited.reason)
    }
    let req
    try {
      req = parseWsRequest(data)
    } catch (err) {
      if (!(err instanceof TrackerProtocolError)) throw err
      this.metrics.reject('malformed')
      return wsFailureReply(err.message)
    }
    if (req.action === 'scrape') {
      // Answered here, from the counts every transport's scrape gives (the package's own would
      // count its WebSocket peers only); already rate-limited above, so address null.
      const out = this.scrape(req.infoHashes, null, 'ws')
      return out.ok
        ? wsScrapeReply(out.files, this.intervalSeconds)
        : wsFailureReply(out.reason, 'scrape', req.infoHashes[0] ?? NO_INFO_HASH)
    }
    if (req.event === 'stopped') return null
    const peer = req.infoHash + req.peerId
    if (conn.peers.has(peer)) return null
    if (conn.peers.size >= this.wsMaxPeers) {
      this.metrics.reject('ws_peers_per_connection')
      return wsFailureReply(
        `too many peers on one connection (at most ${this.wsMaxPeers} torrent and peer_id pairs)`,
        'announce',
        req.infoHash,
      )
    }
    const swarmKey = `${conn.key} ${req.infoHash}`
    const held = this.wsPeersPerAddress.get(swarmKey) ?? 0
    if (held >= this.maxPeersPerAddress) {
      this.metrics.reject('ws_peers_per_address')
      return wsFailureReply(
        `too many peers from your address in this torrent (at most ${this.maxPeersPerAddress})`,
        'announce',
        req.infoHash,
      )
    }
    this.wsPeersPerAddress.set(swarmKey, held + 1)
    conn.peers.add(peer)
    return null
  }

  private releaseWsPeer(conn: WsConnection, infoHash: string, peerId: string): void {
    if (!conn.peers.delete(infoHash + peerId)) return
    const swarmKey = `${conn.key} ${infoHash}`
    const held = this.wsPeersPerAddress.get(swarmKey) ?? 0
    if (held <= 1) this.wsPeersPerAddress.delete(swarmKey)
    else this.wsPeersPerAddress.set(swarmKey, held - 1)
  }

  private wsAnnounced(
    conn: WsConnection,
    event: WsEvent,
    infoHash: string,
    peerId: string,
    downloaded: number | null,
  ): void {
    this.metrics.announces.ws++
    // Browser peers' downloads go in the same tally as HTTP and UDP peers' (the offload figures),
    // by the same rules (peerDownloads.ts), each peer's baseline kept on its connection.
    const tally = this.allowed.get(infoHash)
    if (downloaded !== null && tally !== undefined) {
      const peer = infoHash + peerId
      const baseline = conn.downloads.get(peer)
      if (baseline) countDownloaded(tally, baseline, downloaded, true, event === 'start')
      else if (conn.peers.has(peer)) {
        const fresh = { dlHi: 0, dlLo: 0 }
        countDownloaded(tally, fresh, downloaded, false, event === 'start')
        conn.downloads.set(peer, fresh)
      }
    }
    if (event === 'stop') {
      conn.downloads.delete(infoHash + peerId)
      this.releaseWsPeer(conn, infoHash, peerId)
    }
    if (event === 'complete' && tally !== undefined) this.countCompletion(tally, conn.key, peerId, Date.now())
  }

  sweep(nowMs: number): void {
    this.store.expire(nowMs)
    this.limiter.sweep(nowMs)
    this.ledger.expire(nowMs)
    // A live WebTorrent client announces every interval/5: silent for a peer TTL means gone.
    this.ws.closeIdle(nowMs - this.peerTtlMs)
  }

  metricsText(): string {
    const s = this.store.stats()
    const ws = this.ws.stats()
    return renderMetrics(this.metrics, {
      swarms: s.swarms,
      seeders: s.seeders,
      leechers: s.leechers,
      peerAddresses: this.store.addresses,
      wsSwarms: ws.swarms,
      wsPeers: ws.peers,
      wsConnections: ws.connections,
      allowed: this.allowed.size - this.aliases,
      rateLimitedAddresses: this.limiter.tracked,
      completionRecords: this.ledger.size,
    })
  }

  close(): Promise<void> {
    clearInterval(this.sweepTimer)
    return this.ws.close()
  }
}

/** The site's own seeder (bt_server/lean) by its peer id's prefix: its bytes are the origin's. */
function isSiteSeeder(peerId: Buffer): boolean {
  for (let i = 0; i < SEEDER_PEER_ID_PREFIX.length; i++)
    if (peerId[i] !== SEEDER_PEER_ID_PREFIX.charCodeAt(i)) return false
  return true
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
