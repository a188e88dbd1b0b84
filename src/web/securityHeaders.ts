// Headers on every answer from Express. The pages load scripts and styles from /static only (no
// inline code or style attributes: views/ keeps it that way), so the policy allows nothing else;
// the player and charts load media from PUBLIC_URL, which may be another origin than the one the
// page was reached on. The player's WebTorrent client announces to the site's WebSocket tracker
// (ws(s)://PUBLIC_URL/announce), and its peers talk WebRTC, which the policy does not govern.
import type { RequestHandler } from 'express'
import { AppError } from '../errors.ts'

function contentSecurityPolicy(publicUrl: string): string {
  const site = new URL(publicUrl).origin
  const wsSite = site.replace(/^http/, 'ws')
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: ${site}`,
    `media-src 'self' ${site}`,
    `connect-src 'self' ${site} ${wsSite}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'self'",
  ].join('; ')
}

export function securityHeaders(publicUrl: string): RequestHandler {
  const csp = contentSecurityPolicy(publicUrl)
  // Only when the site is served over TLS: browsers then refuse plain HTTP to it for a year.
  const hsts = publicUrl.startsWith('https:') ? 'max-age=31536000' : null
  return (_req, res, next) => {
    res.set('X-Content-Type-Options', 'nosniff')
    res.set('Referrer-Policy', 'same-origin')
    res.set('X-Frame-Options', 'SAMEORIGIN')
    res.set('Content-Security-Policy', csp)
    if (hsts) res.set('Strict-Transport-Security', hsts)
    next()
  }
}

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Refuses state-changing requests that a browser says come from another site: a forged form post
 * (Origin or Sec-Fetch-Site), the log-in form included, which has no session to carry a CSRF
 * token yet, and the API, where a browser may have cached Basic credentials. Scripts send neither
 * header and are not affected; the pages' own forms are same-origin.
 */
export function refuseCrossSite(publicUrl: string): RequestHandler {
  const site = new URL(publicUrl).origin
  return (req, _res, next) => {
    if (!UNSAFE_METHODS.has(req.method)) return next()
    const fetchSite = req.headers['sec-fetch-site']
    const origin = req.headers.origin
    const sameOrigin = (o: string) => o === site || o === `${req.protocol}://${req.get('host')}`
    const crossSite =
      (typeof fetchSite === 'string' && fetchSite !== 'same-origin' && fetchSite !== 'none') ||
      (typeof origin === 'string' && !sameOrigin(origin))
    next(crossSite ? new AppError('csrf', 'Cross-site requests are refused; use the form on this site') : undefined)
  }
}
