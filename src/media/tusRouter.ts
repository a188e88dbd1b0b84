// The routes of resumable uploads. `/api/uploads` is the API's (Basic or Bearer, as
// POST /api/videos); `/uploads` is the same engine for the upload page, under its login session,
// with the session's CSRF token in an `X-CSRF-Token` header on every change (the API ignores
// cookies, so the page cannot use it; a header of the page's own cannot come from another site).
import { Router } from 'express'
import type { Request, RequestHandler, Response } from 'express'
import { AppError } from '../errors.ts'
import { apiUser, currentUser, requireApiUser, requireCsrf } from '../auth/middleware.ts'
import type { CurrentUser } from '../auth/authService.ts'
import type { ResumableUploads } from './tusUploads.ts'

const API_UPLOADS = '/api/uploads'
const PAGE_UPLOADS = '/uploads'

// A refused request's body (maybe gigabytes) is not read: the connection closes after the answer.
function refuse(res: Response, err: AppError): AppError {
  res.set('Connection', 'close')
  return err
}

export function tusRouter(uploads: ResumableUploads): Router {
  const router = Router()
  const pageUser: RequestHandler = (_req, res, next) =>
    next(currentUser(res) ? undefined : refuse(res, new AppError('unauthorized', 'Log in again to upload')))

  const routes = [
    { base: API_UPLOADS, who: apiUser, signedIn: [requireApiUser()] },
    { base: PAGE_UPLOADS, who: currentUser, signedIn: [pageUser] },
  ]
  for (const { base, who, signedIn } of routes) {
    const csrf = base === PAGE_UPLOADS ? [requireCsrf()] : []
    const user = (res: Response) => who(res) as CurrentUser
    const create: RequestHandler = (_req, res, next) => {
      try {
        uploads.checkRoom(user(res))
        next()
      } catch (err) {
        next(refuse(res, err as AppError))
      }
    }
    const own: RequestHandler = async (req, res, next) => {
      try {
        await uploads.checkOwner(user(res), String(req.params.id))
        next()
      } catch (err) {
        next(refuse(res, err as AppError))
      }
    }
    const engine = async (req: Request, res: Response) => {
      await uploads.handle(base, user(res), req, res)
      if (req.method === 'DELETE' && res.statusCode === 204) uploads.dropped(String(req.params.id))
    }
    // Discovery (tus versions, extensions, the size limit) needs no account.
    router.options(base, (req, res) => uploads.handle(base, undefined, req, res))
    router.post(base, ...signedIn, ...csrf, create, engine)
    router.head(`${base}/:id`, ...signedIn, own, engine)
    router.patch(`${base}/:id`, ...signedIn, ...csrf, own, engine)
    router.delete(`${base}/:id`, ...signedIn, ...csrf, own, engine)
  }
  return router
}
