// All database access for videos and their torrent records.
import type { Db } from '../db/client.ts'
import type { Prisma } from '../db/generated/client.ts'
import { videosChanged } from './videoChanges.ts'
import { type ListViewer, listVideoIds, readVideos } from './videoReads.ts'

export type { ListViewer }

export interface TorrentRecordInput {
  infoHash: string
  /** Full v2 infohash (hybrid, v2); null for v1. */
  infoHashV2: string | null
  /** A hybrid's infohash as aria2c < 1.37 computes it; null otherwise. */
  legacyInfoHash: string | null
  format: 'v1' | 'hybrid' | 'v2'
  pieceLength: number
  pieceCount: number
  trackers: string[]
  webSeeds: string[]
  fileMtimeMs: number
}

// Every video read carries its torrent record, its offload counters (src/offload/), its owner, its
// extra files and its retired torrents (src/media/release*.ts): read by src/media/videoReads.ts in
// one statement, in the shape (and order) this include gives.
export const VIDEO_RELATIONS = {
  torrent: true,
  offload: true,
  owner: { select: { id: true, username: true } },
  files: { orderBy: { name: 'asc' } },
  retired: { orderBy: { retiredAt: 'asc' } },
} as const

// Writes read the video back afterwards: a write with `include` runs in an implicit transaction,
// where Prisma loads the list relations (files, retired) side by side, which PostgreSQL's driver
// warns about (one connection, overlapping queries).
export const createVideo = async (
  db: Db,
  data: {
    id: string
    title: string
    description: string
    fileName: string
    mimeType: string
    size: bigint
    status: string
    uploaderId: number
  },
) => {
  await db.video.create({ data, select: { id: true } })
  // A list shows it while it is processing.
  videosChanged([data.id])
  return (await findVideo(db, data.id))!
}

export type VideoRow = Prisma.VideoGetPayload<{ include: typeof VIDEO_RELATIONS }>

export const findVideo = async (db: Db, id: string): Promise<VideoRow | null> =>
  (await readVideos<VideoRow>(db, [id]))[0] ?? null

// One IN list of at most this many ids a statement: all 10,000 videos at once went over SQLite's
// bound-parameter limit (bench:load: the site did not start).
const IDS_PER_READ = 500

/** The videos of `ids`, in that order (ids of none, deleted meanwhile, are left out). */
async function videosInOrder(db: Db, ids: string[]): Promise<VideoRow[]> {
  const byId = new Map<string, VideoRow>()
  for (let at = 0; at < ids.length; at += IDS_PER_READ)
    for (const v of await readVideos<VideoRow>(db, ids.slice(at, at + IDS_PER_READ))) byId.set(v.id, v)
  return ids.flatMap((id) => byId.get(id) ?? [])
}

/** Newest first; `older`: the page after `from`, `newer`: the one before it (still newest first). */
export async function listVideos(
  db: Db,
  limit: number,
  from: { createdAt: Date; id: string } | undefined,
  viewer: ListViewer | undefined,
  direction: 'older' | 'newer' = 'older',
) {
  const ids = await listVideoIds(db, limit, from, viewer, direction)
  return videosInOrder(db, direction === 'older' ? ids : ids.reverse())
}

/** Who may fetch a stored file: null when no video has it. */
export const fileAccess = (db: Db, fileName: string) =>
  db.video.findUnique({ where: { fileName }, select: { uploaderId: true, published: true } })

/** Who may see a video (its owner, whether published): null when there is none. */
export const videoAccess = (db: Db, id: string) =>
  db.video.findUnique({ where: { id }, select: { uploaderId: true, published: true } })

export async function updateVideo(
  db: Db,
  id: string,
  data: { title?: string; description?: string; published?: boolean },
) {
  await db.video.update({ where: { id }, data, select: { id: true } })
  videosChanged([id])
  return (await findVideo(db, id))!
}

/** The infoHash of a stored file's torrent, or null (no such file, no torrent yet). */
export const infoHashOfFile = async (db: Db, fileName: string): Promise<string | null> =>
  (await db.torrent.findFirst({ where: { video: { fileName } }, select: { infoHash: true } }))?.infoHash ?? null

export const countVideos = (db: Db) => db.video.count()

export async function deleteVideo(db: Db, id: string) {
  const done = await db.video.deleteMany({ where: { id } })
  videosChanged([id])
  return done
}

export const findReadyVideosWithoutTorrent = async (db: Db) =>
  videosInOrder(
    db,
    (await db.video.findMany({ where: { status: 'ready', torrent: null }, select: { id: true } })).map((r) => r.id),
  )

/** Every video with its relations, read a page at a time (the start-up check). */
export async function allVideos(db: Db): Promise<VideoRow[]> {
  const rows: VideoRow[] = []
  let after: string | undefined
  for (;;) {
    const page = await db.video.findMany({
      where: after === undefined ? {} : { id: { gt: after } },
      orderBy: { id: 'asc' },
      take: IDS_PER_READ,
      select: { id: true },
    })
    rows.push(
      ...(await videosInOrder(
        db,
        page.map((r) => r.id),
      )),
    )
    after = page.at(-1)?.id
    if (page.length < IDS_PER_READ) return rows
  }
}

/** Records the torrent and marks the video ready; says whether the video is published. */
export async function publishTorrent(db: Db, videoId: string, t: TorrentRecordInput): Promise<boolean> {
  const data = {
    infoHash: t.infoHash,
    infoHashV2: t.infoHashV2,
    legacyInfoHash: t.legacyInfoHash,
    format: t.format,
    pieceLength: t.pieceLength,
    pieceCount: t.pieceCount,
    trackers: JSON.stringify(t.trackers),
    webSeeds: JSON.stringify(t.webSeeds),
    fileMtimeMs: BigInt(t.fileMtimeMs),
  }
  const [, , video] = await db.$transaction([
    // A release back at an earlier set of files has that torrent again: current, not retired.
    db.retiredTorrent.deleteMany({ where: { videoId, infoHash: t.infoHash } }),
    db.torrent.upsert({ where: { videoId }, create: { videoId, ...data }, update: data }),
    db.video.update({
      where: { id: videoId },
      data: { status: 'ready', failReason: null },
      select: { published: true },
    }),
  ])
  videosChanged([videoId])
  return video.published
}

/** What ffprobe found (src/media/mediaDetails.ts); false when the video is gone. */
export const setMediaDetails = async (
  db: Db,
  id: string,
  data: {
    detailsStatus: 'ready' | 'failed'
    durationSec?: number | null
    width?: number | null
    height?: number | null
    videoCodec?: string | null
    audioCodec?: string | null
    formatName?: string | null
    hasThumbnail?: boolean
  },
): Promise<boolean> => {
  const { count } = await db.video.updateMany({ where: { id }, data })
  videosChanged([id])
  return count > 0
}

/** Videos whose details were never read (stored before they existed, or the start ended first). */
export const findVideosPendingDetails = (db: Db) =>
  db.video.findMany({
    where: { detailsStatus: 'pending' },
    select: { id: true, fileName: true, mimeType: true },
    orderBy: { createdAt: 'asc' },
  })

export async function setVideoStatus(db: Db, id: string, status: string, failReason: string | null = null) {
  const row = await db.video.update({ where: { id }, data: { status, failReason } })
  videosChanged([id])
  return row
}

export const incrementCompleted = (db: Db, infoHash: string) =>
  db.torrent.updateMany({ where: { infoHash }, data: { completed: { increment: 1 } } })

/**
 * Every published video's torrent with its completed count, file size and (hybrid, v2) full v2
 * infohash, for the tracker's allow list at start.
 */
export const allTorrentCounts = async (db: Db) =>
  (
    await db.$queryRaw<
      {
        infoHash: string
        infoHashV2: string | null
        legacyInfoHash: string | null
        completed: bigint | number
        size: bigint | number
      }[]
    >`
      SELECT t."infoHash", t."infoHashV2", t."legacyInfoHash", t."completed",
        v."size" + COALESCE((SELECT SUM(f."size") FROM "VideoFile" f WHERE f."videoId" = v."id"), 0) AS "size"
      FROM "Torrent" t JOIN "Video" v ON v."id" = t."videoId"
      WHERE v."published" = true`
  ).map((r) => ({
    infoHash: r.infoHash,
    infoHashV2: r.infoHashV2,
    legacyInfoHash: r.legacyInfoHash,
    completed: Number(r.completed),
    size: Number(r.size),
  }))

export interface TorrentLinksRow {
  torrentId: number
  videoId: string
  fileName: string
  infoHash: string
  trackers: string
  webSeeds: string
  /** 1 when the video has extra files (its torrent is a folder), else 0. */
  multiFile: number | bigint
}

// Raw SQL rather than a nested relation select (that leaks native memory per row with Prisma
// 7.10, see bt_server/seedRepository.ts); quoted identifiers keep it valid for PostgreSQL.
export const allTorrentLinks = (db: Db) => db.$queryRaw<TorrentLinksRow[]>`
  SELECT t."id" AS "torrentId", v."id" AS "videoId", v."fileName", t."infoHash", t."trackers", t."webSeeds",
    EXISTS (SELECT 1 FROM "VideoFile" f WHERE f."videoId" = v."id") AS "multiFile"
  FROM "Torrent" t JOIN "Video" v ON v."id" = t."videoId"
  ORDER BY t."id"`

export const updateTorrentLinks = (db: Db, torrentId: number, links: { trackers: string[]; webSeeds: string[] }) =>
  db.torrent.updateMany({
    where: { id: torrentId },
    data: { trackers: JSON.stringify(links.trackers), webSeeds: JSON.stringify(links.webSeeds) },
  })
