// All database access for the swarm history (SwarmSample) and the torrent facts it needs.
import { directReads, type Db } from '../db/client.ts'
import { dateArg, type Provider, readDate } from '../db/directReads.ts'

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

// Every video page reads these (its two charts): straight through the driver (src/db/directReads.ts).
const SAMPLES_SINCE: Record<Provider, string> = {
  sqlite: `SELECT "at", "seeders", "leechers" FROM "SwarmSample" WHERE "torrentId" = ? AND "at" >= ? ORDER BY "at", "id"`,
  postgresql: `SELECT "at", "seeders", "leechers" FROM "SwarmSample" WHERE "torrentId" = $1 AND "at" >= $2::timestamp ORDER BY "at", "id"`,
}

/** One torrent's samples from `from` on, oldest first. */
export async function samplesSince(
  db: Db,
  torrentId: number,
  from: Date,
): Promise<{ at: Date; seeders: number; leechers: number }[]> {
  const reads = directReads(db)
  const rows = await reads.all(SAMPLES_SINCE[reads.provider], [torrentId, dateArg(reads.provider, from)])
  return rows.map((r) => ({ at: readDate(r.at), seeders: Number(r.seeders), leechers: Number(r.leechers) }))
}

/** null: no such video; torrent null: the video has no torrent (yet). */
export const findVideoTorrent = (db: Db, videoId: string) =>
  db.video.findUnique({
    where: { id: videoId },
    select: { id: true, torrent: { select: { id: true, infoHash: true, completed: true } } },
  })
