// A video's swarm on the JSON API: the live numbers the video page polls, and the stored history
// behind its charts. Here rather than in media/: it is the tracker's data (SwarmHistory), the
// video id only names which swarm.
import { Router } from 'express'
import type { Request, Response } from 'express'
import { z } from 'zod'
import { AppError } from '../errors.ts'
import type { RequestHandler } from 'express'
import { validate, validated } from '../validate.ts'
import { apiUser } from '../auth/middleware.ts'
import type { CurrentUser } from '../auth/authService.ts'
import { HISTORY_RANGES, type HistoryRange, type SwarmHistory } from './swarmHistory.ts'

const RANGES = Object.keys(HISTORY_RANGES) as [HistoryRange, ...HistoryRange[]]
/** ?range= of a swarm history or chart (the API's and the page's), 24h when absent. */
export const historyRangeSchemas = {
  query: z.object({ range: z.enum(RANGES, { error: `range must be one of: ${RANGES.join(', ')}` }).default('24h') }),
}

export interface SwarmApiDeps {
  swarm: SwarmHistory
  bittorrentEnabled: () => boolean
  /** Throws 404 when the API caller may not see the video (a private one not theirs). */
  seeVideo: (viewer: CurrentUser | undefined, videoId: string) => Promise<unknown>
}

export function swarmApiRouter(deps: SwarmApiDeps): Router {
  const router = Router()
  // With BitTorrent off there are no swarms to show (the numbers would be of torrents that cannot work).
  const whenOn: RequestHandler = (_req, _res, next) =>
    next(deps.bittorrentEnabled() ? undefined : new AppError('bittorrent_off'))
  const visible: RequestHandler = async (req, res, next) => {
    await deps.seeVideo(apiUser(res), String(req.params.id))
    next()
  }
  router.get('/api/videos/:id/swarm', whenOn, visible, getSwarm)
  router.get('/api/videos/:id/swarm/history', whenOn, validate(historyRangeSchemas), visible, getHistory)

  async function getSwarm(req: Request, res: Response) {
    const now = await deps.swarm.current(String(req.params.id))
    // Polled every few seconds: always ask again, never show a stored copy.
    res.set('Cache-Control', 'no-cache')
    res.json({
      seeders: now.seeders,
      leechers: now.leechers,
      completed: now.completed,
      updatedAt: now.updatedAt.toISOString(),
    })
  }

  async function getHistory(req: Request, res: Response) {
    const { range } = validated(res, historyRangeSchemas).query
    const points = await deps.swarm.history(String(req.params.id), range)
    res.set('Cache-Control', 'no-cache')
    res.json({
      range,
      points: points.map((p) => ({ at: new Date(p.at).toISOString(), seeders: p.seeders, leechers: p.leechers })),
    })
  }

  return router
}
