// /feed.rss and /feed.atom: the site's newest published videos, each with its .torrent and its
// file as enclosures. Conditional requests (If-None-Match, If-Modified-Since) get 304.
import { Router } from 'express'
import type { Request, Response } from 'express'
import type { SiteUrls } from '../siteUrls.ts'
import type { FeedService } from './feedService.ts'
import { atomFeed, rssFeed, type FeedChannel } from './feedXml.ts'

const FORMATS = {
  rss: { path: '/feed.rss', type: 'application/rss+xml; charset=utf-8', write: rssFeed },
  atom: { path: '/feed.atom', type: 'application/atom+xml; charset=utf-8', write: atomFeed },
} as const

export function feedRouter(feeds: FeedService, urls: SiteUrls, siteName: string): Router {
  const router = Router()
  for (const [name, format] of Object.entries(FORMATS)) {
    const other = name === 'rss' ? FORMATS.atom : FORMATS.rss
    router.get(format.path, async (req: Request, res: Response) => {
      const snap = await feeds.snapshot(name)
      res.set('ETag', snap.etag)
      res.set('Last-Modified', snap.lastModified.toUTCString())
      // Readers poll: they may keep it a minute, then ask again with the validators.
      res.set('Cache-Control', 'public, max-age=60')
      if (notModified(req, snap.etag, snap.lastModified)) {
        res.status(304).end()
        return
      }
      const channel: FeedChannel = {
        title: siteName,
        description: `New videos on ${siteName}, each also a BitTorrent download`,
        siteUrl: `${urls.base}/`,
        selfUrl: urls.base + format.path,
        otherUrl: urls.base + other.path,
        updatedAt: snap.lastModified,
      }
      res.type(format.type).send(format.write(channel, await feeds.items(snap.rows)))
    })
  }
  return router
}

/**
 * RFC 9110's conditional GET as the origin answers it: If-None-Match first (weak comparison),
 * else If-Modified-Since. Not Express's req.fresh, which treats the request's
 * `Cache-Control: no-cache` as "never 304": fetch() sends that with every conditional request.
 */
function notModified(req: Request, etag: string, lastModified: Date): boolean {
  const noneMatch = req.headers['if-none-match']
  if (noneMatch !== undefined) {
    const bare = (t: string) => t.trim().replace(/^W\//, '')
    return noneMatch.trim() === '*' || noneMatch.split(',').some((t) => bare(t) === bare(etag))
  }
  const since = Date.parse(req.headers['if-modified-since'] ?? '')
  return Number.isFinite(since) && lastModified.getTime() <= since
}
