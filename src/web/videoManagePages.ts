// Managing a video from its page, for its owner and admins: edit title and description, publish
// or unpublish, delete (after a confirmation page). VideoService decides who may (404 for a video
// one cannot see, 403 for one that is not theirs); every post carries the session's CSRF token.
import { Router, urlencoded } from 'express'
import type { Request, RequestHandler, Response } from 'express'
import { currentUser, requireCsrf, requirePageLogin } from '../auth/middleware.ts'
import type { AppError } from '../errors.ts'
import type { VideoRow } from '../media/videoRepository.ts'
import type { VideoService } from '../media/videoService.ts'
import { editFormSchemas, editFormValidator } from '../media/videoValidators.ts'
import { validated } from '../validate.ts'
import { formSteps } from './formSteps.ts'

export function videoManagePages(videos: VideoService): Router {
  const router = Router()
  // A 10,000-character description percent-encoded is up to ~90 kB.
  const form = urlencoded({ extended: false, limit: '256kb' })
  const login = requirePageLogin()
  const post = (path: string, ...steps: RequestHandler[]) => router.post(path, login, form, requireCsrf(), ...steps)
  router.get('/videos/:id/edit', login, managed, editForm)
  post('/videos/:id/edit', managed, formSteps(showEditRefusal, editFormValidator, saveEdit))
  post('/videos/:id/publish', setPublished(true))
  post('/videos/:id/unpublish', setPublished(false))
  router.get('/videos/:id/delete', login, managed, confirmDelete)
  post('/videos/:id/delete', deleteVideo)

  const id = (req: Request) => String(req.params.id)
  const page = (video: { id: string }) => `/videos/${encodeURIComponent(video.id)}`

  /** The video the user may manage, for the handlers after it (refusals go to the error page). */
  async function managed(req: Request, res: Response, next: (err?: unknown) => void) {
    res.locals.managed = await videos.getManaged(currentUser(res), id(req))
    next()
  }
  const video = (res: Response) => res.locals.managed as VideoRow

  function renderEdit(res: Response, values: { title: string; description: string }, error: string | null) {
    const v = video(res)
    res.render('video-edit', { title: `Edit ${v.title}`, video: { id: v.id, title: v.title }, values, error })
  }

  function editForm(_req: Request, res: Response) {
    const v = video(res)
    renderEdit(res, { title: v.title, description: v.description }, null)
  }

  async function saveEdit(req: Request, res: Response) {
    const { title, description } = validated(res, editFormSchemas).body
    // Title and description only: the torrent, and with it the infohash, stays as it is.
    const saved = await videos.update(currentUser(res), id(req), { title, description })
    res.redirect(303, page(saved))
  }

  function showEditRefusal(err: AppError, req: Request, res: Response) {
    const body = (req.body ?? {}) as Record<string, unknown>
    const typed = (k: string) => (typeof body[k] === 'string' ? body[k] : '')
    renderEdit(res, { title: typed('title'), description: typed('description') }, err.message)
  }

  function setPublished(published: boolean): RequestHandler {
    return async (req, res) => {
      const saved = await videos.update(currentUser(res), id(req), { published })
      res.redirect(303, page(saved))
    }
  }

  function confirmDelete(_req: Request, res: Response) {
    const v = video(res)
    res.render('video-delete', {
      title: `Delete ${v.title}`,
      video: { id: v.id, title: v.title, published: v.published },
    })
  }

  async function deleteVideo(req: Request, res: Response) {
    await videos.deleteFor(currentUser(res), id(req))
    res.redirect(303, '/?done=deleted')
  }

  return router
}
