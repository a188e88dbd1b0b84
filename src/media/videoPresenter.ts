// The video object of the JSON API (and the data the page template uses).
import { buildMagnet } from '../torrent/magnet.ts'
import type { SiteUrls } from '../web/urls.ts'
import type { VideoRow } from './videoRepository.ts'

export interface SwarmView { seeders: number; leechers: number; completed: number }

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
  torrent: null | { infoHash: string; magnet: string; torrentUrl: string; pieceLength: number; trackers: string[]; webSeeds: string[] }
  swarm: SwarmView
}

export function presentVideo(video: VideoRow, urls: SiteUrls, counts: { seeders: number; leechers: number }): VideoJson {
  const t = video.torrent
  const size = Number(video.size)
  const trackers = t ? (JSON.parse(t.trackers) as string[]) : []
  const webSeeds = t ? (JSON.parse(t.webSeeds) as string[]) : []
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
    torrent: t && video.status === 'ready'
      ? {
          infoHash: t.infoHash,
          magnet: buildMagnet({ infoHash: t.infoHash, name: video.fileName, length: size, trackers, webSeeds }),
          torrentUrl: urls.torrent(video.id),
          pieceLength: t.pieceLength,
          trackers,
          webSeeds,
        }
      : null,
    swarm: { seeders: counts.seeders, leechers: counts.leechers, completed: t?.completed ?? 0 },
  }
}

/** The video object with the tracker's live counts (none for a video without a torrent). */
export function presentVideoLive(video: VideoRow, urls: SiteUrls, tracker: { counts(infoHash: string): { seeders: number; leechers: number } }): VideoJson {
  return presentVideo(video, urls, video.torrent ? tracker.counts(video.torrent.infoHash) : { seeders: 0, leechers: 0 })
}
