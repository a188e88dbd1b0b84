// bittorrent-tracker's server, embedded in the web process: HTTP announce/scrape are routed to it
// by trackerRouter. It tracks only infohashes on the allow list, which videoService keeps in step
// with the database, and reports each peer's first `completed` event so the count can be stored.
import Server from 'bittorrent-tracker/server'
import type { IncomingMessage, ServerResponse } from 'node:http'
import querystring from 'node:querystring'
import bencode from 'bencode'

const SWITCHED_OFF = 'BitTorrent is switched off on this site'
const UNREGISTERED = 'unregistered torrent: this tracker only tracks this site\'s videos'

interface AnnounceParams { info_hash: string; peer_id: string; left: number; downloaded?: string | number }

export interface SwarmCounts { seeders: number; leechers: number }

export interface TrackerOptions {
  intervalSeconds: number
  onCompleted: (infoHash: string) => void
}

export class EmbeddedTracker {
  private readonly server: Server
  private readonly allowed = new Set<string>()
  // Peers already counted as having completed, so a repeated `completed` event counts once.
  private readonly completedPeers = new Map<string, Set<string>>()
  enabled = true

  constructor(opts: TrackerOptions) {
    this.server = new Server({
      interval: opts.intervalSeconds * 1000,
      http: false,
      udp: false,
      ws: false,
      stats: false,
      filter: (infoHash, _params, cb) => {
        if (!this.enabled) return cb(new Error(SWITCHED_OFF))
        if (!this.allowed.has(infoHash)) return cb(new Error(UNREGISTERED))
        cb(null)
      },
    })
    // Bad client input is answered with a failure reason by the package; nothing to do here.
    this.server.on('warning', () => {})
    this.server.on('error', (err: Error) => console.error('[tracker]', err.message))
    const countCompleted = (params: AnnounceParams) => {
      // The package emits the event even for announces its filter refused: count only tracked torrents.
      if (!this.enabled || !this.allowed.has(params.info_hash)) return
      let peers = this.completedPeers.get(params.info_hash)
      if (!peers) this.completedPeers.set(params.info_hash, (peers = new Set()))
      if (peers.has(params.peer_id)) return
      peers.add(params.peer_id)
      opts.onCompleted(params.info_hash)
    }
    this.server.on('complete', (_addr: string, params: AnnounceParams) => countCompleted(params))
    // A download that finished before the client's first announce (the web seed can serve a whole
    // file in moments) gets no `completed` event: aria2c then sends `started` with left=0 and the
    // bytes it downloaded this session. That is a completed download too; a seeder resuming a file
    // it already had reports downloaded=0.
    this.server.on('start', (_addr: string, params: AnnounceParams) => {
      if (params.left === 0 && Number(params.downloaded) > 0) countCompleted(params)
    })
  }

  allow(infoHash: string): void {
    this.allowed.add(infoHash.toLowerCase())
  }

  disallow(infoHash: string): void {
    const key = infoHash.toLowerCase()
    this.allowed.delete(key)
    this.completedPeers.delete(key)
    delete this.server.torrents[key]
  }

  isAllowed(infoHash: string): boolean {
    return this.allowed.has(infoHash.toLowerCase())
  }

  counts(infoHash: string): SwarmCounts {
    const swarm = this.server.torrents[infoHash.toLowerCase()]
    return { seeders: swarm?.complete ?? 0, leechers: swarm?.incomplete ?? 0 }
  }

  handleHttp(req: IncomingMessage, res: ServerResponse, action: 'announce' | 'scrape'): void {
    res.setHeader('Content-Type', 'text/plain')
    res.setHeader('Cache-Control', 'no-store')
    // The package's scrape has no filter: it would answer zeros for any infohash, and answer while
    // BitTorrent is off. Refuse those like announces are refused.
    const refusal = action === 'scrape' ? this.scrapeRefusal(req.url ?? '') : null
    if (refusal) {
      res.end(bencode.encode({ 'failure reason': refusal }))
      return
    }
    this.server.onHttpRequest(req, res, { action })
  }

  private scrapeRefusal(url: string): string | null {
    if (!this.enabled) return SWITCHED_OFF
    const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : ''
    // Decoded the way the package decodes it (each %XX is one byte); malformed values are left to
    // the package, which answers them with its own failure reason.
    const raw = querystring.parse(query, '&', '=', { decodeURIComponent: unescape }).info_hash
    const hashes = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw]
    const unknown = hashes.some((h) => h.length === 20 && !this.allowed.has(Buffer.from(h, 'latin1').toString('hex')))
    return unknown ? UNREGISTERED : null
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}
