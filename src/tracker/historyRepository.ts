// All database access for the swarm history (SwarmSample) and the torrent facts it needs.
import type { Db } from '../db/client.ts'

export interface SampleInput {
  torrentId: number
  at: Date
  seeders: number
  leechers: number
}

// SQLite allows a limited number of bound values per statement; stay well under it.
const IDS_PER_STATEMENT = 500

export const torrentsToSample = (db: Db) =>
  db.torrent.findMany({ select: { id: true, infoHash: true }, orderBy: { id: 'asc' } })

/** All samples of one round in one transaction: a chart never shows half a round. */
export async function insertSamples(db: Db, rows: SampleInput[]): Promise<void> {
  if (rows.length === 0) return
  await db.$transaction([db.swarmSample.createMany({ data: rows })])
}

export const deleteSamplesBefore = (db: Db, before: Date) =>
  db.swarmSample.deleteMany({ where: { at: { lt: before } } })

/** Samples of the given torrents with from <= at < to, as plain numbers for the retention rules. */
export async function sampleRefs(
  db: Db,
  torrentIds: number[],
  from: Date,
  to: Date,
): Promise<{ id: number; torrentId: number; at: number }[]> {
  const rows = await db.swarmSample.findMany({
    where: { torrentId: { in: torrentIds }, at: { gte: from, lt: to } },
    select: { id: true, torrentId: true, at: true },
  })
  return rows.map((r) => ({ id: r.id, torrentId: r.torrentId, at: r.at.getTime() }))
}

export async function deleteSamples(db: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return
  const batches = []
  for (let i = 0; i < ids.length; i += IDS_PER_STATEMENT) {
    batches.push(db.swarmSample.deleteMany({ where: { id: { in: ids.slice(i, i + IDS_PER_STATEMENT) } } }))
  }
  await db.$transaction(batches)
}

export const samplesSince = (db: Db, torrentId: number, from: Date) =>
  db.swarmSample.findMany({
    where: { torrentId, at: { gte: from } },
    orderBy: [{ at: 'asc' }, { id: 'asc' }],
    select: { at: true, seeders: true, leechers: true },
  })

/** null: no such video; torrent null: the video has no torrent (yet). */
export const findVideoTorrent = (db: Db, videoId: string) =>
  db.video.findUnique({
    where: { id: videoId },
    select: { id: true, torrent: { select: { id: true, infoHash: true, completed: true } } },
  })
