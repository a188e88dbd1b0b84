// The browser build of webtorrent, served by the site itself (no CDN: the pages' policy allows
// scripts from 'self' only): the client (an ES module) and its service worker, which turns the
// page's <video> requests into reads from the torrent. The worker lives under /static/vendor/ but
// controls the video pages (/videos/…: the page and the embed), which Service-Worker-Allowed permits.
import { Router } from 'express'
import { fileURLToPath } from 'node:url'

const DIST = fileURLToPath(new URL('../../node_modules/webtorrent/dist/', import.meta.url))
const FILES = { 'webtorrent.min.js': 'webtorrent.min.js', 'webtorrent-sw.js': 'sw.min.js' } as const

/** The service worker's scope (views/public/p2p-player.js registers it so): every page that plays a video. */
const PLAYER_SCOPE = '/videos/'

export function vendorAssets(): Router {
  const router = Router()
  for (const [name, file] of Object.entries(FILES))
    router.get(`/static/vendor/${name}`, (_req, res, next) => {
      if (name === 'webtorrent-sw.js') res.set('Service-Worker-Allowed', PLAYER_SCOPE)
      res.sendFile(
        file,
        { root: DIST, maxAge: '1h', headers: { 'Content-Type': 'text/javascript; charset=utf-8' } },
        (err) => {
          if (err) next(err)
        },
      )
    })
  return router
}
