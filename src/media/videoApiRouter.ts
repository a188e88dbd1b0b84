import { Router } from 'express'
import type { Request, RequestHandler, Response } from 'express'
import { validated } from '../validate.ts'
import type { SettingsService } from '../admin/settingsService.ts'
import type { EmbeddedTracker } from '../tracker/embeddedTracker.ts'
import type { SiteUrls } from '../siteUrls.ts'
import { presentVideo } from './videoPresenter.ts'
import type { VideoService } from './videoService.ts'
import type { VideoRow } from './videoRepository.ts'
import { publishUpload } from './uploadHandler.ts'
import { listVideosSchemas, listVideosValidator, uploadValidator } from './videoValidators.ts'

/** What every router that shows or receives videos needs (the API here, the pages in web/). */
export interface VideoRouteDeps {
  videos: VideoService
  tracker: EmbeddedTracker
  settings: SettingsService
  urls: SiteUrls
  receiveUpload: RequestHandler
}

export interface VideoApiDeps extends VideoRouteDeps {
  requireAdmin: RequestHandler
}

export function videoApiRouter(deps: VideoApiDeps): Router {
  const router = Router()
  router.get('/api/videos', listVideosValidator, listVideos)
  router.post(
    '/api/videos',
    deps.requireAdmin,
    deps.receiveUpload,
    uploadValidator,
    publishUpload(deps.videos, created),
  )
  router.get('/api/videos/:id', getVideo)
  router.delete('/api/videos/:id', deps.requireAdmin, deleteVideo)

  const present = (v: VideoRow) => presentVideo(v, deps)

  async function listVideos(_req: Request, res: Response) {
    const { query } = validated(res, listVideosSchemas)
    const page = await deps.videos.list(query.limit, query.cursor)
    res.json({ videos: page.videos.map(present), next: page.next })
  }

  function created(res: Response, video: VideoRow) {
    res.status(201).location(deps.urls.page(video.id)).json(present(video))
  }

  async function getVideo(req: Request, res: Response) {
    res.json(present(await deps.videos.get(String(req.params.id))))
  }

  async function deleteVideo(req: Request, res: Response) {
    await deps.videos.delete(String(req.params.id))
    res.status(204).end()
  }

  return router
}
