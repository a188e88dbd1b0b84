// Who is asking: a login session (browser, cookie + CSRF token) or HTTP Basic credentials (API).
import { timingSafeEqual } from 'node:crypto'
import { parse as parseCookies } from 'cookie'
import type { Request, RequestHandler, Response } from 'express'
import { AppError } from '../errors.ts'
import { addressKey } from '../web/clientAddress.ts'
import type { AuthService, CurrentUser, LoginSession } from './authService.ts'

export const SESSION_COOKIE = 'seedcast_session'

function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie
  // A value that is not valid percent-encoding comes back as sent, and so matches no session
  // (it was a 500 on every page).
  return header ? parseCookies(header)[name] : undefined
}

/** Who is asking, for per-address bounds: the TCP peer, or with TRUST_PROXY the proxy's word (req.ip). */
export function clientKey(req: Request): string {
  return addressKey(req.ip ?? req.socket.remoteAddress)
}

export function currentUser(res: Response): CurrentUser | undefined {
  return res.locals.user as CurrentUser | undefined
}

export function currentSession(res: Response): LoginSession | undefined {
  return res.locals.session as LoginSession | undefined
}

/** Loads the login session, if any, for pages (and makes user/csrfToken available to views). */
export function loadSession(auth: AuthService): RequestHandler {
  return async (req, res, next) => {
    const id = readCookie(req, SESSION_COOKIE)
    const session = id ? await auth.findSession(id) : null
    res.locals.session = session ?? undefined
    res.locals.user = session?.user
    res.locals.csrfToken = session?.csrfToken
    next()
  }
}

function parseBasic(header: string | undefined): { username: string; password: string } | null {
  if (!header || !/^basic /i.test(header)) return null
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return null
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/** API endpoints for admins: HTTP Basic credentials. */
export function requireApiAdmin(auth: AuthService): RequestHandler {
  return async (req, res, next) => {
    const refuse = (err: unknown) => {
      // A refused upload's body (gigabytes, maybe) is not read: the connection closes after the answer.
      if (req.headers['content-length'] || req.headers['transfer-encoding']) res.set('Connection', 'close')
      next(err)
    }
    const credentials = parseBasic(req.headers.authorization)
    if (!credentials) return refuse(new AppError('unauthorized', 'HTTP Basic authentication required'))
    const user = await auth
      .authenticate(clientKey(req), credentials.username, credentials.password)
      .catch((err: unknown) => err as Error)
    if (user instanceof Error) return refuse(user)
    if (!user) return refuse(new AppError('unauthorized', 'Wrong user name or password'))
    if (user.role !== 'admin') return refuse(new AppError('forbidden', 'Admin role required'))
    res.locals.user = user
    next()
  }
}

/** Pages that need a login: send the browser to the login form, then back. */
export function requirePageLogin(role?: 'admin'): RequestHandler {
  return (req, res, next) => {
    const user = currentUser(res)
    if (!user) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`)
    if (role && user.role !== role) return next(new AppError('forbidden', 'Admin role required'))
    next()
  }
}

/** Compares in constant time, so response timing does not reveal how much of a guess was right. */
function sameSecret(offered: string | undefined, expected: string): boolean {
  if (offered === undefined) return false
  const a = Buffer.from(offered)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** State-changing form posts carry the session's CSRF token, in the body or the query string. */
export function requireCsrf(): RequestHandler {
  return (req, res, next) => {
    const session = currentSession(res)
    const body = req.body as Record<string, unknown> | undefined
    const token =
      (typeof body?._csrf === 'string' ? body._csrf : undefined) ??
      (typeof req.query._csrf === 'string' ? req.query._csrf : undefined)
    if (!session || !sameSecret(token, session.csrfToken)) return next(new AppError('csrf'))
    next()
  }
}
