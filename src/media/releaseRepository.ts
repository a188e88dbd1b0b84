// Database access for releases: a video's extra files (VideoFile) and its retired torrents.
import type { Db } from '../db/client.ts'
import { videosChanged } from './videoChanges.ts'

export interface NewExtra {
  name: string
  size: number
  kind: string
}

/** What the current torrent was: kept as a retired torrent when the release's files change. */
export interface Retirement {
  torrentFile: string
  reason: string
  /** Extra files the current torrent holds (JSON list in RetiredTorrent.extras). */
  extras: string[]
}

/**
 * Adds extra files to a video and, when it has a torrent, retires it (RetiredTorrent, kept seeded)
 * in the same transaction: the video is "processing" until its new torrent is recorded.
 */
export async function addExtras(db: Db, videoId: string, files: NewExtra[], retire: Retirement | null): Promise<void> {
  // Read first, then one batch (PostgreSQL's driver takes no overlapping queries of an interactive
  // transaction): a change of the torrent in between makes the delete, and so the batch, fail.
  const current = retire ? await db.torrent.findUnique({ where: { videoId } }) : null
  const video = await db.video.findUniqueOrThrow({ where: { id: videoId }, select: { size: true } })
  const size = video.size + (retire ? await extrasBytes(db, videoId, retire.extras) : 0n)
  const retiring =
    current && retire
      ? [
          db.retiredTorrent.create({
            data: {
              videoId,
              infoHash: current.infoHash,
              infoHashV2: current.infoHashV2,
              legacyInfoHash: current.legacyInfoHash,
              format: current.format,
              torrentFile: retire.torrentFile,
              completed: current.completed,
              size,
              fileMtimeMs: current.fileMtimeMs,
              trackers: current.trackers,
              extras: JSON.stringify(retire.extras),
              reason: retire.reason,
            },
          }),
          db.torrent.delete({ where: { videoId } }),
        ]
      : []
  await db.$transaction([
    db.videoFile.createMany({
      data: files.map((f) => ({ videoId, name: f.name, size: BigInt(f.size), kind: f.kind })),
    }),
    ...retiring,
    db.video.update({ where: { id: videoId }, data: { status: 'processing' } }),
  ])
  videosChanged([videoId])
}

async function extrasBytes(db: Db, videoId: string, names: string[]): Promise<bigint> {
  if (names.length === 0) return 0n
  const rows = await db.videoFile.findMany({ where: { videoId, name: { in: names } }, select: { size: true } })
  return rows.reduce((n, r) => n + r.size, 0n)
}

/**
 * Removes an extra file: its row, the current torrent and the retired ones holding it (none of
 * them can be seeded whole any more); the video is "processing" until its new torrent is recorded.
 */
export async function removeExtra(db: Db, videoId: string, name: string, dropRetired: string[]): Promise<void> {
  await db.$transaction([
    db.videoFile.deleteMany({ where: { videoId, name } }),
    db.torrent.deleteMany({ where: { videoId } }),
    db.retiredTorrent.deleteMany({ where: { videoId, infoHash: { in: dropRetired } } }),
    db.video.update({ where: { id: videoId }, data: { status: 'processing' } }),
  ])
  videosChanged([videoId])
}

export async function deleteRetired(db: Db, videoId: string, infoHash: string): Promise<boolean> {
  const { count } = await db.retiredTorrent.deleteMany({ where: { videoId, infoHash } })
  videosChanged([videoId])
  return count > 0
}

/** Every retired torrent of a published video, for the tracker's allow list at start. */
export const allRetiredCounts = async (db: Db) =>
  (
    await db.retiredTorrent.findMany({
      where: { video: { published: true } },
      select: { infoHash: true, infoHashV2: true, legacyInfoHash: true, completed: true, size: true },
    })
  ).map((r) => ({
    infoHash: r.infoHash,
    infoHashV2: r.infoHashV2,
    legacyInfoHash: r.legacyInfoHash,
    completed: r.completed,
    size: Number(r.size),
  }))

export const incrementRetiredCompleted = (db: Db, infoHash: string) =>
  db.retiredTorrent.updateMany({ where: { infoHash }, data: { completed: { increment: 1 } } })
