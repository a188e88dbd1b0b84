// The site's tracker. HTTP (httpTransport.ts) and UDP (udpTransport.ts) announces share one
// in-memory SwarmStore built for speed; WebSocket (browser peers, WebRTC signalling) is served by
// bittorrent-tracker, which does that well. Only infohashes on the allow list (kept in step with
// the database by VideoService) are tracked; completed downloads are counted once per peer and
// handed to `onCompleted` to be stored.
import Server from 'bittorrent-tracker/server'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { SwarmStore } from './swarmStore.ts'
import { RateLimiter } from './rateLimiter.ts'
import { TrackerMetrics, renderMetrics, type Transport } from './metrics.ts'
import { normalizeAddress } from './protocol/compactAddress.ts'

export interface SwarmCounts { seeders: number; leechers: number }

export interface TrackerOptions {
  intervalSeconds: number
  minIntervalSeconds: number
  maxNumwant: number
  rateLimitPerMinute: number
  maxPeersPerSwarm?: number
  onCompleted: (infoHash: string) => void
}

export interface PeerAnnouncement {
  infoHash: string
  peerId: Buffer
  port: number
  left: number
  downloaded: number
  event: 'started' | 'completed' | 'stopped' | 'paused' | 'update'
  numwant: number
  wantPeerList?: boolean
}

export type AnnounceOutcome =
  | { ok: true; interval: number; minInterval: number; complete: number; incomplete: number; downloaded: number; peers4: Buffer; peers6: Buffer; peerList: { ip: string; port: number; peerId: Buffer }[] }
  | { ok: false; reason: string }

export type ScrapeOutcome =
  | { ok: true; files: { infoHash: string; complete: number; incomplete: number; downloaded: number }[] }
  | { ok: false; reason: string }

const SWEEP_EVERY_MS = 60_000

export class EmbeddedTracker {
  enabled = true
  readonly metrics = new TrackerMetrics()
  readonly intervalSeconds: number
  readonly minIntervalSeconds: number
  private readonly store: SwarmStore
  private readonly limiter: RateLimiter
  private readonly ws: Server
  private readonly allowed = new Map<string, { completed: number }>()
  private readonly wsCompleted = new Map<string, Set<string>>()
  private readonly onCompleted: (infoHash: string) => void
  private readonly sweepTimer: NodeJS.Timeout

  constructor(opts: TrackerOptions) {
    this.intervalSeconds = opts.intervalSeconds
    this.minIntervalSeconds = opts.minIntervalSeconds
    this.onCompleted = opts.onCompleted
    // A peer is dropped after missing two announces (plus a minute of slack for slow clients).
    this.store = new SwarmStore({ peerTtlMs: (2 * opts.intervalSeconds + 60) * 1000, maxPeersPerSwarm: opts.maxPeersPerSwarm ?? 50_000, maxNumwant: opts.maxNumwant })
    this.limiter = new RateLimiter({ perMinute: opts.rateLimitPerMinute, burst: Math.max(1, opts.rateLimitPerMinute), maxTracked: 100_000 })
    this.ws = new Server({
      interval: opts.intervalSeconds * 1000,
      http: false,
      udp: false,
      ws: { noServer: true },
      stats: false,
      filter: (infoHash, _params, cb) => cb(this.refusal(infoHash) ? new Error(this.refusal(infoHash)!) : null),
    })
    this.ws.on('warning', () => {})
    this.ws.on('error', (err: Error) => console.error('[tracker] websocket:', err.message))
    this.ws.on('start', () => this.metrics.announces.ws++)
    this.ws.on('update', () => this.metrics.announces.ws++)
    this.ws.on('stop', () => this.metrics.announces.ws++)
    this.ws.on('complete', (_addr: string, params: { info_hash: string; peer_id: string }) => {
      this.metrics.announces.ws++
      let peers = this.wsCompleted.get(params.info_hash)
      if (!peers) this.wsCompleted.set(params.info_hash, (peers = new Set()))
      if (peers.has(params.peer_id) || !this.allowed.has(params.info_hash)) return
      peers.add(params.peer_id)
      this.countCompletion(params.info_hash)
    })
    // The package's scrape has no filter: WebSocket scrapes go through the same rules as ours
    // (no full scrape, only allowed torrents, nothing while BitTorrent is off).
    const wsInternals = this.ws as unknown as { _onScrape(params: { info_hash?: string[] }, cb: (err: Error | null, res?: unknown) => void): void }
    const packageScrape = wsInternals._onScrape.bind(this.ws)
    wsInternals._onScrape = (params, cb) => {
      const out = this.scrape(params.info_hash ?? [], null, 'ws')
      if (!out.ok) {
        // The package's error reply hex-decodes params.info_hash as one string and throws (out of
        // the socket's message handler) on the array a scrape carries: hand it one hash.
        ;(params as { info_hash?: unknown }).info_hash = params.info_hash?.[0] ?? '00'.repeat(20)
        return cb(new Error(out.reason))
      }
      packageScrape({ ...params, info_hash: out.files.map((f) => f.infoHash) }, cb)
    }
    this.sweepTimer = setInterval(() => this.sweep(Date.now()), SWEEP_EVERY_MS).unref()
  }

  allow(infoHash: string, completed = 0): void {
    const key = infoHash.toLowerCase()
    const known = this.allowed.get(key)
    if (known) known.completed = Math.max(known.completed, completed)
    else this.allowed.set(key, { completed })
  }

  disallow(infoHash: string): void {
    const key = infoHash.toLowerCase()
    this.allowed.delete(key)
    this.store.removeSwarm(key)
    this.wsCompleted.delete(key)
    delete this.ws.torrents[key]
  }

  isAllowed(infoHash: string): boolean {
    return this.allowed.has(infoHash.toLowerCase())
  }

  counts(infoHash: string): SwarmCounts {
    const key = infoHash.toLowerCase()
    const bt = this.store.counts(key)
    const ws = this.ws.torrents[key]
    return { seeders: bt.complete + (ws?.complete ?? 0), leechers: bt.incomplete + (ws?.incomplete ?? 0) }
  }

  completed(infoHash: string): number {
    return this.allowed.get(infoHash.toLowerCase())?.completed ?? 0
  }

  private refusal(infoHash: string): string | null {
    if (!this.enabled) return 'BitTorrent is switched off on this site'
    if (!this.allowed.has(infoHash)) return 'unregistered torrent: this tracker only tracks this site\'s videos'
    return null
  }

  private limited(address: string, nowMs: number): string | null {
    const wait = this.limiter.take(address, nowMs)
    return wait ? `rate limit exceeded: too many requests from your address; retry in ${wait} s` : null
  }

  private countCompletion(infoHash: string): void {
    const entry = this.allowed.get(infoHash)
    if (!entry) return
    entry.completed++
    this.metrics.completions++
    this.onCompleted(infoHash)
  }

  announce(a: PeerAnnouncement, address: string, transport: Transport, nowMs = Date.now()): AnnounceOutcome {
    const ip = normalizeAddress(address)
    const refusal = this.limited(ip, nowMs) ?? this.refusal(a.infoHash)
    if (refusal) {
      this.metrics.reject(refusal.startsWith('rate') ? 'rate_limited' : this.enabled ? 'unregistered' : 'disabled')
      return { ok: false, reason: refusal }
    }
    this.metrics.announces[transport]++
    const result = this.store.announce({
      infoHash: a.infoHash, peerKey: `${ip}|${a.peerId.toString('latin1')}`, peerId: a.peerId, ip, port: a.port,
      left: a.left, downloaded: a.downloaded, event: a.event, numwant: a.numwant, nowMs, wantPeerList: a.wantPeerList,
    })
    if (result.firstCompletion) this.countCompletion(a.infoHash)
    return {
      ok: true, interval: this.intervalSeconds, minInterval: this.minIntervalSeconds,
      complete: result.complete, incomplete: result.incomplete, downloaded: this.completed(a.infoHash),
      peers4: result.peers4, peers6: result.peers6, peerList: result.peerList,
    }
  }

  /** Several infohashes at once (BEP 48); unknown ones are left out, all unknown is a failure. */
  scrape(infoHashes: string[], address: string | null, transport: Transport, nowMs = Date.now()): ScrapeOutcome {
    // WebSocket requests come without the peer's address (the package keeps it to itself).
    const limited = address === null ? null : this.limited(normalizeAddress(address), nowMs)
    if (limited) { this.metrics.reject('rate_limited'); return { ok: false, reason: limited } }
    if (!this.enabled) { this.metrics.reject('disabled'); return { ok: false, reason: 'BitTorrent is switched off on this site' } }
    // A full scrape would list every torrent; private videos (to come) must never be listed.
    if (infoHashes.length === 0) { this.metrics.reject('full_scrape'); return { ok: false, reason: 'full scrape is not offered: name the info_hash' } }
    const files = infoHashes.filter((h) => this.allowed.has(h)).map((h) => {
      const c = this.counts(h)
      return { infoHash: h, complete: c.seeders, incomplete: c.leechers, downloaded: this.completed(h) }
    })
    if (files.length === 0) { this.metrics.reject('unregistered'); return { ok: false, reason: 'unregistered torrent: this tracker only tracks this site\'s videos' } }
    this.metrics.scrapes[transport]++
    return { ok: true, files }
  }

  /** WebSocket tracker (browser peers) on the web port: the HTTP server hands upgrades here. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const wss = (this.ws as unknown as { ws: { handleUpgrade(r: IncomingMessage, s: Duplex, h: Buffer, cb: (c: unknown) => void): void; emit(e: string, ...a: unknown[]): void } }).ws
    wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req))
  }

  sweep(nowMs: number): void {
    this.store.expire(nowMs)
    this.limiter.sweep(nowMs)
  }

  metricsText(): string {
    const s = this.store.stats()
    let wsSwarms = 0
    let wsPeers = 0
    for (const swarm of Object.values(this.ws.torrents)) {
      if (!swarm) continue
      wsSwarms++
      wsPeers += swarm.complete + swarm.incomplete
    }
    return renderMetrics(this.metrics, { swarms: s.swarms, seeders: s.seeders, leechers: s.leechers, wsSwarms, wsPeers, allowed: this.allowed.size, rateLimitedAddresses: this.limiter.tracked })
  }

  close(): Promise<void> {
    clearInterval(this.sweepTimer)
    return new Promise((resolve) => this.ws.close(() => resolve()))
  }
}
