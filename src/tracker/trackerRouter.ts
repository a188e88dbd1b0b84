import { Router } from 'express'
import type { EmbeddedTracker } from './embeddedTracker.ts'

export function trackerRouter(tracker: EmbeddedTracker): Router {
  const router = Router()
  router.get('/announce', (req, res) => tracker.handleHttp(req, res, 'announce'))
  router.get('/scrape', (req, res) => tracker.handleHttp(req, res, 'scrape'))
  return router
}
