// Serves stored media (player, downloads, BEP 19 web seed) with Range support, and .torrent files.
import { Router } from 'express'
import type { NextFunction, Request, Response } from 'express'
import { AppError, notFound } from '../errors.ts'
import { torrentPathFor } from '../torrent/torrentWriter.ts'
import { resolveInside, type StoragePaths } from './storage.ts'
import type { VideoService } from './videoService.ts'

// What Express's own sendFile callback ignores: an aborted request, a failed write to the socket.
const clientGone = (err: { code?: string; syscall?: string }) => err.code === 'ECONNABORTED' || err.syscall === 'write'

export function fileRouter(paths: StoragePaths, videos: VideoService): Router {
  const router = Router()
  router.get('/media/:fileName', serveMedia)
  router.get('/videos/:id/torrent', serveTorrent)

  function serveMedia(req: Request, res: Response, next: NextFunction) {
    const fileName = String(req.params.fileName)
    // .torrent files live in the same folder but are served by id, not here.
    if (fileName.endsWith('.torrent')) return next(notFound('No such file'))
    const full = resolveInside(paths.mediaDir, fileName)
    // Browsers fetching pieces from the web seed (P2P playback) need CORS.
    res.set('Access-Control-Allow-Origin', '*')
    res.set('Access-Control-Expose-Headers', 'Content-Range, Content-Length, Accept-Ranges')
    res.sendFile(full, { dotfiles: 'deny', acceptRanges: true, lastModified: true, cacheControl: true, maxAge: '1h' }, (err?: Error & { status?: number; code?: string; syscall?: string }) => {
      if (!err) return
      // The client went away (players cancel requests when they seek): nothing to answer or log.
      if (clientGone(err)) return
      if (err.code === 'ENOENT' || err.status === 404) return next(notFound('No such file'))
      if (err.status === 416) return next(new AppError(416, 'range_not_satisfiable', 'Requested range not satisfiable'))
      if (!res.headersSent) return next(err)
    })
  }

  async function serveTorrent(req: Request, res: Response, next: NextFunction) {
    const video = await videos.get(String(req.params.id))
    if (!video.torrent || video.status !== 'ready') throw new AppError(404, 'no_torrent', 'This video has no torrent (yet)')
    const full = torrentPathFor(resolveInside(paths.mediaDir, video.fileName))
    res.type('application/x-bittorrent')
    res.attachment(`${video.fileName}.torrent`)
    res.sendFile(full, { dotfiles: 'deny' }, (err?: Error & { code?: string; syscall?: string }) => {
      if (!err || clientGone(err)) return
      if (err.code === 'ENOENT') return next(new AppError(404, 'no_torrent', 'The .torrent file is missing'))
      if (!res.headersSent) next(err)
    })
  }

  return router
}
