// Serves stored media with Range support, and .torrent files: /media/ for the page's player and
// direct downloads (never capped; also the web seed of torrents made before /seed/ existed), and
// /seed/ for the BEP 19 web seed of the torrents, under the site's webSeedUploadCap.
import { Router } from 'express'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { AppError } from '../errors.ts'
import { lstat } from 'node:fs/promises'
import type { SettingsService } from '../admin/settingsService.ts'
import type { FairThrottle } from '../fairThrottle.ts'
import { resolveInside, type StoragePaths } from './storage.ts'
import { throttledFs } from './throttledRead.ts'
import type { VideoService } from './videoService.ts'
import { countOrigin, mediaVia } from '../offload/originCounter.ts'
import type { OffloadTally } from '../offload/offloadTally.ts'
import type { CurrentUser } from '../auth/authService.ts'
import { canSee } from '../auth/rights.ts'

/** Who asks for a private video's file (src/auth/middleware.ts fileViewer). */
type ViewerOf = (req: Request) => Promise<CurrentUser | undefined>

// What Express's own sendFile callback ignores: an aborted request, a failed write to the socket.
const clientGone = (err: { code?: string; syscall?: string }) => err.code === 'ECONNABORTED' || err.syscall === 'write'

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
  router.get('/videos/:id/torrent', serveTorrent)

  function serveMedia({ via }: MediaRoute) {
    const throttle = via === 'webseed' ? webSeedThrottle : null
    return (req: Request, res: Response, next: NextFunction) => sendMedia(req, res, next, throttle)
  }

  async function sendMedia(req: Request, res: Response, next: NextFunction, throttle: FairThrottle | null) {
    const fileName = String(req.params.fileName)
    // .torrent files live in the same folder but are served by id, not here.
    if (fileName.endsWith('.torrent')) return next(new AppError('not_found', 'No such file'))
    const full = resolveInside(paths.mediaDir, fileName)
    // Only regular files: a symlink placed in media/ could point anywhere on the machine.
    const info = await lstat(full).catch(() => null)
    if (!info?.isFile()) return next(new AppError('not_found', 'No such file'))
    // Browsers fetching pieces from the web seed (P2P playback) need CORS.
    res.set('Access-Control-Allow-Origin', '*')
    res.set('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges')
    // A private file must not be kept by shared caches (it would outlive its access check).
    const isPrivate = res.locals.privateFile === true
    if (isPrivate) res.set('Cache-Control', 'private, no-cache')
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

  async function serveTorrent(req: Request, res: Response) {
    const id = String(req.params.id)
    const found = await videos.get(id)
    const video = found.published ? found : await videos.getFor(await viewerOf(req), id)
    if (!settings.get().bittorrentEnabled) throw new AppError('bittorrent_off')
    const body = await videos.torrentBody(video)
    res.type('application/x-bittorrent')
    res.attachment(`${video.fileName}.torrent`)
    res.set('Cache-Control', 'no-cache')
    res.send(body)
  }

  return router
}
