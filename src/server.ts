// Starts Seedcast: storage, database, services, start-up check, then the HTTP listener.
// Used by main.ts and by the tests (port 0, temporary storage).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { readFile } from 'node:fs/promises'
import type { Config } from './config.ts'
import { openDatabase } from './db/client.ts'
import { listenWebPort, WEB_LISTENERS, type WebListeners } from './web/webListeners.ts'
import { AuthService } from './auth/authService.ts'
import { AccountService } from './accounts/accountService.ts'
import { SettingsService } from './admin/settingsService.ts'
import { VideoService } from './media/videoService.ts'
import { describeRecovery, recoverStorage } from './media/recovery.ts'
import { MediaDetails } from './media/mediaDetails.ts'
import { ensureStorage, storagePaths } from './media/storage.ts'
import { ResumableUploads } from './media/tusUploads.ts'
import { EmbeddedTracker } from './tracker/embeddedTracker.ts'
import { handleTrackerHttp } from './tracker/httpTransport.ts'
import { PageCache } from './web/pageCache.ts'
import { onVideosChanged, videosChanged } from './media/videoChanges.ts'
import { UdpTracker } from './tracker/udpTransport.ts'
import { SwarmHistory } from './tracker/swarmHistory.ts'
import { OffloadFlusher } from './offload/offloadFlusher.ts'
import { OffloadService } from './offload/offloadService.ts'
import { TorrentRewriter } from './media/torrentRewriter.ts'
import { Refusals } from './refusals.ts'
import { FairThrottle } from './fairThrottle.ts'
import { bumpGeneration, watchGeneration } from './seeder/seederLink.ts'
import { ImportFolder } from './media/importFolder.ts'
import { siteUrls } from './siteUrls.ts'
import { SeederSupervisor } from './seeder/supervisor.ts'
import { PeerPush } from './seeder/peerPush.ts'
import type { Express } from 'express'
import { createApp, type AppServices } from './app.ts'
import { ReleaseService } from './media/releaseService.ts'
import { createGuardedServer, openFilesWarning } from './web/httpGuards.ts'
import type { SiteTracker } from './tracker/siteTracker.ts'
import { type OwnerChannel, TrackerReplica } from './cluster/trackerReplica.ts'
import { TrackerOwner } from './cluster/trackerOwner.ts'

/** What a process that holds the tracker has, beyond what a web worker has. */
interface LocalServices {
  tracker: EmbeddedTracker
  udp: UdpTracker | null
  seeder: SeederSupervisor | null
}

export interface RunningServer {
  url: string
  port: number
  /** The UDP tracker's port, null when TRACKER_UDP_PORT=0. */
  udpPort: number | null
  services: Omit<AppServices, keyof LocalServices> & LocalServices
  /** The Express app (the role-matrix test lists its routes). */
  app: Express
  close(): Promise<void>
}

/** Tests only: a pause after each hashed piece, so that a page can be seen while it hashes. */
export interface ServerTestHooks {
  hashPieceDelayMs?: number
}

interface WebWorker {
  port: number
  udpPort: null
  close(): Promise<void>
}

/**
 * single: the whole site in this process. owner (WEB_WORKERS > 1): everything but the web port,
 * which its workers answer. worker: the web port, with the tracker's swarms in the owner.
 */
type Role = { kind: 'single' } | { kind: 'owner' } | { kind: 'worker'; channel: OwnerChannel }

export function startServer(
  config: Config,
  log: (line: string) => void = console.log,
  hooks: ServerTestHooks = {},
): Promise<RunningServer> {
  return launch(config, log, hooks, { kind: 'single' }) as Promise<RunningServer>
}

/** The process that owns the swarms, the seeder and the jobs, for WEB_WORKERS > 1 (src/cluster/webWorkers.ts). */
export async function startOwner(
  config: Config,
  log: (line: string) => void,
): Promise<{ owner: TrackerOwner; udpPort: number | null; close(): Promise<void> }> {
  const running = (await launch(config, log, {}, { kind: 'owner' })) as RunningServer & { owner: TrackerOwner }
  return running
}

/** One of WEB_WORKERS web processes: answers HTTP on the shared port. */
export async function startWebWorker(
  config: Config,
  channel: OwnerChannel,
  log: (line: string) => void,
): Promise<WebWorker> {
  return launch(config, log, {}, { kind: 'worker', channel }) as Promise<WebWorker>
}

async function launch(
  config: Config,
  log: (line: string) => void,
  hooks: ServerTestHooks,
  role: Role,
): Promise<(RunningServer & { owner: TrackerOwner | null }) | WebWorker> {
  const channel = role.kind === 'worker' ? role.channel : null
  const paths = storagePaths(config.storageDir)
  await ensureStorage(paths)
  const db = await openDatabase(config)
  const urls = siteUrls(config.publicUrl)

  const refusals = new Refusals()
  const auth = new AuthService(db, config.auth, refusals)
  const accounts = new AccountService(db, auth)
  await auth.purgeExpiredSessions()

  const { settings, publicUrlChangedFrom } = await SettingsService.load(db, config.publicUrl)
  let videos: VideoService | undefined
  const seeder = config.seederEnabled && !channel ? new SeederSupervisor(seederEnv(config), log) : null
  // A leecher announcing to the site's tracker is dialled by the supervised seeder at once.
  const peerPush = seeder
    ? new PeerPush({
        send: (peers) => seeder.pushPeers(peers),
        dropped: (n) => refusals.add('seeder_peer_push_dropped', n),
      })
    : null
  const local = channel
    ? null
    : new EmbeddedTracker({
        ...config.tracker,
        onCompleted: (infoHash) => {
          videos
            ?.recordCompleted(infoHash)
            .catch((err) => log(`[tracker] could not store completed count: ${err.message}`))
        },
        ...(peerPush
          ? { onLeecher: (infoHash: string, ip: string, port: number) => peerPush.add(infoHash, ip, port) }
          : {}),
      })
  const pages = new PageCache({
    ...config.pageCache,
    // Read at request time, once the tracker below exists.
    live: (infoHash) => {
      const c = tracker.counts(infoHash)
      return `${c.seeders} ${c.leechers} ${tracker.completed(infoHash)}`
    },
  })
  const replica = channel
    ? new TrackerReplica(
        channel,
        () => {
          settings.reload().catch((err) => log(`[settings] could not re-read them: ${(err as Error).message}`))
        },
        (ids) => pages.forget(ids),
      )
    : null
  // The owner, once made (below): it tells the workers of what its jobs change.
  let owner: TrackerOwner | null = null
  // Every video write this process makes (src/media/videoChanges.ts) drops the page here and on every worker.
  const stopHearingVideos = onVideosChanged((ids) => {
    pages.forget(ids)
    if (replica) replica.pagesChanged(ids).catch((err) => log(`[workers] ${(err as Error).message}`))
    else owner?.pagesChanged(ids)
  })
  const tracker: SiteTracker = (local ?? replica)!
  // Another worker's save is read at the owner's word; this one's is announced before it is answered.
  if (replica) settings.afterSave = () => replica.settingsChanged()
  // Supervised, the seeder hears of a change over IPC; run as its own service, through the database.
  const noticeSeeder = () => {
    if (replica) replica.torrentsChanged().catch((err) => log(`[workers] ${(err as Error).message}`))
    else if (seeder) seeder.notify()
    else bumpGeneration(db).catch((err) => log(`[seeder] could not leave a rescan notice: ${(err as Error).message}`))
  }
  // ffprobe and ffmpeg after each upload is answered, one file at a time.
  const details = new MediaDetails({ db, paths, log })
  const rewriter = new TorrentRewriter({ db, paths, urls, settings, onTorrentsChanged: noticeSeeder, log })
  videos = new VideoService({
    db,
    paths,
    urls,
    settings,
    tracker,
    createdBy: `Seedcast ${config.version}`,
    onTorrentsChanged: noticeSeeder,
    releaseLimits: config.release,
    onStaleTorrent: () => void rewriter.request(),
    onStored: (video) => details.request(video),
    hashPieceDelayMs: hooks.hashPieceDelayMs,
  })
  tracker.enabled = settings.get().bittorrentEnabled
  if (!channel) await videos.loadAllowList()
  // Each wait for the web seed's cap is counted: /metrics shows when it bites. Each of several
  // workers sends its share of the cap.
  const webSeedThrottle = new FairThrottle(() => refusals.add('web_seed_upload_cap'))
  const capShare = channel ? config.webWorkers : 1
  webSeedThrottle.setRate(settings.get().webSeedUploadCap / capShare)
  settings.on('changed', (next, previous) => {
    // Links, players and the swarm's place on every page follow the settings.
    pages.forget(null)
    tracker.enabled = next.bittorrentEnabled
    webSeedThrottle.setRate(next.webSeedUploadCap / capShare)
    // The owner runs the jobs below, once for the site.
    if (channel) return
    // Told at once: the seeder stops (or starts) seeding everything, or takes its new upload cap,
    // now rather than at its next rescan.
    if (next.bittorrentEnabled !== previous.bittorrentEnabled || next.seederUploadCap !== previous.seederUploadCap)
      noticeSeeder()
    if (next.bittorrentEnabled && !previous.bittorrentEnabled) void videos.backfillTorrents()
    if (
      JSON.stringify(next.trackerUrls) !== JSON.stringify(previous.trackerUrls) ||
      next.webSeedEnabled !== previous.webSeedEnabled
    )
      void rewriter.request()
  })

  if (!channel)
    for (const line of describeRecovery(await recoverStorage(db, paths, videos, settings.get().bittorrentEnabled)))
      log(`[start-up check] ${line}`)

  // After the start-up check, which leaves unfinished resumable uploads alone.
  const uploads = new ResumableUploads({
    paths,
    videos,
    maxUploadBytes: config.maxUploadBytes,
    expirySeconds: config.tus.expirySeconds,
    maxUnfinishedPerUser: config.tus.maxUnfinishedPerUser,
    refusals,
  })
  await uploads.start()

  const swarm = new SwarmHistory({ db, tracker, sampleSeconds: config.tracker.sampleSeconds, log })
  // Bytes the file route sends (its tally) and peers' downloads (the tracker's), stored every few
  // seconds; the seeder process stores its own.
  const offload = new OffloadService({
    db,
    urls,
    log,
    flusher: new OffloadFlusher({ db, log, sources: local ? [() => local.takeDownloaded()] : [] }),
  })
  // Bound after the web port; made now so that /healthz can check it.
  const udp = config.tracker.udpPort && local ? new UdpTracker(local) : null
  // Read by /healthz, which is only answered once the server below exists.
  const webListening = () => guarded.server.listening
  const webConnectionsOpen = () => guarded.connections.open
  const services: AppServices = {
    config,
    db,
    paths,
    urls,
    auth,
    accounts,
    settings,
    videos,
    releases: new ReleaseService({
      db,
      mediaDir: paths.mediaDir,
      videos,
      tracker,
      limits: config.release,
      onTorrentsChanged: noticeSeeder,
    }),
    uploads,
    rewriter,
    tracker,
    udp: replica ? { listening: () => replica.udpListening() ?? true } : udp,
    webListening,
    webConnectionsOpen,
    swarm,
    offload,
    seeder: replica ? (config.seederEnabled ? replica.seederView() : null) : seeder,
    refusals,
    webSeedThrottle,
    pages,
  }
  const app = createApp(services)
  // Requests that arrive between listen and the end of the start (the admin is made only once
  // the ports are ours) wait for it, rather than meet a site without its admin.
  let started = false
  let markStarted!: () => void
  const startup = new Promise<void>((resolve) => {
    markStarted = () => {
      started = true
      resolve()
    }
  })
  // Tracker announces and scrapes skip Express: they are the hot path.
  // Which of several workers answered: for logs behind a proxy, and for the tests that compare them.
  const workerTag = channel ? (process.env.SEEDCAST_WORKER ?? '') : null
  const dispatch = (req: IncomingMessage, res: ServerResponse) => {
    if (workerTag !== null) res.setHeader('X-Seedcast-Worker', workerTag)
    if (!handleTrackerHttp(tracker, req, res, config.trustProxy) && !pages.serve(req, res)) app(req, res)
  }
  const guarded = createGuardedServer(config.web, config.trustProxy, refusals, (req, res) => {
    if (started) dispatch(req, res)
    else void startup.then(() => dispatch(req, res))
  })
  const { server } = guarded
  // The web port's sockets this process holds (the owner of web workers listens on none).
  const webSockets = role.kind === 'owner' ? 0 : WEB_LISTENERS
  const fileLimit = openFilesWarning(
    config.web.maxConnections,
    await readFile('/proc/self/limits', 'utf8').catch(() => null),
    webSockets,
  )
  if (fileLimit) log(`[start-up check] ${fileLimit}`)
  server.on('upgrade', (req, socket, head) => {
    // The WebSocket tracker (browser peers) shares the web port: ws(s)://host/announce.
    if ((req.url ?? '').split('?')[0] === '/announce') tracker.handleUpgrade(req, socket, head, config.trustProxy)
    else socket.destroy()
  })
  let listeners: WebListeners | null = null
  const closeWebPort = () =>
    new Promise<void>((resolve) => {
      listeners?.close()
      server.close(() => resolve())
      server.closeAllConnections()
    })
  const closeEarly = async () => {
    stopHearingVideos()
    guarded.stop()
    await closeWebPort()
    await tracker.close()
    await db.$disconnect()
  }
  try {
    // The owner of several web workers takes no web connections: they do, each on sockets of its
    // own on the port the owner claimed (src/cluster/webWorkers.ts).
    if (role.kind !== 'owner')
      listeners = await listenWebPort(server, config.port, config.host, webSockets, role.kind === 'worker')
  } catch (err) {
    await closeEarly()
    throw err
  }
  const port = listeners?.port ?? 0
  let udpPort: number | null = null
  try {
    udpPort = udp ? await udp.listen(config.tracker.udpPort, config.host) : null
  } catch (err) {
    // A taken UDP port stops the start with one clear line, and leaves nothing listening.
    await closeEarly()
    throw new Error(
      `cannot listen on UDP port ${config.tracker.udpPort} for the tracker (TRACKER_UDP_PORT): ${(err as Error).message}`,
    )
  }
  // Only once the ports are ours: a start that fails before this must not create the admin and
  // print a password that the next (good) start would never show again.
  try {
    const { generatedPassword } = channel ? { generatedPassword: null } : await auth.ensureAdmin(config.adminPassword)
    if (generatedPassword)
      log(`Created user "admin" with password: ${generatedPassword}  (shown once; set ADMIN_PASSWORD to choose one)`)
  } catch (err) {
    await udp?.close()
    await closeEarly()
    throw err
  }
  markStarted()
  seeder?.start()
  if (channel) {
    offload.start()
    return {
      port,
      udpPort: null,
      async close() {
        stopHearingVideos()
        guarded.stop()
        await details.stop()
        await closeWebPort()
        await tracker.close()
        uploads.stop()
        webSeedThrottle.close()
        await offload.stop()
        await db.$disconnect()
      },
    }
  }
  await details.resumePending()
  if (publicUrlChangedFrom) {
    log(
      `[start-up check] PUBLIC_URL changed from ${publicUrlChangedFrom} to ${config.publicUrl}: rewriting every .torrent for the new tracker and web seed URLs`,
    )
    void rewriter
      .request({ all: true })
      .then(async (finished) => {
        // Confirmed only when every file was reached: a stop before that redoes it at the next start.
        if (finished) await settings.confirmPublicUrl(config.publicUrl)
      })
      .catch((err) => log(`[torrents] ${(err as Error).message}`))
  } else {
    // Finishes a rewrite that a stop or a crash cut short (a no-op when every file is current).
    void rewriter.request()
  }
  // After listen: the first round (a sample now, old samples thinned) runs while the site serves.
  await swarm.start()
  offload.start()
  // A video the CLI imported (another process, same database): tracked and seeded within a second.
  const outside = watchGeneration(db, 1000, async () => {
    videosChanged(null)
    await videos.loadAllowList()
    seeder?.notify()
  })
  const importFolder = config.import.dir
    ? new ImportFolder({
        dir: config.import.dir,
        settleMs: config.import.settleMs,
        paths,
        videos,
        ownerId: async () => (await accounts.importOwner(config.import.owner)).id,
        log,
      })
    : null
  if (importFolder) {
    log(`[import] watching ${config.import.dir}: files are taken once unchanged for ${config.import.settleMs / 1000} s`)
    await importFolder.start()
  }
  owner =
    role.kind === 'owner' && local
      ? new TrackerOwner({
          tracker: local,
          trustProxy: config.trustProxy,
          udpListening: () => udp?.listening() ?? null,
          seeder,
          torrentsChanged: noticeSeeder,
          reloadSettings: () => settings.reload(),
          log,
        })
      : null

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    udpPort,
    services: { ...services, tracker: local!, udp, seeder },
    app,
    owner,
    async close() {
      stopHearingVideos()
      owner?.close()
      outside.stop()
      await importFolder?.stop()
      guarded.stop()
      // Kills a running ffprobe/ffmpeg; what it was reading stays pending for the next start.
      await details.stop()
      // The tracker first: upgraded WebSocket sockets are not the HTTP server's to close, and
      // would keep server.close() waiting for as long as a browser peer stays connected.
      await tracker.close()
      await closeWebPort()
      await swarm.stop()
      uploads.stop()
      webSeedThrottle.close()
      // After the web port: what the last responses and announces counted is stored too.
      await offload.stop()
      await rewriter.stop()
      peerPush?.close()
      await seeder?.stop()
      await udp?.close()
      await db.$disconnect()
    },
  }
}

// What the seeder reads besides the settings below: its own SEEDER_* ones (bt_server/), and what
// any process needs to run. Nothing else of this process's environment (ADMIN_PASSWORD, other
// services' secrets) reaches it.
const SEEDER_PASSTHROUGH =
  /^(SEEDER_.*|PATH|HOME|USER|LANG|LC_[A-Z]+|TZ|TMPDIR|NODE_OPTIONS|NODE_EXTRA_CA_CERTS|UV_THREADPOOL_SIZE)$/

/**
 * The seeder child reads the same storage and database as this web app, and the SEEDER_* settings
 * this web app was configured with, whatever env started it.
 */
function seederEnv(config: Config, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const passed = Object.fromEntries(Object.entries(env).filter(([name]) => SEEDER_PASSTHROUGH.test(name)))
  return {
    ...passed,
    ...config.seederVariables,
    STORAGE_DIR: config.storageDir,
    DATABASE_URL: config.databaseUrl,
    PUBLIC_URL: config.publicUrl,
    PORT: String(config.port),
    SEEDER_PORT: String(config.seederPort),
    SEEDER_RESCAN_SECONDS: String(config.seederRescanSeconds),
    SEEDER_ENGINE: config.seederEngine,
  }
}
