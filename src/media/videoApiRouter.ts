import { Router } from 'express'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { AppError } from '../errors.ts'
import type { SettingsService } from '../admin/settingsService.ts'
import type { EmbeddedTracker } from '../tracker/embeddedTracker.ts'
import type { SiteUrls } from '../siteUrls.ts'
import { presentVideo } from './videoPresenter.ts'
import { decodeCursor, type VideoService } from './videoService.ts'
import type { VideoRow } from './videoRepository.ts'
import { discardUpload, parseVideoFields, receivedFile } from './uploadMiddleware.ts'

export interface VideoApiDeps {
  videos: VideoService
  tracker: EmbeddedTracker
  settings: SettingsService
  urls: SiteUrls
  requireAdmin: RequestHandler
  receiveUpload: RequestHandler
}

export function videoApiRouter(deps: VideoApiDeps): Router {
  const router = Router()
  router.get('/api/videos', listVideos)
  router.post('/api/videos', deps.requireAdmin, deps.receiveUpload, createVideo)
  router.get('/api/videos/:id', getVideo)
  router.delete('/api/videos/:id', deps.requireAdmin, deleteVideo)

  const present = (v: VideoRow) => presentVideo(v, deps)

  async function listVideos(req: Request, res: Response) {
    const limit = req.query.limit === undefined ? 20 : Number(req.query.limit)
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw new AppError('bad_request', 'limit must be a whole number from 1 to 100')
    let cursor
    if (req.query.cursor !== undefined) {
      cursor = typeof req.query.cursor === 'string' ? decodeCursor(req.query.cursor) : null
      if (!cursor) throw new AppError('bad_request', 'cursor is not one this API gave out')
    }
    const page = await deps.videos.list(limit, cursor)
    res.json({ videos: page.videos.map(present), next: page.next })
  }

  async function createVideo(req: Request, res: Response, next: NextFunction) {
    const file = receivedFile(req)
    try {
      if (!file) throw new AppError('missing_file', 'A file is required in the multipart field "file"')
      const fields = parseVideoFields(req.body)
      const video = await deps.videos.create({ ...fields, originalName: file.originalname, received: file, uploaderId: res.locals.user?.id })
      res.status(201).location(deps.urls.page(video.id)).json(present(video))
    } catch (err) {
      await discardUpload(req)
      next(err)
    }
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
