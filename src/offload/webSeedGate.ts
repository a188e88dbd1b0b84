// The web seed's gate (I/O edge of webSeedPolicy.ts): finds the torrent a /seed/ file belongs to,
// reads its seeds from the in-process tracker and notes who asks, and answers 503 swarm_serving
// with Retry-After while the swarm can serve itself. Answers still streaming to others when that
// turns true are cut off (their clients ask the swarm, or come back and get the 503). Counted in
// /metrics as `web_seed_yielded`. The file → infoHash lookup is cached (stored names are unique
// and never change; a short TTL covers a torrent published or deleted since).
//
// A browser (WebTorrent in the video page) reaches WebRTC peers only, never the site's seeder
// or other BitTorrent clients: for it, the swarm can serve itself only with a WebSocket seeder.
// Browsers say they are browsers (Sec-Fetch-Mode, which page scripts cannot leave out); a client
// that claims it falsely only gets what /media/ gives anyone.
import type { RequestHandler, Response } from 'express'
import { AppError } from '../errors.ts'
import type { Refusals } from '../refusals.ts'
import { RecentClients, WEB_SEED_RETRY_AFTER_SECONDS, webSeedYields } from './webSeedPolicy.ts'

export interface WebSeedGateDeps {
  counts(infoHash: string): { seeders: number }
  /** Seeders a browser can reach: WebRTC peers, found through the WebSocket tracker. */
  browserSeeders(infoHash: string): number
  /** The infoHash of the torrent of a stored file, or null (no such file, no torrent yet). */
  infoHashOf(fileName: string): Promise<string | null>
  refusals: Refusals
  now?: () => number
}

const TTL_MS = 30_000
/** Files whose name → infoHash and recent clients are kept (names come from strangers). */
const MAX_FILES = 4096

interface FileState {
  infoHash: string | null
  at: number
  clients: RecentClients
  /** Web-seed answers of this file being sent now. */
  live: Set<Response>
}

export function webSeedGate(deps: WebSeedGateDeps): RequestHandler {
  const now = deps.now ?? Date.now
  const files = new Map<string, FileState>()
  const lookup = async (fileName: string): Promise<FileState> => {
    const hit = files.get(fileName)
    if (hit && now() - hit.at < TTL_MS) return hit
    const infoHash = await deps.infoHashOf(fileName)
    if (hit) return Object.assign(hit, { infoHash, at: now() })
    if (files.size >= MAX_FILES) for (const [name, f] of files) if (f.live.size === 0) files.delete(name)
    const state: FileState = { infoHash, at: now(), clients: new RecentClients(), live: new Set() }
    files.set(fileName, state)
    return state
  }
  return async (req, res, next) => {
    const f = await lookup(String(req.params.fileName))
    if (f.infoHash === null) return next()
    const webSeedClients = f.clients.note(req.ip ?? req.socket.remoteAddress ?? '?', now())
    const seeders = req.headers['sec-fetch-mode'] ? deps.browserSeeders(f.infoHash) : deps.counts(f.infoHash).seeders
    if (!webSeedYields({ seeders, webSeedClients })) {
      f.live.add(res)
      res.once('close', () => f.live.delete(res))
      return next()
    }
    for (const other of f.live) other.destroy()
    f.live.clear()
    deps.refusals.add('web_seed_yielded')
    next(new AppError('swarm_serving', undefined, { retryAfterSeconds: WEB_SEED_RETRY_AFTER_SECONDS }))
  }
}
