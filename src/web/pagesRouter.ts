// The HTML pages for viewers and uploaders: home, video page, upload form.
import { Router } from 'express'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { AppError, toAppError } from '../errors.ts'
import { presentVideo } from '../media/videoPresenter.ts'
import { decodeCursor, type VideoService } from '../media/videoService.ts'
import type { VideoRow } from '../media/videoRepository.ts'
import { discardUpload, parseVideoFields, receivedFile } from '../media/uploadMiddleware.ts'
import { requireCsrf, requirePageLogin } from '../auth/middleware.ts'
import type { SettingsService } from '../admin/settingsService.ts'
import type { EmbeddedTracker } from '../tracker/embeddedTracker.ts'
import { HISTORY_RANGES, isHistoryRange, type HistoryRange, type SwarmHistory } from '../tracker/swarmHistory.ts'
import type { SiteUrls } from '../siteUrls.ts'
import { renderSwarmChart } from './swarmChart.ts'

const PAGE_SIZE = 24
const CHART_SIZE = { width: 440, height: 150 }

export interface PagesDeps {
  videos: VideoService
  tracker: EmbeddedTracker
  settings: SettingsService
  swarm: SwarmHistory
  urls: SiteUrls
  receiveUpload: RequestHandler
  maxUploadBytes: number
}

export function pagesRouter(deps: PagesDeps): Router {
  const router = Router()
  router.get('/', home)
  router.get('/videos/:id', videoPage)
  router.get('/videos/:id/swarm.svg', swarmChart)
  router.get('/upload', requirePageLogin(), uploadForm)
  router.post('/upload', requirePageLogin(), requireCsrf(), receiveUploadForForm, upload)

  const present = (v: VideoRow) => presentVideo(v, deps)

  async function home(req: Request, res: Response) {
    const cursor = typeof req.query.after === 'string' ? decodeCursor(req.query.after) : undefined
    if (cursor === null) throw new AppError('bad_request', 'That page link is not valid')
    const page = await deps.videos.list(PAGE_SIZE, cursor)
    res.render('home', { title: 'Videos', videos: page.videos.map(present), next: page.next, isFirstPage: !cursor })
  }

  async function videoPage(req: Request, res: Response) {
    const row = await deps.videos.get(String(req.params.id))
    const video = present(row)
    const charts = row.torrent && video.torrent
      ? { '24h': await chartFor(row.torrent.id, '24h'), '30d': await chartFor(row.torrent.id, '30d') }
      : null
    res.render('video', { title: video.title, video, charts })
  }

  async function chartFor(torrentId: number | null, range: HistoryRange): Promise<string> {
    const now = Date.now()
    const points = torrentId === null ? [] : await deps.swarm.torrentHistory(torrentId, range, now)
    return renderSwarmChart(points, { ...CHART_SIZE, rangeMs: HISTORY_RANGES[range], now })
  }

  // The same chart on its own, for the page's script to refresh it in place.
  async function swarmChart(req: Request, res: Response) {
    const range = req.query.range ?? '24h'
    if (!isHistoryRange(range)) throw new AppError('bad_request', `range must be one of: ${Object.keys(HISTORY_RANGES).join(', ')}`)
    const row = await deps.videos.get(String(req.params.id))
    if (!deps.settings.get().bittorrentEnabled) throw new AppError('bittorrent_off')
    const svg = await chartFor(row.torrent?.id ?? null, range)
    res.set('Cache-Control', 'no-cache')
    res.type('image/svg+xml').send(svg)
  }

  function renderUploadError(req: Request, res: Response, err: unknown): void {
    const appErr = toAppError(err)
    if (appErr.status >= 500) throw err
    res.status(appErr.status).render('upload', { title: 'Upload', error: appErr.message, values: req.body ?? {}, maxUploadBytes: deps.maxUploadBytes })
  }

  // A refused upload (not audio/video, too large, malformed) shows the form again with the reason.
  function receiveUploadForForm(req: Request, res: Response, next: NextFunction) {
    deps.receiveUpload(req, res, (err?: unknown) => {
      if (!err) return next()
      try { renderUploadError(req, res, err) } catch { next(err) }
    })
  }

  function uploadForm(_req: Request, res: Response) {
    res.render('upload', { title: 'Upload', error: null, values: { title: '', description: '' }, maxUploadBytes: deps.maxUploadBytes })
  }

  async function upload(req: Request, res: Response) {
    const file = receivedFile(req)
    try {
      if (!file) throw new AppError('missing_file', 'Choose a file to upload')
      const fields = parseVideoFields(req.body)
      const video = await deps.videos.create({ ...fields, originalName: file.originalname, received: file, uploaderId: res.locals.user?.id })
      res.redirect(303, `/videos/${video.id}`)
    } catch (err) {
      await discardUpload(req)
      renderUploadError(req, res, err)
    }
  }

  return router
}
