import { Router, json } from 'express'
import type { Request, RequestHandler, Response } from 'express'
import { validated } from '../validate.ts'
import { apiUser, requireApiUser } from '../auth/middleware.ts'
import type { SettingsService } from '../admin/settingsService.ts'
import type { SiteTracker } from '../tracker/siteTracker.ts'
import type { SiteUrls } from '../siteUrls.ts'
import { presentVideo } from './videoPresenter.ts'
import type { VideoService } from './videoService.ts'
import { sameForEveryone, swarmsShown, type KeptAnswers } from './keptAnswers.ts'
import type { VideoRow } from './videoRepository.ts'
import { publishUpload } from './uploadHandler.ts'
import type { ReleaseService } from './releaseService.ts'
import { discardUpload, receivedExtras } from './uploadMiddleware.ts'
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
  tracker: SiteTracker
  settings: SettingsService
  urls: SiteUrls
  receiveUpload: RequestHandler
  /** Extra files only (multipart field "files"), for adding them to a video. */
  receiveExtras: RequestHandler
  releases: ReleaseService
  /** Anonymous lists and pages as drawn (src/web/pageCache.ts). */
  pages: KeptAnswers
}

export function videoApiRouter(deps: VideoRouteDeps): Router {
  const router = Router()
  const signedIn = requireApiUser()
  router.get('/api/videos', listVideosValidator, listVideos)
  router.post('/api/videos', signedIn, deps.receiveUpload, uploadValidator, publishUpload(deps.videos, created))
  router.get('/api/videos/:id', getVideo)
  router.patch('/api/videos/:id', signedIn, json({ limit: '64kb', strict: true }), editVideoValidator, editVideo)
  router.delete('/api/videos/:id', signedIn, deleteVideo)
  // A release's files: adding or removing one makes a new torrent (the answer has it).
  router.post('/api/videos/:id/files', signedIn, deps.receiveExtras, addFiles)
  router.delete('/api/videos/:id/files/:name', signedIn, removeFile)
  router.delete('/api/videos/:id/torrents/:infoHash', signedIn, removeRetired)

  const present = (v: VideoRow) => presentVideo(v, deps)

  async function listVideos(req: Request, res: Response) {
    const ticket = deps.pages.ticket()
    const { query } = validated(res, listVideosSchemas)
    const viewer = apiUser(res)
    const page = await deps.videos.list(query.limit, query.cursor, viewer)
    const videos = page.videos.map(present)
    const shown = deps.pages.live(swarmsShown(videos))
    const body = JSON.stringify({ videos, next: page.next })
    res.type('json').send(body)
    if (viewer === undefined && sameForEveryone(videos) && deps.pages.eligible(req))
      deps.pages.keep(ticket, req, body, res, shown)
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

  async function addFiles(req: Request, res: Response) {
    try {
      const video = await deps.releases.addFiles(apiUser(res), String(req.params.id), receivedExtras(req))
      res.status(201).json(present(video))
    } finally {
      // What the service took is moved already; the rest (all of it, when refused) goes.
      await discardUpload(req)
    }
  }

  async function removeFile(req: Request, res: Response) {
    res.json(present(await deps.releases.removeFile(apiUser(res), String(req.params.id), String(req.params.name))))
  }

  async function removeRetired(req: Request, res: Response) {
    await deps.releases.removeRetired(apiUser(res), String(req.params.id), String(req.params.infoHash))
    res.status(204).end()
  }

  return router
}
