// The admin's offload dashboard (/admin/offload, a login as for the settings page) and its JSON
// twin for scripts (GET /api/offload, Basic or token as the other admin API).
import { Router } from 'express'
import type { Request, Response } from 'express'
import { requireApiUser, requirePageLogin } from '../auth/middleware.ts'
import { validate, validated } from '../validate.ts'
import { historyRangeSchemas } from '../tracker/swarmApiRouter.ts'
import { HISTORY_RANGES } from '../tracker/swarmHistory.ts'
import { renderOffloadChart } from './offloadChart.ts'
import type { OffloadService } from './offloadService.ts'

const CHART_SIZE = { width: 900, height: 220 }

export function offloadRouter(deps: { offload: OffloadService }): Router {
  const router = Router()
  router.get('/api/offload', requireApiUser('admin'), validate(historyRangeSchemas), getOffload)
  router.get('/admin/offload', requirePageLogin('admin'), dashboard)

  async function getOffload(_req: Request, res: Response) {
    const { range } = validated(res, historyRangeSchemas).query
    const site = await deps.offload.site(range)
    res.set('Cache-Control', 'no-cache')
    res.json({
      ...site,
      history: {
        ...site.history,
        points: site.history.points.map((p) => ({ ...p, at: new Date(p.at).toISOString() })),
      },
    })
  }

  async function dashboard(_req: Request, res: Response) {
    const now = Date.now()
    const site = await deps.offload.site('24h')
    const month = await deps.offload.history('30d', now)
    const chart = (h: typeof month) =>
      renderOffloadChart(h.points, {
        ...CHART_SIZE,
        rangeMs: HISTORY_RANGES[h.range],
        now,
        bucketMs: h.bucketSeconds * 1000,
      })
    res.render('offload', {
      title: 'Offload',
      site,
      charts: { '24h': chart(site.history), '30d': chart(month) },
    })
  }

  return router
}
