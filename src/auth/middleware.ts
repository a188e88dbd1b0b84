// Who is asking, per kind of route:
// - pages: the login session's cookie only (state-changing posts also carry its CSRF token);
// - the API (/api/): HTTP Basic or `Authorization: Bearer <token>` only; a cookie there is ignored,
//   so a cross-site request riding on a browser's login can do nothing;
// - files (/media/, /videos/:id/torrent) of private videos: either, read-only.
import { timingSafeEqual } from 'node:crypto'
import { parse as parseCookies } from 'cookie'
import type { Request, RequestHandler, Response } from 'express'
import { AppError } from '../errors.ts'
// The same key as every per-address bound of the site (see web/clientAddress.ts).
import { socketAddressKey as addressKey } from '../bittorrent/address.ts'
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

/** The page's logged-in user (cookie), if any. */
export function currentUser(res: Response): CurrentUser | undefined {
  return res.locals.user as CurrentUser | undefined
}

/** The API caller (Basic or Bearer), if any. */
export function apiUser(res: Response): CurrentUser | undefined {
  return res.locals.apiUser as CurrentUser | undefined
}

export function currentSession(res: Response): LoginSession | undefined {
  return res.locals.session as LoginSession | undefined
}

/** Loads the login session, if any, for pages (and makes user/csrfToken available to views). */
export function loadSession(auth: AuthService): RequestHandler {
  return async (req, res, next) => {
    if (req.path.startsWith('/api/')) return next()
    const id = readCookie(req, SESSION_COOKIE)
    const session = id ? await auth.findSession(id) : null
    res.locals.session = session ?? undefined
    res.locals.user = session?.user
    res.locals.csrfToken = session?.csrfToken
    next()
  }
}

function parseBasic(header: string): { username: string; password: string } | null {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon < 0) return null
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) }
}

/**
 * The user an Authorization header names: undefined without one; 401 for wrong credentials or an
 * unknown scheme, 403 for a disabled account, 429 once the address has failed too often.
 */
async function credentialsUser(auth: AuthService, req: Request): Promise<CurrentUser | undefined> {
  const header = req.headers.authorization
  if (!header) return undefined
  if (/^basic /i.test(header)) {
    const credentials = parseBasic(header)
    const user = credentials
      ? await auth.authenticate(clientKey(req), credentials.username, credentials.password)
      : null
    if (!user) throw new AppError('unauthorized', 'Wrong user name or password')
    return user
  }
  if (/^bearer /i.test(header)) {
    const user = await auth.authenticateToken(clientKey(req), header.slice(7).trim())
    if (!user) throw new AppError('unauthorized', 'Unknown or revoked API token')
    return user
  }
  throw new AppError('unauthorized', 'Use HTTP Basic or an API token (Authorization: Bearer …)')
}

// A refused upload's body (gigabytes, maybe) is not read: the connection closes after the answer.
function closeIfBody(req: Request, res: Response): void {
  if (req.headers['content-length'] || req.headers['transfer-encoding']) res.set('Connection', 'close')
}

/** For /api/: reads the Authorization header (never the cookie) into apiUser(res). */
export function apiCredentials(auth: AuthService): RequestHandler {
  return async (req, res, next) => {
    try {
      res.locals.apiUser = await credentialsUser(auth, req)
      next()
    } catch (err) {
      closeIfBody(req, res)
      next(err)
    }
  }
}

/** API endpoints that need an account (any role, or `role`). */
export function requireApiUser(role?: 'admin'): RequestHandler {
  return (req, res, next) => {
    const user = apiUser(res)
    const refusal = !user
      ? new AppError('unauthorized', 'Log in with HTTP Basic or an API token (Authorization: Bearer …)')
      : role && user.role !== role
        ? new AppError('forbidden', 'Admin role required')
        : undefined
    if (refusal) closeIfBody(req, res)
    next(refusal)
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

/**
 * Who asks for a private video's file or .torrent: an Authorization header (scripts) or else the
 * login cookie (the page's player). Only asked for private videos, so public files cost no lookup.
 * Refused credentials (wrong, disabled, throttled) make no viewer: a 401 here, asked only for
 * private files, would tell a stranger that a private video is there, where anyone else gets the
 * 404 of a file never stored. The failure still counts against the address.
 */
export function fileViewer(auth: AuthService): (req: Request) => Promise<CurrentUser | undefined> {
  return async (req) => {
    if (req.headers.authorization)
      return credentialsUser(auth, req).catch((err: unknown) => {
        if (err instanceof AppError) return undefined
        throw err
      })
    const id = readCookie(req, SESSION_COOKIE)
    return id ? ((await auth.findSession(id))?.user ?? undefined) : undefined
  }
}

/** Compares in constant time, so response timing does not reveal how much of a guess was right. */
function sameSecret(offered: string | undefined, expected: string): boolean {
  if (offered === undefined) return false
  const a = Buffer.from(offered)
  const b = Buffer.from(expected)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * State-changing form posts carry the session's CSRF token, in the body or the query string; the
 * page's scripts (resumable uploads) send it as an `X-CSRF-Token` header.
 */
export function requireCsrf(): RequestHandler {
  return (req, res, next) => {
    const session = currentSession(res)
    const body = req.body as Record<string, unknown> | undefined
    const token =
      (typeof body?._csrf === 'string' ? body._csrf : undefined) ??
      (typeof req.query._csrf === 'string' ? req.query._csrf : undefined) ??
      (typeof req.headers['x-csrf-token'] === 'string' ? req.headers['x-csrf-token'] : undefined)
    if (!session || !sameSecret(token, session.csrfToken)) return next(new AppError('csrf'))
    next()
  }
}
