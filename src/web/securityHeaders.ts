// Headers on every answer from Express. The pages load scripts and styles from /static only (no
// inline code or style attributes: views/ keeps it that way), so the policy allows nothing else;
// the player and charts load media from PUBLIC_URL, which may be another origin than the one the
// page was reached on.
import type { RequestHandler } from 'express'

function contentSecurityPolicy(publicUrl: string): string {
  const site = new URL(publicUrl).origin
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src 'self' data: ${site}`,
    `media-src 'self' ${site}`,
    `connect-src 'self' ${site}`,
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
