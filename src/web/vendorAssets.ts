// Browser builds of packages the pages use, served by the site itself (no CDN: the pages' policy
// allows scripts from 'self' only): webtorrent's client (an ES module) and its service worker,
// which turns the page's <video> requests into reads from the torrent, and the upload page's tus
// client. The worker lives under /static/vendor/ but controls the video pages (/videos/…: the page
// and the embed), which Service-Worker-Allowed permits. import.meta.resolve finds each package
// wherever npm put it.
import { Router } from 'express'
import { fileURLToPath } from 'node:url'

/** The service worker's scope (views/public/p2p-player.js registers it so): every page that plays a video. */
const PLAYER_SCOPE = '/videos/'

// Literal specifiers, so that knip sees each dependency.
const FILES: Record<string, { url: string; headers?: Record<string, string> }> = {
  'webtorrent.min.js': { url: import.meta.resolve('webtorrent/dist/webtorrent.min.js') },
  'webtorrent-sw.js': {
    url: import.meta.resolve('webtorrent/dist/sw.min.js'),
    headers: { 'Service-Worker-Allowed': PLAYER_SCOPE },
  },
  'tus.min.js': { url: import.meta.resolve('tus-js-client/dist/tus.min.js') },
}

export function vendorAssets(): Router {
  const router = Router()
  for (const [name, { url, headers }] of Object.entries(FILES)) {
    const path = fileURLToPath(url)
    router.get(`/static/vendor/${name}`, (_req, res, next) => {
      res.sendFile(
        path,
        { maxAge: '1h', headers: { 'Content-Type': 'text/javascript; charset=utf-8', ...headers } },
        (err) => {
          if (err) next(err)
        },
      )
    })
  }
  return router
}
