// One error type for the whole app: a stable code for clients, an HTTP status, a message for people.
import type { ErrorRequestHandler } from 'express'
import { ERROR_CATALOGUE, type ErrorCode } from './errorCatalogue.ts'

export class AppError extends Error {
  code: ErrorCode
  status: number
  /** Sent as Retry-After (seconds) with 429 and 503. */
  retryAfterSeconds?: number
  /** The status comes from the code; the message defaults to the catalogue's. */
  constructor(
    code: ErrorCode,
    message: string = ERROR_CATALOGUE[code].message,
    opts: { retryAfterSeconds?: number } = {},
  ) {
    super(message)
    this.status = ERROR_CATALOGUE[code].status
    this.code = code
    this.retryAfterSeconds = opts.retryAfterSeconds
  }
}

export const tooManyAttempts = (retryAfterSeconds: number) =>
  new AppError(
    'too_many_attempts',
    `Too many wrong passwords or tokens from your address; try again in ${describeWait(retryAfterSeconds)}`,
    { retryAfterSeconds },
  )
export const passwordCheckBusy = () => new AppError('busy', undefined, { retryAfterSeconds: 1 })
export const insufficientStorage = () => new AppError('insufficient_storage')
export const bodyTooSlow = (minKib: number, windowSeconds: number) =>
  new AppError('body_too_slow', `The request body arrived too slowly (less than ${minKib} KiB in ${windowSeconds} s)`)

function describeWait(seconds: number): string {
  return seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`
}

/** A full disk (or quota) while writing: the client is told so, not that its request was bad. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}

// The 4xx statuses that body-parser, send and friends use, to the catalogue's code for each.
const CLIENT_ERROR_CODES: Record<number, ErrorCode> = {
  403: 'forbidden',
  404: 'not_found',
  413: 'too_large',
  415: 'unsupported_media_type',
  416: 'range_not_satisfiable',
}

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err
  if (isDiskFull(err)) return insufficientStorage()
  const e = err as { type?: string; status?: number; message?: string }
  // body-parser and friends set `type`/`status` on their errors.
  if (e && e.type === 'entity.too.large') return new AppError('too_large')
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError(CLIENT_ERROR_CODES[e.status] ?? 'bad_request', e.message ?? 'Bad request')
  }
  return new AppError('internal')
}

function wantsJson(req: Parameters<ErrorRequestHandler>[1]): boolean {
  // oEmbed is an API of its own (src/sharing/): its consumers read JSON errors too.
  const { originalUrl: url } = req
  return url.startsWith('/api/') || url === '/healthz' || url.startsWith('/oembed') || !req.accepts('html')
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const appErr = toAppError(err)
  // A full disk is the admin's to fix: one line, no stack. A 503 is a bound refusing (counted in /metrics).
  if (appErr.status === 507)
    console.error(`[error] ${req.method} ${req.originalUrl}: storage full: ${(err as Error).message}`)
  else if (appErr.status >= 500 && appErr.status !== 503)
    console.error(`[error] ${req.method} ${req.originalUrl}:`, err)
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (appErr.status === 401 && req.originalUrl.startsWith('/api/')) {
    res.set('WWW-Authenticate', 'Basic realm="Seedcast", charset="UTF-8"')
  }
  if (appErr.retryAfterSeconds !== undefined) res.set('Retry-After', String(appErr.retryAfterSeconds))
  res.status(appErr.status)
  if (wantsJson(req)) {
    res.json({ error: { code: appErr.code, message: appErr.message } })
  } else {
    res.render('error', { title: `Error ${appErr.status}`, error: appErr })
  }
}

/**
 * For replies written outside Express (the HTTP server's own guards): the same JSON body, or a
 * bare page for browsers. The connection closes after it.
 */
export function rawErrorReply(
  accept: string | undefined,
  err: AppError,
): { status: number; headers: Record<string, string>; body: string } {
  const html = /text\/html/.test(accept ?? '')
  const body = html
    ? `<!doctype html><title>Error ${err.status}</title><p>${err.message.replace(/[<>&]/g, '')}</p>\n`
    : JSON.stringify({ error: { code: err.code, message: err.message } })
  return {
    status: err.status,
    headers: {
      'Content-Type': html ? 'text/html; charset=utf-8' : 'application/json; charset=utf-8',
      Connection: 'close',
      'Content-Length': String(Buffer.byteLength(body)),
    },
    body,
  }
}
