// Serves stored media with Range support, and .torrent files: /media/ for the page's player and
// direct downloads (never capped; also the web seed of torrents made before /seed/ existed), and
// /seed/ for the BEP 19 web seed of the torrents, under the site's webSeedUploadCap. A release's
// files are at /media/<folder>/<name> and /seed/<folder>/<name> (a multi-file torrent's url-list
// is /seed/, clients add <folder>/<path>), under the same rules as the video's file.
import { Router } from 'express'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { AppError } from '../errors.ts'
import { MAX_PIECE_LENGTH } from '../bittorrent/pieceLength.ts'
import { lstat } from 'node:fs/promises'
import path from 'node:path'
import type { SettingsService } from '../admin/settingsService.ts'
import type { FairThrottle } from '../fairThrottle.ts'
import { resolveInside, sidecarOf, type StoragePaths } from './storage.ts'
import { throttledFs } from './throttledRead.ts'
import type { VideoService } from './videoService.ts'
import type { ReleaseService } from './releaseService.ts'
import { countOrigin, mediaVia } from '../offload/originCounter.ts'
import type { OffloadTally } from '../offload/offloadTally.ts'
import type { CurrentUser } from '../auth/authService.ts'
import { canSee } from '../auth/rights.ts'
import { accelBytes, accelUri } from './accelRedirect.ts'

/** Who asks for a private video's file (src/auth/middleware.ts fileViewer). */
type ViewerOf = (req: Request) => Promise<CurrentUser | undefined>

// What Express's own sendFile callback ignores: an aborted request, a failed write to the socket.
const clientGone = (err: { code?: string; syscall?: string }) => err.code === 'ECONNABORTED' || err.syscall === 'write'

// A pad fills up to a piece boundary: less than the largest piece length.
const MAX_PAD_BYTES = MAX_PIECE_LENGTH

/** Who a file is sent to: the page's player (and direct downloads), or BitTorrent clients' web seed. */
interface MediaRoute {
  via: 'playback' | 'webseed'
}

export function fileRouter(
  paths: StoragePaths,
  videos: VideoService,
  settings: SettingsService,
  webSeedThrottle: FairThrottle,
  origin: OffloadTally,
  webSeedGate: RequestHandler,
  viewerOf: ViewerOf,
  releases: ReleaseService,
  accelRedirect: string | null,
): Router {
  const router = Router()
  // A private video's file is its owner's and the admins' (the player's cookie, or a script's
  // Authorization); the web seed never serves it, as the seeder does not.
  const visible = (via: MediaRoute['via']) => async (req: Request, res: Response, next: NextFunction) => {
    const access = await videos.fileAccess(String(req.params.fileName))
    if (!access || access.published) return next()
    if (via === 'webseed' || !canSee(await viewerOf(req), access))
      return next(new AppError('not_found', 'No such file'))
    res.locals.privateFile = true
    next()
  }
  // Bytes sent are counted per file and `via` (src/offload/originCounter.ts). /media/ is also the
  // web seed of torrents made before /seed/ existed: BitTorrent clients there are told by User-Agent.
  router.get('/media/:fileName', visible('playback'), countOrigin(origin, mediaVia), serveMedia({ via: 'playback' }))
  // The web seed steps aside while the swarm can serve (src/offload/webSeedGate.ts); /media/ never does.
  router.get(
    '/seed/:fileName',
    visible('webseed'),
    webSeedGate,
    countOrigin(origin, 'webseed'),
    serveMedia({ via: 'webseed' }),
  )
  // The file of a release: the route's fileName becomes the video's stored name, so that the
  // checks above (visibility, the gate, the byte counts) see the video whose file it is.
  const releaseFile = async (req: Request, res: Response, next: NextFunction) => {
    const found = await releases.resolveFile(String(req.params.folder), String(req.params.name))
    if (!found) return next(new AppError('not_found', 'No such file'))
    req.params.fileName = found.fileName
    res.locals.releasePath = found.path
    next()
  }
  router.get(
    '/media/:folder/:name',
    releaseFile,
    visible('playback'),
    countOrigin(origin, mediaVia),
    serveMedia({ via: 'playback' }),
  )
  router.get(
    '/seed/:folder/:name',
    releaseFile,
    visible('webseed'),
    webSeedGate,
    countOrigin(origin, 'webseed'),
    serveMedia({ via: 'webseed' }),
  )
  // BEP 47 pad files are zeros, never on disk; clients without BEP 47 (aria2c) fetch them too.
  router.get(
    '/seed/:folder/.pad/:length',
    async (req: Request, _res: Response, next: NextFunction) => {
      const found = await releases.resolveFile(String(req.params.folder), null)
      if (!found) return next(new AppError('not_found', 'No such file'))
      req.params.fileName = found.fileName
      next()
    },
    visible('webseed'),
    servePad,
  )
  router.get('/videos/:id/torrent', serveTorrent)
  router.get('/videos/:id/thumbnail', serveThumbnail)

  function serveMedia({ via }: MediaRoute) {
    const throttle = via === 'webseed' ? webSeedThrottle : null
    return (req: Request, res: Response, next: NextFunction) => sendMedia(req, res, next, throttle)
  }

  async function sendMedia(req: Request, res: Response, next: NextFunction, throttle: FairThrottle | null) {
    const fileName = String(req.params.fileName)
    // .torrent files and thumbnails live in the same folder but are served by video id, not here.
    if (sidecarOf(fileName)) return next(new AppError('not_found', 'No such file'))
    const full = (res.locals.releasePath as string | undefined) ?? resolveInside(paths.mediaDir, fileName)
    // Only regular files: a symlink placed in media/ could point anywhere on the machine.
    const info = await lstat(full).catch(() => null)
    if (!info?.isFile()) return next(new AppError('not_found', 'No such file'))
    // Browsers fetching pieces from the web seed (P2P playback) need CORS.
    res.set('Access-Control-Allow-Origin', '*')
    res.set('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges')
    // A private file must not be kept by shared caches (it would outlive its access check).
    const isPrivate = res.locals.privateFile === true
    if (isPrivate) res.set('Cache-Control', 'private, no-cache')
    // nginx sends the bytes, unless a web-seed cap is set: its fair share needs them to pass here.
    if (accelRedirect && (!throttle || settings.get().webSeedUploadCap === 0)) {
      res.set('X-Accel-Redirect', accelUri(accelRedirect, paths.mediaDir, full))
      res.type(path.extname(full))
      const conditional = req.headers['if-none-match'] || req.headers['if-modified-since']
      res.locals.sentByProxy = req.method === 'HEAD' || conditional ? 0 : accelBytes(req.headers.range, info.size)
      res.end()
      return
    }
    const options = {
      dotfiles: 'deny' as const,
      acceptRanges: true,
      lastModified: true,
      cacheControl: !isPrivate,
      // Caches must ask again (a cheap 304) each time: an unpublished video must not be served from one.
      maxAge: 0,
    }
    // Read through the cap even while it is 0 (a pass-through then), so a cap set later slows
    // transfers already running too.
    if (throttle) {
      const capped = throttledFs(throttle)
      res.once('close', capped.done)
      Object.assign(options, { fs: capped.fs })
    }
    res.sendFile(full, options, (err?: Error & { status?: number; code?: string; syscall?: string }) => {
      if (!err) return
      // The client went away (players cancel requests when they seek): nothing to answer or log.
      if (clientGone(err)) return
      if (err.code === 'ENOENT' || err.status === 404) return next(new AppError('not_found', 'No such file'))
      if (err.status === 416) return next(new AppError('range_not_satisfiable'))
      if (!res.headersSent) return next(err)
    })
  }

  function servePad(req: Request, res: Response, next: NextFunction) {
    const length = Number(req.params.length)
    if (!/^[1-9][0-9]{0,7}$/.test(String(req.params.length)) || length > MAX_PAD_BYTES)
      return next(new AppError('not_found', 'No such file'))
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '')
    let [start, end] = [0, length - 1]
    if (range) {
      start = Number(range[1])
      end = range[2] ? Math.min(Number(range[2]), length - 1) : length - 1
      if (start > end) return next(new AppError('range_not_satisfiable'))
      res.status(206).set('Content-Range', `bytes ${start}-${end}/${length}`)
    }
    res.set('Access-Control-Allow-Origin', '*')
    res.set('Accept-Ranges', 'bytes')
    res.type('application/octet-stream')
    res.end(req.method === 'HEAD' ? undefined : Buffer.alloc(end - start + 1))
  }

  // A private video's .torrent and thumbnail are its owner's and the admins', as its file is.
  async function visibleVideo(req: Request) {
    const id = String(req.params.id)
    const found = await videos.get(id)
    return found.published ? found : videos.getFor(await viewerOf(req), id)
  }

  async function serveThumbnail(req: Request, res: Response, next: NextFunction) {
    const video = await visibleVideo(req)
    const full = videos.thumbnailFile(video)
    const info = await lstat(full).catch(() => null)
    if (!info?.isFile()) throw new AppError('not_found', 'This video has no thumbnail')
    if (!video.published) res.set('Cache-Control', 'private, no-cache')
    const options = { dotfiles: 'deny' as const, lastModified: true, cacheControl: video.published, maxAge: 0 }
    res.sendFile(full, options, (err?: Error & { status?: number; code?: string; syscall?: string }) => {
      if (!err || clientGone(err)) return
      if (err.code === 'ENOENT' || err.status === 404) return next(new AppError('not_found', 'No such file'))
      if (!res.headersSent) next(err)
    })
  }

  async function serveTorrent(req: Request, res: Response) {
    const video = await visibleVideo(req)
    if (!settings.get().bittorrentEnabled) throw new AppError('bittorrent_off')
    const body = await videos.torrentBody(video)
    res.type('application/x-bittorrent')
    res.attachment(`${video.fileName}.torrent`)
    res.set('Cache-Control', 'no-cache')
    res.send(body)
  }

  return router
}
