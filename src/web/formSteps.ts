// Form posts whose refusals show the form again (the reason beside it, what was typed kept)
// instead of the error page. Only the steps given here: a missing login or a forged post (no CSRF
// token) before them still gets the plain error page.
import { Router, urlencoded } from 'express'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { requireCsrf } from '../auth/middleware.ts'
import { type AppError, toAppError } from '../errors.ts'

/** Renders the form again; the status (and Retry-After) are set already. */
type ShowForm = (err: AppError, req: Request, res: Response) => unknown

export function formSteps(show: ShowForm, ...steps: RequestHandler[]): Router {
  // mergeParams: the steps read the route's :id.
  return Router({ mergeParams: true }).use(
    ...steps,
    async (err: unknown, req: Request, res: Response, next: NextFunction) => {
      const appErr = toAppError(err)
      // A fault of the site is the error page's (and its log line); "busy, try again" is the form's.
      if (appErr.status >= 500 && appErr.code !== 'busy') return next(err)
      if (appErr.retryAfterSeconds !== undefined) res.set('Retry-After', String(appErr.retryAfterSeconds))
      res.status(appErr.status)
      await show(appErr, req, res)
    },
  )
}

/**
 * How a page router declares its form posts: `guard` (the login it needs), the urlencoded body,
 * the session's CSRF token, then `steps` under formSteps(show). One place, so no form forgets one.
 */
export function formPosts(router: Router, guard: RequestHandler) {
  const form = urlencoded({ extended: false, limit: '16kb' })
  return (path: string, show: ShowForm, ...steps: RequestHandler[]) =>
    router.post(path, guard, form, requireCsrf(), formSteps(show, ...steps))
}

/** The notice a redirect after a post names (`?done=added`): fixed texts only, so a link cannot put words on the page. */
export function fixedNotice<K extends string>(notices: Record<K, string>, done: unknown): string | null {
  return typeof done === 'string' && Object.hasOwn(notices, done) ? notices[done as K] : null
}
