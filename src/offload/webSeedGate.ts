// The web seed's gate (I/O edge of webSeedPolicy.ts): finds the torrent a /seed/ file belongs to,
// reads its swarm from the in-process tracker, and answers 503 swarm_serving with Retry-After while the swarm
// can serve itself. Counted in /metrics as `web_seed_yielded`. The file → infoHash lookup is cached
// (names are unique and never change; a short TTL covers a torrent published or deleted since).
import type { RequestHandler } from 'express'
import { AppError } from '../errors.ts'
import type { Refusals } from '../refusals.ts'
import { WEB_SEED_RETRY_AFTER_SECONDS, webSeedYields, type SwarmView } from './webSeedPolicy.ts'

export interface WebSeedGateDeps {
  counts(infoHash: string): SwarmView
  /** The infoHash of the torrent of a stored file, or null (no such file, no torrent yet). */
  infoHashOf(fileName: string): Promise<string | null>
  refusals: Refusals
  now?: () => number
}

const TTL_MS = 30_000
const MAX_CACHED = 4096

export function webSeedGate(deps: WebSeedGateDeps): RequestHandler {
  const now = deps.now ?? Date.now
  const cache = new Map<string, { infoHash: string | null; at: number }>()
  const lookup = async (fileName: string): Promise<string | null> => {
    const hit = cache.get(fileName)
    if (hit && now() - hit.at < TTL_MS) return hit.infoHash
    const infoHash = await deps.infoHashOf(fileName)
    if (cache.size >= MAX_CACHED) cache.clear() // names come from strangers: bounded
    cache.set(fileName, { infoHash, at: now() })
    return infoHash
  }
  return async (req, _res, next) => {
    const infoHash = await lookup(String(req.params.fileName))
    if (infoHash === null || !webSeedYields(deps.counts(infoHash))) return next()
    deps.refusals.add('web_seed_yielded')
    next(new AppError('swarm_serving', undefined, { retryAfterSeconds: WEB_SEED_RETRY_AFTER_SECONDS }))
  }
}
