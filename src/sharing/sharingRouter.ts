// Sharing a video elsewhere: oEmbed (/oembed?url=…, JSON) for sites that embed links, and the
// embeddable player page (/videos/:id/embed) its iframe shows, which other sites may frame.
import { Router } from 'express'
import type { Request, Response } from 'express'
import { z } from 'zod'
import { currentUser } from '../auth/middleware.ts'
import { AppError } from '../errors.ts'
import { presentVideo } from '../media/videoPresenter.ts'
import type { VideoRouteDeps } from '../media/videoApiRouter.ts'
import { validate, validated, wholeNumber } from '../validate.ts'
import { oembedAnswer, videoIdOfPageUrl } from './shareMeta.ts'

const oembedSchemas = {
  query: z.object({
    url: z.string({ error: 'url (a video page of this site) is required' }).max(2048, 'url is too long'),
    format: z.enum(['json', 'xml'], { error: 'format must be json' }).default('json'),
    maxwidth: wholeNumber('maxwidth', 1, 10_000, 10_000),
    maxheight: wholeNumber('maxheight', 1, 10_000, 10_000),
  }),
}

export function sharingRouter(
  deps: Pick<VideoRouteDeps, 'videos' | 'tracker' | 'settings' | 'urls'>,
  siteName: string,
): Router {
  const router = Router()
  router.get('/oembed', validate(oembedSchemas), oembed)
  router.get('/videos/:id/embed', embed)

  async function oembed(_req: Request, res: Response) {
    const q = validated(res, oembedSchemas).query
    // The spec's answer to a format it does not offer.
    if (q.format !== 'json') throw new AppError('not_implemented', 'Only format=json is offered')
    const id = videoIdOfPageUrl(deps.urls, q.url)
    if (!id) throw new AppError('not_found', 'That URL is not a video page of this site')
    const video = presentVideo(await deps.videos.getFor(undefined, id), deps)
    res.set('Access-Control-Allow-Origin', '*')
    res.json(oembedAnswer(video, deps.urls, siteName, { width: q.maxwidth, height: q.maxheight }))
  }

  async function embed(req: Request, res: Response) {
    const video = presentVideo(await deps.videos.getFor(currentUser(res), String(req.params.id)), deps)
    // Made to be framed by other sites: the site-wide frame-ancestors 'self' does not apply here.
    const csp = res.get('Content-Security-Policy')
    if (csp) res.set('Content-Security-Policy', csp.replace("frame-ancestors 'self'", 'frame-ancestors *'))
    res.removeHeader('X-Frame-Options')
    res.render('embed', { title: video.title, video })
  }

  return router
}
