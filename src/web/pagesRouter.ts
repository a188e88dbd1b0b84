// The HTML pages for viewers and uploaders: home, video page, upload form.
import { Router } from 'express'
import type { Request, Response } from 'express'
import { AppError } from '../errors.ts'
import { validate, validated } from '../validate.ts'
import { presentVideo } from '../media/videoPresenter.ts'
import type { VideoRouteDeps } from '../media/videoApiRouter.ts'
import type { VideoRow } from '../media/videoRepository.ts'
import { publishUpload } from '../media/uploadHandler.ts'
import { homePageSchemas, homePageValidator, uploadValidator } from '../media/videoValidators.ts'
import { currentUser, requireCsrf, requirePageLogin } from '../auth/middleware.ts'
import { canManage, isAdmin } from '../auth/rights.ts'
import { RELEASE_NOTICES } from './releasePages.ts'
import { historyRangeSchemas } from '../tracker/swarmApiRouter.ts'
import { HISTORY_RANGES, type HistoryPoint, type HistoryRange, type SwarmHistory } from '../tracker/swarmHistory.ts'
import { renderSwarmChart } from './swarmChart.ts'
import { SITE_NAME } from './viewHelpers.ts'
import { shareMeta } from '../sharing/shareMeta.ts'
import { fixedNotice, formSteps } from './formSteps.ts'
import { sameForEveryone, swarmsShown } from '../media/keptAnswers.ts'

const PAGE_SIZE = 24

const renderView = (res: Response, view: string, locals: Record<string, unknown>) =>
  new Promise<string>((resolve, reject) => res.render(view, locals, (err, html) => (err ? reject(err) : resolve(html))))
const HOME_NOTICES = { deleted: 'The video was deleted.' } as const
const CHART_SIZE = { width: 440, height: 150 }

export interface PagesDeps extends VideoRouteDeps {
  swarm: SwarmHistory
  maxUploadBytes: number
}

export function pagesRouter(deps: PagesDeps): Router {
  const router = Router()
  router.get('/', homePageValidator, home)
  router.get('/videos/:id', videoPage)
  router.get('/videos/:id/swarm.svg', validate(historyRangeSchemas), swarmChart)
  router.get('/upload', requirePageLogin(), uploadForm)
  // Only the upload's refusals (not the login's or CSRF's) show the form again.
  const receiveForm = formSteps(
    showUploadRefusal,
    deps.receiveUpload,
    ...uploadValidator,
    publishUpload(deps.videos, (res, video) => res.redirect(303, `/videos/${video.id}`)),
  )
  router.post('/upload', requirePageLogin(), requireCsrf(), receiveForm)

  const present = (v: VideoRow) => presentVideo(v, deps)

  async function home(req: Request, res: Response) {
    const ticket = deps.pages.ticket()
    const { after, before } = validated(res, homePageSchemas).query
    const viewer = currentUser(res)
    const page =
      before && !after
        ? await deps.videos.list(PAGE_SIZE, before, viewer, 'newer')
        : await deps.videos.list(PAGE_SIZE, after, viewer)
    const videos = page.videos.map(present)
    const shown = deps.pages.live(swarmsShown(videos))
    const html = await renderView(res, 'home', {
      title: 'Videos',
      videos,
      next: page.next,
      prev: page.prev,
      isFirstPage: !after && !before,
      notice: fixedNotice(HOME_NOTICES, req.query.done),
    })
    res.send(html)
    if (viewer === undefined && sameForEveryone(videos) && deps.pages.eligible(req))
      deps.pages.keep(ticket, req, html, res, shown)
  }

  async function videoPage(req: Request, res: Response) {
    const ticket = deps.pages.ticket()
    const row = await deps.videos.getFor(currentUser(res), String(req.params.id))
    const video = present(row)
    const shown = deps.pages.live(swarmsShown([video]))
    const charts = row.torrent && video.swarm ? await bothCharts(row.torrent.id) : null
    const viewer = currentUser(res)
    const html = await renderView(res, 'video', {
      title: video.title,
      video,
      charts,
      manage: canManage(viewer, row),
      admin: isAdmin(viewer),
      notice: fixedNotice(RELEASE_NOTICES, req.query.done),
      ownVideo: viewer !== undefined && row.uploaderId === viewer.id,
      // Link previews and embedders (src/sharing/); a private page asks not to be indexed.
      meta: { ...shareMeta(video, deps.urls, SITE_NAME), private: !row.published },
    })
    res.send(html)
    if (viewer === undefined && sameForEveryone([video]) && deps.pages.eligible(req))
      deps.pages.keep(ticket, req, html, res, shown)
  }

  const chart = (points: HistoryPoint[], range: HistoryRange, now: number) =>
    renderSwarmChart(points, { ...CHART_SIZE, rangeMs: HISTORY_RANGES[range], now })

  async function chartFor(torrentId: number | null, range: HistoryRange): Promise<string> {
    const now = Date.now()
    return chart(torrentId === null ? [] : await deps.swarm.torrentHistory(torrentId, range, now), range, now)
  }

  async function bothCharts(torrentId: number): Promise<Record<HistoryRange, string>> {
    const now = Date.now()
    const h = await deps.swarm.torrentHistories(torrentId, now)
    return { '24h': chart(h['24h'], '24h', now), '30d': chart(h['30d'], '30d', now) }
  }

  // The same chart on its own, for the page's script to refresh it in place.
  async function swarmChart(req: Request, res: Response) {
    const { range } = validated(res, historyRangeSchemas).query
    const row = await deps.videos.getFor(currentUser(res), String(req.params.id))
    if (!deps.settings.get().bittorrentEnabled) throw new AppError('bittorrent_off')
    const svg = await chartFor(row.torrent?.id ?? null, range)
    res.set('Cache-Control', 'no-cache')
    res.type('image/svg+xml').send(svg)
  }

  // A refused upload (not audio/video, too large, malformed, no file) shows the form again with the reason.
  function showUploadRefusal(err: AppError, req: Request, res: Response) {
    const error = err.code === 'missing_file' ? 'Choose a file to upload' : err.message
    res.render('upload', { title: 'Upload', error, values: req.body ?? {}, maxUploadBytes: deps.maxUploadBytes })
  }

  function uploadForm(_req: Request, res: Response) {
    res.render('upload', {
      title: 'Upload',
      error: null,
      values: { title: '', description: '' },
      maxUploadBytes: deps.maxUploadBytes,
    })
  }

  return router
}
