// The video object of the JSON API (and the data the page templates use). Torrent links come
// from the current settings, so a change shows at once; with BitTorrent off there are none.
import type { Settings } from '../admin/settingsService.ts'
import { buildMagnet } from '../bittorrent/magnet.ts'
import { offloadFigures } from '../offload/offloadMath.ts'
import type { SiteUrls } from '../siteUrls.ts'
import { browserPlayable } from './playability.ts'
import { releaseFolder } from './storage.ts'
import { torrentLinks } from './torrentLinks.ts'
import type { VideoRow } from './videoRepository.ts'

interface SwarmView {
  seeders: number
  leechers: number
  completed: number
}

export interface VideoJson {
  id: string
  title: string
  description: string
  status: 'processing' | 'ready' | 'failed'
  pageUrl: string
  fileUrl: string
  size: number
  mimeType: string
  createdAt: string
  /** false: private, seen, served, tracked and seeded for its owner and admins only. */
  published: boolean
  /** Who uploaded it (or was given it when its uploader was removed); null only before the first admin exists. */
  owner: { id: number; name: string } | null
  torrent: null | {
    /** What trackers and the peer wire carry: the v1 SHA-1 infohash (v1, hybrid), or the v2 one truncated to 20 bytes (v2-only, BEP 52). */
    infoHash: string
    /** The full SHA-256 infohash (64 hex) of a hybrid or v2 torrent; null for v1. */
    infoHashV2: string | null
    /** The torrent's format, fixed when it was made (the torrentFormat setting then). */
    format: 'v1' | 'hybrid' | 'v2'
    magnet: string
    /** The magnet with the v1 infohash alone (for clients that refuse a btmh, such as rTorrent 0.9): `magnet` itself for v1, null for v2-only. */
    magnetV1: string | null
    torrentUrl: string
    pieceLength: number
    trackers: string[]
    webSeeds: string[]
  }
  /** null with BitTorrent off, no torrent, or a private video. */
  swarm: SwarmView | null
  /** ffprobe's reading of the file (src/media/mediaDetails.ts), after the upload's answer: "pending" until then, "failed" when it could not read it. */
  detailsStatus: 'pending' | 'ready' | 'failed'
  /** Seconds (milliseconds precision); null until known, or when the container does not say. */
  duration: number | null
  /** Of the video stream; null until known, and for audio. */
  width: number | null
  height: number | null
  /** ffprobe's names of the first video and audio codec and of the container format; null until known. */
  codecs: { video: string | null; audio: string | null; container: string } | null
  /** Whether browsers' players can play it (src/media/playability.ts); null until known or when unreadable. */
  playable: boolean | null
  /** A JPEG poster frame, up to 480 px wide; null until made, and for audio without cover art. */
  thumbnailUrl: string | null
  /** Bytes the site sent for this video (seeder, web seed, playback) and bytes peers served (src/offload/offloadMath.ts). */
  offload: { originBytes: number; peerBytes: number }
  /** While its torrent is being hashed (status "processing"): pieces done of all; else null. */
  hashing: { done: number; total: number } | null
  /** The release: the video's file first, then its extra files (src/media/releaseFiles.ts), with download URLs. */
  files: { name: string; size: number; kind: string; url: string }[]
  /**
   * Torrents the video had before its files changed, oldest first: still tracked and seeded
   * until an admin removes them. Empty with BitTorrent off.
   */
  previousTorrents: { infoHash: string; infoHashV2: string | null; format: string; reason: string; retiredAt: string }[]
}

export interface PresentContext {
  urls: SiteUrls
  settings: { get(): Settings }
  tracker: { counts(infoHash: string): { seeders: number; leechers: number }; completed?(infoHash: string): number }
  /** Where the progress of a torrent being hashed is known (the site's VideoService). */
  videos?: { hashProgress(id: string): { done: number; total: number } | null }
}

/** The video object with the tracker's live counts. */
export function presentVideo(video: VideoRow, ctx: PresentContext): VideoJson {
  const { urls } = ctx
  const settings = ctx.settings.get()
  const t = settings.bittorrentEnabled && video.status === 'ready' ? video.torrent : null
  const owner = video.owner ? { id: video.owner.id, name: video.owner.username } : null
  const size = Number(video.size)
  const folder = video.files.length > 0 ? releaseFolder(video.fileName) : null
  const links = torrentLinks(settings, urls, video)
  const offload = offloadFigures(video.offload)
  const magnetParts = {
    name: folder ?? video.fileName,
    length: video.files.reduce((n, f) => n + Number(f.size), size),
    trackers: links.trackers,
    webSeeds: links.webSeeds,
  }
  return {
    id: video.id,
    title: video.title,
    description: video.description,
    status: video.status as VideoJson['status'],
    pageUrl: urls.page(video.id),
    fileUrl: urls.file(video.fileName),
    size,
    mimeType: video.mimeType,
    createdAt: video.createdAt.toISOString(),
    published: video.published,
    owner,
    torrent: t
      ? {
          infoHash: t.infoHash,
          infoHashV2: t.infoHashV2,
          format: t.format as 'v1' | 'hybrid' | 'v2',
          magnet: buildMagnet({
            ...magnetParts,
            // A v2-only torrent has no v1 infohash: its magnet carries btmh alone.
            infoHash: t.format === 'v2' ? undefined : t.infoHash,
            infoHashV2: t.infoHashV2 ?? undefined,
          }),
          magnetV1: t.format === 'v2' ? null : buildMagnet({ ...magnetParts, infoHash: t.infoHash }),
          torrentUrl: urls.torrent(video.id),
          pieceLength: t.pieceLength,
          trackers: links.trackers,
          webSeeds: links.webSeeds,
        }
      : null,
    // A private video's torrent is off the tracker: no swarm to count until it is published.
    // The tracker counts a completion before its database write lands: the larger, as the swarm API.
    swarm:
      t && video.published
        ? {
            ...ctx.tracker.counts(t.infoHash),
            completed: Math.max(t.completed, ctx.tracker.completed?.(t.infoHash) ?? 0),
          }
        : null,
    offload: { originBytes: offload.originBytes.total, peerBytes: offload.peerBytes },
    hashing: video.status === 'processing' ? (ctx.videos?.hashProgress(video.id) ?? null) : null,
    files: [
      { name: video.fileName, size, kind: video.mimeType.split('/')[0] ?? 'video', url: urls.file(video.fileName) },
      ...video.files.map((f) => ({
        name: f.name,
        size: Number(f.size),
        kind: f.kind,
        url: urls.releaseFile(folder!, f.name),
      })),
    ],
    previousTorrents: settings.bittorrentEnabled
      ? video.retired.map((t) => ({
          infoHash: t.infoHash,
          infoHashV2: t.infoHashV2,
          format: t.format,
          reason: t.reason,
          retiredAt: t.retiredAt.toISOString(),
        }))
      : [],
    ...mediaDetails(video, urls),
  }
}

type MediaDetailsJson = Pick<
  VideoJson,
  'detailsStatus' | 'duration' | 'width' | 'height' | 'codecs' | 'playable' | 'thumbnailUrl'
>

function mediaDetails(video: VideoRow, urls: SiteUrls): MediaDetailsJson {
  const ready = video.detailsStatus === 'ready'
  const codecs = { videoCodec: video.videoCodec, audioCodec: video.audioCodec }
  return {
    detailsStatus: video.detailsStatus as VideoJson['detailsStatus'],
    duration: video.durationSec,
    width: video.width,
    height: video.height,
    codecs: ready ? { video: codecs.videoCodec, audio: codecs.audioCodec, container: video.formatName ?? '' } : null,
    playable: ready ? browserPlayable(video.mimeType, codecs) : null,
    thumbnailUrl: video.hasThumbnail ? urls.thumbnail(video.id) : null,
  }
}
