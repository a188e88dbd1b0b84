// Serves stored media (player, downloads, BEP 19 web seed) with Range support, and .torrent files.
import { Router } from 'express'
import type { NextFunction, Request, Response } from 'express'
import { AppError } from '../errors.ts'
import { constants } from 'node:fs'
import { lstat, readFile } from 'node:fs/promises'
import type { SettingsService } from '../admin/settingsService.ts'
import { retrackTorrent } from '../bittorrent/metainfo.ts'
import { torrentPathFor } from './torrentWriter.ts'
import { resolveInside, type StoragePaths } from './storage.ts'
import { linksDiffer, torrentLinks } from './torrentLinks.ts'
import type { VideoService } from './videoService.ts'
import { countOrigin, mediaVia } from '../offload/originCounter.ts'
import type { OffloadTally } from '../offload/offloadTally.ts'

// What Express's own sendFile callback ignores: an aborted request, a failed write to the socket.
const clientGone = (err: { code?: string; syscall?: string }) => err.code === 'ECONNABORTED' || err.syscall === 'write'

export function fileRouter(
  paths: StoragePaths,
  videos: VideoService,
  settings: SettingsService,
  origin: OffloadTally,
): Router {
  const router = Router()
  // Bytes sent are counted per file and `via` (src/offload/originCounter.ts): a web seed route of
  // its own counts as `countOrigin(origin, 'webseed')`; here, BitTorrent clients by User-Agent.
  router.get('/media/:fileName', countOrigin(origin, mediaVia), serveMedia)
  router.get('/videos/:id/torrent', serveTorrent)

  async function serveMedia(req: Request, res: Response, next: NextFunction) {
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
    res.sendFile(
      full,
      { dotfiles: 'deny', acceptRanges: true, lastModified: true, cacheControl: true, maxAge: '1h' },
      (err?: Error & { status?: number; code?: string; syscall?: string }) => {
        if (!err) return
        // The client went away (players cancel requests when they seek): nothing to answer or log.
        if (clientGone(err)) return
        if (err.code === 'ENOENT' || err.status === 404) return next(new AppError('not_found', 'No such file'))
        if (err.status === 416) return next(new AppError('range_not_satisfiable'))
        if (!res.headersSent) return next(err)
      },
    )
  }

  async function serveTorrent(req: Request, res: Response) {
    const video = await videos.get(String(req.params.id))
    const current = settings.get()
    if (!current.bittorrentEnabled) throw new AppError('bittorrent_off')
    if (!video.torrent || video.status !== 'ready') throw new AppError('no_torrent', 'This video has no torrent (yet)')
    const full = torrentPathFor(resolveInside(paths.mediaDir, video.fileName))
    // O_NOFOLLOW: a symlink in its place is refused (ELOOP), not followed.
    let body: Buffer = await readFile(full, { flag: constants.O_RDONLY | constants.O_NOFOLLOW }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ELOOP')
          throw new AppError('no_torrent', 'The .torrent file is missing')
        throw err
      },
    )
    // The background rewrite has not reached this file yet: hand out what it will write.
    const want = torrentLinks(current, videos.urls, video)
    if (linksDiffer(video.torrent, want)) body = retrackTorrent(body, want)
    res.type('application/x-bittorrent')
    res.attachment(`${video.fileName}.torrent`)
    res.set('Cache-Control', 'no-cache')
    res.send(body)
  }

  return router
}
