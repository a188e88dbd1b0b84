// RSS 2.0 (with Media RSS and the torrent namespace BitTorrent clients' RSS readers know) and
// Atom documents of the site's newest videos. Pure: values in, XML text out.
export interface FeedItem {
  id: string
  title: string
  description: string
  pageUrl: string
  fileUrl: string
  size: number
  mimeType: string
  publishedAt: Date
  updatedAt: Date
  author: string | null
  /** The poster frame; null until made (and for audio without cover art). */
  thumbnailUrl: string | null
  /** null with BitTorrent off or no torrent yet: the item then carries the file only. */
  torrent: { url: string; length: number; magnet: string; infoHash: string; fileName: string } | null
}

export interface FeedChannel {
  title: string
  description: string
  siteUrl: string
  /** This document's own URL, and the other format's. */
  selfUrl: string
  otherUrl: string
  updatedAt: Date
}

// XML 1.0 has no place for most control characters, even escaped: a title holding one would make
// the whole feed unreadable, so they are dropped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are what is removed
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g
// A raw CR would reach readers as LF (XML's line-end normalisation): escaped, it stays.
const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
  '\r': '&#13;',
}

const xml = (value: string | number): string =>
  String(value)
    .replace(NOT_XML, '')
    .replace(/[&<>"'\r]/g, (c) => ENTITIES[c]!)

export function rssFeed(channel: FeedChannel, items: readonly FeedItem[]): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" xmlns:torrent="http://xmlns.ezrss.it/0.1/">',
    '<channel>',
    `<title>${xml(channel.title)}</title>`,
    `<link>${xml(channel.siteUrl)}</link>`,
    `<description>${xml(channel.description)}</description>`,
    `<atom:link href="${xml(channel.selfUrl)}" rel="self" type="application/rss+xml"/>`,
    `<lastBuildDate>${channel.updatedAt.toUTCString()}</lastBuildDate>`,
  ]
  for (const item of items) {
    out.push(
      '<item>',
      `<title>${xml(item.title)}</title>`,
      `<link>${xml(item.pageUrl)}</link>`,
      `<guid isPermaLink="true">${xml(item.pageUrl)}</guid>`,
      `<description>${xml(item.description)}</description>`,
      `<pubDate>${item.publishedAt.toUTCString()}</pubDate>`,
    )
    if (item.author) out.push(`<media:credit role="author">${xml(item.author)}</media:credit>`)
    if (item.thumbnailUrl) out.push(`<media:thumbnail url="${xml(item.thumbnailUrl)}"/>`)
    // The .torrent first: readers that take one enclosure only (as RSS 2.0 says) take that one.
    if (item.torrent) {
      const t = item.torrent
      out.push(
        `<enclosure url="${xml(t.url)}" length="${t.length}" type="application/x-bittorrent"/>`,
        `<media:peerLink type="application/x-bittorrent" href="${xml(t.magnet)}"/>`,
        '<torrent:torrent>',
        `<torrent:fileName>${xml(t.fileName)}.torrent</torrent:fileName>`,
        `<torrent:contentLength>${item.size}</torrent:contentLength>`,
        `<torrent:infoHash>${xml(t.infoHash)}</torrent:infoHash>`,
        `<torrent:magnetURI>${xml(t.magnet)}</torrent:magnetURI>`,
        '</torrent:torrent>',
      )
    }
    out.push(
      `<enclosure url="${xml(item.fileUrl)}" length="${item.size}" type="${xml(item.mimeType)}"/>`,
      `<media:content url="${xml(item.fileUrl)}" fileSize="${item.size}" type="${xml(item.mimeType)}" medium="${medium(item.mimeType)}"/>`,
      '</item>',
    )
  }
  out.push('</channel>', '</rss>', '')
  return out.join('\n')
}

export function atomFeed(channel: FeedChannel, items: readonly FeedItem[]): string {
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `<title>${xml(channel.title)}</title>`,
    `<subtitle>${xml(channel.description)}</subtitle>`,
    `<id>${xml(channel.siteUrl)}</id>`,
    `<link rel="alternate" type="text/html" href="${xml(channel.siteUrl)}"/>`,
    `<link rel="self" type="application/atom+xml" href="${xml(channel.selfUrl)}"/>`,
    `<link rel="alternate" type="application/rss+xml" href="${xml(channel.otherUrl)}"/>`,
    `<updated>${channel.updatedAt.toISOString()}</updated>`,
    // Atom wants an author for the feed when an entry has none.
    `<author><name>${xml(channel.title)}</name></author>`,
  ]
  for (const item of items) {
    out.push(
      '<entry>',
      `<title>${xml(item.title)}</title>`,
      `<id>${xml(item.pageUrl)}</id>`,
      `<link rel="alternate" type="text/html" href="${xml(item.pageUrl)}"/>`,
      `<published>${item.publishedAt.toISOString()}</published>`,
      `<updated>${item.updatedAt.toISOString()}</updated>`,
    )
    if (item.author) out.push(`<author><name>${xml(item.author)}</name></author>`)
    if (item.torrent) {
      const t = item.torrent
      out.push(
        `<link rel="enclosure" type="application/x-bittorrent" length="${t.length}" href="${xml(t.url)}"/>`,
        `<link rel="related" type="application/x-bittorrent" title="Magnet link" href="${xml(t.magnet)}"/>`,
      )
    }
    out.push(
      `<link rel="enclosure" type="${xml(item.mimeType)}" length="${item.size}" href="${xml(item.fileUrl)}"/>`,
      `<summary>${xml(item.description)}</summary>`,
      '</entry>',
    )
  }
  out.push('</feed>', '')
  return out.join('\n')
}

const medium = (mimeType: string) => (mimeType.startsWith('audio/') ? 'audio' : 'video')
