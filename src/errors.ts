// One error type for the whole app: a stable code for clients, an HTTP status, a message for people.
import type { ErrorRequestHandler } from 'express'

export class AppError extends Error {
  code: string
  status: number
  constructor(status: number, code: string, message: string) {
    super(message)
    this.status = status
    this.code = code
  }
}

export const badRequest = (message: string, code = 'bad_request') => new AppError(400, code, message)
export const notFound = (message = 'Not found', code = 'not_found') => new AppError(404, code, message)
export const unauthorized = (message = 'Authentication required') => new AppError(401, 'unauthorized', message)
export const forbidden = (message = 'Forbidden') => new AppError(403, 'forbidden', message)

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err
  const e = err as { type?: string; status?: number; message?: string }
  // body-parser and friends set `type`/`status` on their errors.
  if (e && e.type === 'entity.too.large') return new AppError(413, 'too_large', 'Request body too large')
  if (e && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
    return new AppError(e.status, 'bad_request', e.message ?? 'Bad request')
  }
  return new AppError(500, 'internal', 'Internal server error')
}

function wantsJson(req: Parameters<ErrorRequestHandler>[1]): boolean {
  return req.originalUrl.startsWith('/api/') || req.originalUrl === '/healthz' || !req.accepts('html')
}

export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const appErr = toAppError(err)
  if (appErr.status >= 500) console.error(`[error] ${req.method} ${req.originalUrl}:`, err)
  if (res.headersSent) { res.destroy(); return }
  if (appErr.status === 401 && req.originalUrl.startsWith('/api/')) {
    res.set('WWW-Authenticate', 'Basic realm="Seedcast", charset="UTF-8"')
  }
  res.status(appErr.status)
  if (wantsJson(req)) {
    res.json({ error: { code: appErr.code, message: appErr.message } })
  } else {
    res.render('error', { title: `Error ${appErr.status}`, error: appErr })
  }
}
