// What a video's page tells link previews and embedders: Open Graph and Twitter card tags, the
// oEmbed discovery link, and the oEmbed answer itself. Pure: the video object in, values out.
import type { VideoJson } from '../media/videoPresenter.ts'
import type { SiteUrls } from '../siteUrls.ts'

/** The embed's size when the consumer asks for none (16:9). */
const EMBED = { width: 640, height: 360 }

const embedUrl = (urls: SiteUrls, videoId: string) => `${urls.page(videoId)}/embed`
const oembedUrl = (urls: SiteUrls, pageUrl: string) => `${urls.base}/oembed?url=${encodeURIComponent(pageUrl)}`

export interface PageMeta {
  /** <meta property=…> (Open Graph) and <meta name=…> (Twitter) pairs. */
  properties: [string, string][]
  names: [string, string][]
  oembed: string
}

export function shareMeta(video: VideoJson, urls: SiteUrls, siteName: string): PageMeta {
  const description = video.description.slice(0, 300)
  const embed = embedUrl(urls, video.id)
  return {
    properties: [
      ['og:site_name', siteName],
      ['og:type', 'video.other'],
      ['og:title', video.title],
      ['og:description', description],
      ['og:url', video.pageUrl],
      ['og:video', video.fileUrl],
      ['og:video:type', video.mimeType],
      ['og:video:width', String(EMBED.width)],
      ['og:video:height', String(EMBED.height)],
      // The poster frame, once ffmpeg has made it (src/media/mediaDetails.ts).
      ...(video.thumbnailUrl ? ([['og:image', video.thumbnailUrl]] as [string, string][]) : []),
    ],
    names: [
      ['twitter:card', 'player'],
      ['twitter:title', video.title],
      ['twitter:description', description],
      ['twitter:player', embed],
      ['twitter:player:width', String(EMBED.width)],
      ['twitter:player:height', String(EMBED.height)],
      ['twitter:player:stream', video.fileUrl],
      ['twitter:player:stream:content_type', video.mimeType],
      ...(video.thumbnailUrl ? ([['twitter:image', video.thumbnailUrl]] as [string, string][]) : []),
    ],
    oembed: oembedUrl(urls, video.pageUrl),
  }
}

/** The video id a page URL of this site names, or null (another site, another page). */
export function videoIdOfPageUrl(urls: SiteUrls, url: string): string | null {
  let parsed: URL
  let base: URL
  try {
    parsed = new URL(url)
    base = new URL(`${urls.base}/`)
  } catch {
    return null
  }
  if (parsed.origin !== base.origin || !parsed.pathname.startsWith(base.pathname)) return null
  const match = /^videos\/([^/]+)\/?$/.exec(parsed.pathname.slice(base.pathname.length))
  return match ? decodeURIComponent(match[1]!) : null
}

const attr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;')

/** The oEmbed (1.0) answer for a video, within maxwidth × maxheight when given (16:9 kept). */
export function oembedAnswer(
  video: VideoJson,
  urls: SiteUrls,
  siteName: string,
  max: { width?: number; height?: number },
) {
  const scale = Math.min(1, (max.width ?? Infinity) / EMBED.width, (max.height ?? Infinity) / EMBED.height)
  const width = Math.max(1, Math.floor(EMBED.width * scale))
  const height = Math.max(1, Math.floor(EMBED.height * scale))
  const src = embedUrl(urls, video.id)
  return {
    version: '1.0',
    type: 'video',
    title: video.title,
    author_name: video.owner?.name,
    provider_name: siteName,
    provider_url: `${urls.base}/`,
    width,
    height,
    ...(video.thumbnailUrl ? { thumbnail_url: video.thumbnailUrl } : {}),
    html: `<iframe src="${attr(src)}" width="${width}" height="${height}" title="${attr(video.title)}" frameborder="0" allow="autoplay; fullscreen" allowfullscreen></iframe>`,
  }
}
