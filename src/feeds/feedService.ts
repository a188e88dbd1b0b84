// The newest published videos as feed items, and a validator (ETag) of what the feeds would say,
// computed before the feed is: a reader's poll that changes nothing costs one database query.
import { createHash } from 'node:crypto'
import type { Settings } from '../admin/settingsService.ts'
import { presentVideo, type PresentContext } from '../media/videoPresenter.ts'
import type { VideoRow } from '../media/videoRepository.ts'
import type { VideoService } from '../media/videoService.ts'
import type { FeedItem } from './feedXml.ts'

const FEED_SIZE = 50

export interface FeedSnapshot {
  rows: VideoRow[]
  etag: string
  lastModified: Date
}

export class FeedService {
  private readonly videos: VideoService
  private readonly ctx: PresentContext

  constructor(videos: VideoService, ctx: PresentContext) {
    this.videos = videos
    this.ctx = ctx
  }

  /** The videos a feed lists now (published and ready, newest first) and the feed's validators. */
  async snapshot(format: string): Promise<FeedSnapshot> {
    // Anonymous: private videos never reach a feed. A few in the page may be processing.
    const page = await this.videos.list(FEED_SIZE, undefined, undefined)
    const rows = page.videos.filter((v) => v.status === 'ready')
    const settings: Partial<Settings> = this.ctx.settings.get()
    const hash = createHash('sha256').update(`${format}\n${this.ctx.urls.base}\n`)
    // What the items show of the settings: torrents on or off, their trackers and web seeds.
    hash.update(JSON.stringify([settings.bittorrentEnabled, settings.trackerUrls, settings.webSeedEnabled]))
    for (const v of rows)
      hash.update(`\n${v.id} ${v.updatedAt.getTime()} ${v.torrent?.infoHash ?? ''} ${v.hasThumbnail}`)
    const newest = Math.max(0, ...rows.map((v) => v.updatedAt.getTime()))
    // HTTP dates have whole seconds.
    return {
      rows,
      etag: `"${hash.digest('base64url').slice(0, 27)}"`,
      lastModified: new Date(Math.floor(newest / 1000) * 1000),
    }
  }

  /** The feed items of a snapshot; the .torrent enclosures' lengths are of the files as served. */
  async items(rows: readonly VideoRow[]): Promise<FeedItem[]> {
    return Promise.all(
      rows.map(async (row) => {
        const v = presentVideo(row, this.ctx)
        const body = v.torrent ? await this.videos.torrentBody(row).catch(() => null) : null
        return {
          id: v.id,
          title: v.title,
          description: v.description,
          pageUrl: v.pageUrl,
          fileUrl: v.fileUrl,
          size: v.size,
          mimeType: v.mimeType,
          publishedAt: row.createdAt,
          updatedAt: row.updatedAt,
          author: v.owner?.name ?? null,
          thumbnailUrl: v.thumbnailUrl,
          torrent:
            v.torrent && body
              ? {
                  url: v.torrent.torrentUrl,
                  length: body.length,
                  magnet: v.torrent.magnet,
                  infoHash: v.torrent.infoHash,
                  fileName: row.fileName,
                }
              : null,
        }
      }),
    )
  }
}
