// bittorrent-tracker's server, embedded in the web process: HTTP announce/scrape are routed to it
// by trackerRouter. It tracks only infohashes on the allow list, which videoService keeps in step
// with the database, and reports each peer's first `completed` event so the count can be stored.
import Server from 'bittorrent-tracker/server'
import type { IncomingMessage, ServerResponse } from 'node:http'

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
        if (!this.enabled) return cb(new Error('BitTorrent is switched off on this site'))
        if (!this.allowed.has(infoHash)) return cb(new Error('unregistered torrent: this tracker only tracks this site\'s videos'))
        cb(null)
      },
    })
    // Bad client input is answered with a failure reason by the package; nothing to do here.
    this.server.on('warning', () => {})
    this.server.on('error', (err: Error) => console.error('[tracker]', err.message))
    this.server.on('complete', (_addr: string, params: { info_hash: string; peer_id: string }) => {
      let peers = this.completedPeers.get(params.info_hash)
      if (!peers) this.completedPeers.set(params.info_hash, (peers = new Set()))
      if (peers.has(params.peer_id)) return
      peers.add(params.peer_id)
      opts.onCompleted(params.info_hash)
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
    this.server.onHttpRequest(req, res, { action })
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}
