import { Router, json } from 'express'
import type { Request, RequestHandler, Response } from 'express'
import { validated } from '../validate.ts'
import { apiUser, requireApiUser } from '../auth/middleware.ts'
import type { SettingsService } from '../admin/settingsService.ts'
import type { EmbeddedTracker } from '../tracker/embeddedTracker.ts'
import type { SiteUrls } from '../siteUrls.ts'
import { presentVideo } from './videoPresenter.ts'
import type { VideoService } from './videoService.ts'
import type { VideoRow } from './videoRepository.ts'
import { publishUpload } from './uploadHandler.ts'
import {
  editVideoSchemas,
  editVideoValidator,
  listVideosSchemas,
  listVideosValidator,
  uploadValidator,
} from './videoValidators.ts'

/** What every router that shows or receives videos needs (the API here, the pages in web/). */
export interface VideoRouteDeps {
  videos: VideoService
  tracker: EmbeddedTracker
  settings: SettingsService
  urls: SiteUrls
  receiveUpload: RequestHandler
}

export function videoApiRouter(deps: VideoRouteDeps): Router {
  const router = Router()
  const signedIn = requireApiUser()
  router.get('/api/videos', listVideosValidator, listVideos)
  router.post('/api/videos', signedIn, deps.receiveUpload, uploadValidator, publishUpload(deps.videos, created))
  router.get('/api/videos/:id', getVideo)
  router.patch('/api/videos/:id', signedIn, json({ limit: '64kb', strict: true }), editVideoValidator, editVideo)
  router.delete('/api/videos/:id', signedIn, deleteVideo)

  const present = (v: VideoRow) => presentVideo(v, deps)

  async function listVideos(_req: Request, res: Response) {
    const { query } = validated(res, listVideosSchemas)
    const page = await deps.videos.list(query.limit, query.cursor, apiUser(res))
    res.json({ videos: page.videos.map(present), next: page.next })
  }

  function created(res: Response, video: VideoRow) {
    res.status(201).location(deps.urls.page(video.id)).json(present(video))
  }

  async function getVideo(req: Request, res: Response) {
    res.json(present(await deps.videos.getFor(apiUser(res), String(req.params.id))))
  }

  async function editVideo(req: Request, res: Response) {
    const change = validated(res, editVideoSchemas).body
    res.json(present(await deps.videos.update(apiUser(res), String(req.params.id), change)))
  }

  async function deleteVideo(req: Request, res: Response) {
    await deps.videos.deleteFor(apiUser(res), String(req.params.id))
    res.status(204).end()
  }

  return router
}
