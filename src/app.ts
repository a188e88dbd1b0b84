// Assembles the Express app from the services. No I/O happens here beyond wiring.
import express from 'express'
import type { Config } from './config.ts'
import type { Db } from './db/client.ts'
import { AppError, errorHandler } from './errors.ts'
import type { AuthService } from './auth/authService.ts'
import { authRouter } from './auth/authRouter.ts'
import { apiCredentials, fileViewer, loadSession } from './auth/middleware.ts'
import type { AccountService } from './accounts/accountService.ts'
import { accountsApiRouter } from './accounts/accountsApiRouter.ts'
import { accountPages } from './accounts/accountPages.ts'
import { userAdminPages } from './accounts/userAdminPages.ts'
import type { SettingsService } from './admin/settingsService.ts'
import { settingsRouter } from './admin/settingsRouter.ts'
import type { VideoService } from './media/videoService.ts'
import type { ReleaseService } from './media/releaseService.ts'
import type { TorrentRewriter } from './media/torrentRewriter.ts'
import { videoApiRouter } from './media/videoApiRouter.ts'
import { fileRouter } from './media/fileRouter.ts'
import { receiveUpload } from './media/uploadMiddleware.ts'
import type { ResumableUploads } from './media/tusUploads.ts'
import { tusRouter } from './media/tusRouter.ts'
import type { StoragePaths } from './media/storage.ts'
import type { SiteTracker } from './tracker/siteTracker.ts'
import type { SwarmHistory } from './tracker/swarmHistory.ts'
import type { OffloadService } from './offload/offloadService.ts'
import { offloadRouter } from './offload/offloadRouter.ts'
import { swarmApiRouter } from './tracker/swarmApiRouter.ts'
import { webSeedGate } from './offload/webSeedGate.ts'
import { pagesRouter } from './web/pagesRouter.ts'
import { videoManagePages } from './web/videoManagePages.ts'
import { releasePages } from './web/releasePages.ts'
import type { SiteUrls } from './siteUrls.ts'
import { SITE_NAME, viewHelpers } from './web/viewHelpers.ts'
import { vendorAssets } from './web/vendorAssets.ts'
import { FeedService } from './feeds/feedService.ts'
import { feedRouter } from './feeds/feedRouter.ts'
import { sharingRouter } from './sharing/sharingRouter.ts'
import { HealthCheck } from './web/health.ts'
import type { PageCache } from './web/pageCache.ts'
import { refuseCrossSite, securityHeaders } from './web/securityHeaders.ts'
import type { Refusals } from './refusals.ts'
import type { FairThrottle } from './fairThrottle.ts'
import { heartbeatRefusals, readHeartbeats, separateSeederHealth } from './seeder/seederLink.ts'
import { fromRoot } from './projectPaths.ts'
import { metricFamily } from './metricsText.ts'

export interface AppServices {
  config: Config
  db: Db
  paths: StoragePaths
  urls: SiteUrls
  auth: AuthService
  accounts: AccountService
  settings: SettingsService
  videos: VideoService
  /** Adding and removing a release's extra files, and its retired torrents. */
  releases: ReleaseService
  /** Resumable (tus) uploads: /api/uploads and the upload page's /uploads. */
  uploads: ResumableUploads
  /** Brings existing .torrent files in line with the settings, in the background. */
  rewriter: TorrentRewriter
  tracker: SiteTracker
  /** The UDP tracker; null when TRACKER_UDP_PORT=0. */
  udp: { listening(): boolean } | null
  /** Whether the web port, and with it the HTTP and WebSocket tracker, still takes connections. */
  webListening: () => boolean
  /** Connections this process holds open on the web port now (src/web/connectionGuard.ts). */
  webConnectionsOpen: () => number
  /** Stored swarm sizes (charts) and the live numbers the video page polls. */
  swarm: SwarmHistory
  /** Bytes the site sent and bytes peers served (video page, API, the admin's dashboard). */
  offload: OffloadService
  /** null when SEEDER=off (the seeder then runs elsewhere, or not at all). */
  seeder: { health(): unknown; refusalCounts(): Record<string, number> } | null
  /** Bounds that refused something a stranger sent (the tracker counts its own). */
  refusals: Refusals
  /** The web seed's (/seed/) total rate, all connections: the webSeedUploadCap setting. */
  webSeedThrottle: FairThrottle
  /** Anonymous video pages as drawn: src/server.ts sends them again before Express, the page handler keeps them. */
  pages: PageCache
}

const VIEWS_DIR = fromRoot('views')
const PUBLIC_DIR = fromRoot('views', 'public')

export function createApp(s: AppServices): express.Express {
  const app = express()
  app.disable('x-powered-by')
  if (s.config.trustProxy) app.set('trust proxy', 1)
  app.set('views', VIEWS_DIR)
  app.set('view engine', 'ejs')
  // Express caches compiled templates only under NODE_ENV=production, which nothing here sets:
  // without this every page compiled its template and partials again (bench:load: EJS compile was
  // the largest share of the video page's CPU). The templates ship with the code.
  app.set('view cache', true)
  // Includes name their file from the views folder ('/partials/header'): EJS resolves such a path
  // without the file system, where a relative one costs an existsSync per include per page (4.5 % of
  // a drawn video page's CPU, bench:load 2026-12-08).
  app.set('view options', { root: VIEWS_DIR })
  app.locals.h = viewHelpers
  app.locals.siteName = SITE_NAME
  // For views/partials/player.ejs, wherever it is included: the setting as it is now.
  app.locals.p2pPlayback = () => s.settings.get().p2pPlayback
  app.locals.wsTrackerUrl = s.urls.announce().replace(/^http/, 'ws')

  app.use(securityHeaders(s.urls.base))
  app.use(refuseCrossSite(s.urls.base))

  // Media and health first: they need no session lookup. (/announce and /scrape never reach
  // Express: src/server.ts hands them to the tracker.)
  app.get('/metrics', async (_req, res) => {
    // A seeder run as its own service reports its counters in its heartbeat.
    const seederCounts = s.seeder
      ? s.seeder.refusalCounts()
      : heartbeatRefusals(await readHeartbeats(s.db).catch(() => []))
    res
      .type('text/plain; version=0.0.4')
      .send(
        s.tracker.metricsText() +
          s.refusals.metricsText(seederCounts) +
          connectionsGauge(s.webConnectionsOpen()) +
          s.pages.metricsText(),
      )
  })
  // The tracker is down when a transport stopped taking requests: the UDP socket closed, or the
  // web port closed (a kept-alive connection may still ask). BitTorrent switched off is not down.
  const health = new HealthCheck(s.db, s.paths, () => s.webListening() && (s.udp?.listening() ?? true))
  app.get('/healthz', async (_req, res) => {
    const failed = await health.failing()
    // The seeder's state is reported, but the site is ready without it.
    const seeder = s.seeder
      ? s.seeder.health()
      : separateSeederHealth(await readHeartbeats(s.db).catch(() => []), Date.now())
    if (failed.length) res.status(503).json({ ok: false, failing: failed, seeder })
    else res.json({ ok: true, seeder })
  })
  const gate = webSeedGate({
    counts: (infoHash) => s.tracker.counts(infoHash),
    browserSeeders: (infoHash) => s.tracker.browserSeeders(infoHash),
    infoHashOf: (fileName) => s.videos.infoHashOfFile(fileName),
    refusals: s.refusals,
  })
  app.use(
    fileRouter(
      s.paths,
      s.videos,
      s.settings,
      s.webSeedThrottle,
      s.offload.tally,
      gate,
      fileViewer(s.auth),
      s.releases,
      s.config.accelRedirect,
    ),
  )
  app.use(vendorAssets())
  app.use('/static', express.static(PUBLIC_DIR, { maxAge: '1h' }))

  const format = () => s.videos.torrentFormat()
  const upload = receiveUpload(s.paths, s.config.maxUploadBytes, format, s.config.release.maxFiles)
  const extras = receiveUpload(s.paths, s.config.maxUploadBytes, format, s.config.release.maxFiles, { main: false })
  const releaseDeps = { releases: s.releases, receiveExtras: extras }
  // The API knows callers by their Authorization header only (never the cookie: src/auth/middleware.ts).
  app.use('/api', apiCredentials(s.auth))
  app.use(
    videoApiRouter({
      videos: s.videos,
      tracker: s.tracker,
      settings: s.settings,
      urls: s.urls,
      receiveUpload: upload,
      ...releaseDeps,
      pages: s.pages,
    }),
  )
  app.use(
    swarmApiRouter({
      swarm: s.swarm,
      bittorrentEnabled: () => s.settings.get().bittorrentEnabled,
      seeVideo: (viewer, id) => s.videos.assertVisible(viewer, id),
    }),
  )
  app.use(accountsApiRouter(s.accounts))

  const videoDeps = { videos: s.videos, tracker: s.tracker, settings: s.settings, urls: s.urls }
  app.use(feedRouter(new FeedService(s.videos, videoDeps), s.urls, SITE_NAME))

  app.use(loadSession(s.auth))
  app.use(sharingRouter(videoDeps, SITE_NAME))
  // Both its paths: the API's (Authorization, read above) and the page's (the session, just loaded).
  app.use(tusRouter(s.uploads))
  app.use(authRouter(s.auth, s.urls.base.startsWith('https:')))
  app.use(accountPages(s.auth, s.accounts))
  app.use(userAdminPages(s.accounts))
  app.use(
    settingsRouter({
      settings: s.settings,
      siteTrackerUrl: s.urls.announce(),
      jobs: () => ({ backfill: s.videos.backfillProgress(), rewrite: s.rewriter.progress() }),
    }),
  )
  app.use(offloadRouter({ offload: s.offload }))
  app.use(videoManagePages(s.videos))
  app.use(releasePages(s.releases, extras))
  app.use(
    pagesRouter({
      videos: s.videos,
      tracker: s.tracker,
      settings: s.settings,
      swarm: s.swarm,
      urls: s.urls,
      receiveUpload: upload,
      ...releaseDeps,
      maxUploadBytes: s.config.maxUploadBytes,
      pages: s.pages,
    }),
  )

  app.use((_req, _res, next) => next(new AppError('not_found', 'Page not found')))
  app.use(errorHandler)
  return app
}

// Per process: with WEB_WORKERS each worker answers with its own.
const connectionsGauge = (open: number) =>
  metricFamily(
    'seedcast_web_connections_open',
    'gauge',
    'Connections open on the web port (this process), counted against WEB_MAX_CONNECTIONS.',
    [['', open]],
  )
