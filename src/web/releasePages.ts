// A release's files from the video page: its owner or an admin adds extra files (multipart, the
// CSRF token in the query as on the upload form) and removes them; an admin stops seeding a
// previous torrent. Each change redirects to the page, which says what happened.
import { Router } from 'express'
import type { Request, RequestHandler, Response } from 'express'
import { currentUser, requirePageLogin } from '../auth/middleware.ts'
import type { AppError } from '../errors.ts'
import type { ReleaseService } from '../media/releaseService.ts'
import { discardUpload, receivedExtras } from '../media/uploadMiddleware.ts'
import { formPosts } from './formSteps.ts'

/** The notices of the video page after these posts (`?done=`). */
export const RELEASE_NOTICES = {
  'files-added': 'The files were added: this video has a new torrent (new infohash).',
  'file-removed': 'The file was removed: this video has a new torrent (new infohash).',
  'torrent-removed': 'The old torrent is no longer seeded or tracked.',
} as const

export function releasePages(releases: ReleaseService, receiveExtras: RequestHandler): Router {
  const router = Router()
  const post = formPosts(router, requirePageLogin())
  const id = (req: Request) => String(req.params.id)
  const back = (res: Response, req: Request, done: keyof typeof RELEASE_NOTICES) =>
    res.redirect(303, `/videos/${encodeURIComponent(id(req))}?done=${done}`)

  post('/videos/:id/files', refused, receiveExtras, async (req: Request, res: Response) => {
    try {
      await releases.addFiles(currentUser(res), id(req), receivedExtras(req))
    } finally {
      await discardUpload(req)
    }
    back(res, req, 'files-added')
  })
  post('/videos/:id/files/:name/remove', refused, async (req: Request, res: Response) => {
    await releases.removeFile(currentUser(res), id(req), String(req.params.name))
    back(res, req, 'file-removed')
  })
  post('/videos/:id/torrents/:infoHash/remove', refused, async (req: Request, res: Response) => {
    await releases.removeRetired(currentUser(res), id(req), String(req.params.infoHash))
    back(res, req, 'torrent-removed')
  })

  function refused(err: AppError, req: Request, res: Response) {
    res.render('release-refused', { title: 'The files were not changed', error: err.message, videoId: id(req) })
  }

  return router
}
