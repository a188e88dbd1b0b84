// All database access for the offload counters (VideoOffload per video, OffloadSample per time
// bucket for the whole site). Both the web app and the seeder write here, each adding its own
// increments: `x = x + n` commutes, so the two processes need no coordination.
import type { Db } from '../db/client.ts'
import { Prisma } from '../db/generated/client.ts'
import type { OffloadIncrement } from './offloadTally.ts'
import type { OffloadCounters } from './offloadMath.ts'

const big = (n: number): bigint => BigInt(Math.max(0, Math.round(n)))

export interface SampleRow extends OffloadCounters {
  at: Date
}

/**
 * One flush in one transaction: every video's increments (a video deleted meanwhile, or a name
 * that is no video, matches no row and is skipped) and the site's sums in the bucket `at`.
 * Raw SQL for the videos: INSERT … SELECT resolves the file name or infohash to the video in the
 * same statement; ON CONFLICT is valid in SQLite and PostgreSQL alike.
 */
export async function addIncrements(db: Db, incs: readonly OffloadIncrement[], at: Date): Promise<void> {
  if (incs.length === 0) return
  const sum = { seeder: 0, webseed: 0, playback: 0, downloaded: 0 }
  const writes = incs.map((i) => {
    sum.seeder += i.seeder
    sum.webseed += i.webseed
    sum.playback += i.playback
    sum.downloaded += i.downloaded
    const [s, w, p, d] = [big(i.seeder), big(i.webseed), big(i.playback), big(i.downloaded)]
    // Only how the video is found differs: by its stored file (file routes) or its torrent (tracker, seeder).
    const source =
      i.by === 'fileName'
        ? Prisma.sql`SELECT v."id", ${s}, ${w}, ${p}, ${d} FROM "Video" v WHERE v."fileName" = ${i.key}`
        : Prisma.sql`SELECT t."videoId", ${s}, ${w}, ${p}, ${d} FROM "Torrent" t WHERE t."infoHash" = ${i.key}`
    return db.$executeRaw`
      INSERT INTO "VideoOffload" ("videoId", "seederBytes", "webSeedBytes", "playbackBytes", "downloadedBytes")
      ${source}
      ON CONFLICT ("videoId") DO UPDATE SET
        "seederBytes" = "VideoOffload"."seederBytes" + excluded."seederBytes",
        "webSeedBytes" = "VideoOffload"."webSeedBytes" + excluded."webSeedBytes",
        "playbackBytes" = "VideoOffload"."playbackBytes" + excluded."playbackBytes",
        "downloadedBytes" = "VideoOffload"."downloadedBytes" + excluded."downloadedBytes"`
  })
  const counters = {
    seederBytes: big(sum.seeder),
    webSeedBytes: big(sum.webseed),
    playbackBytes: big(sum.playback),
    downloadedBytes: big(sum.downloaded),
  }
  await db.$transaction([
    ...writes,
    db.offloadSample.upsert({
      where: { at },
      create: { at, ...counters },
      update: {
        seederBytes: { increment: counters.seederBytes },
        webSeedBytes: { increment: counters.webSeedBytes },
        playbackBytes: { increment: counters.playbackBytes },
        downloadedBytes: { increment: counters.downloadedBytes },
      },
    }),
  ])
}

// Peers served per video, floored at 0 there (offloadMath.ts), then summed: CASE rather than
// MAX(a, b), which PostgreSQL spells GREATEST.
const PEER_BYTES = Prisma.raw(`CASE WHEN o."downloadedBytes" > o."seederBytes" + o."webSeedBytes"
  THEN o."downloadedBytes" - o."seederBytes" - o."webSeedBytes" ELSE 0 END`)

interface SiteSums {
  seeder: number
  webseed: number
  playback: number
  peer: number
}

export async function siteSums(db: Db): Promise<SiteSums> {
  const rows = await db.$queryRaw<Record<keyof SiteSums, bigint | number | null>[]>`
    SELECT SUM(o."seederBytes") AS "seeder", SUM(o."webSeedBytes") AS "webseed",
      SUM(o."playbackBytes") AS "playback", SUM(${PEER_BYTES}) AS "peer"
    FROM "VideoOffload" o`
  const r = rows[0]
  return {
    seeder: Number(r?.seeder ?? 0),
    webseed: Number(r?.webseed ?? 0),
    playback: Number(r?.playback ?? 0),
    peer: Number(r?.peer ?? 0),
  }
}

interface TopVideoRow extends OffloadCounters {
  id: string
  title: string
}

/** The videos that moved the most bytes (origin and peers together), most first. */
export const topVideos = (db: Db, limit: number) =>
  db.$queryRaw<TopVideoRow[]>`
    SELECT v."id", v."title", o."seederBytes", o."webSeedBytes", o."playbackBytes", o."downloadedBytes"
    FROM "VideoOffload" o JOIN "Video" v ON v."id" = o."videoId"
    ORDER BY o."seederBytes" + o."webSeedBytes" + o."playbackBytes" + ${PEER_BYTES} DESC, v."id"
    LIMIT ${limit}`

export const samplesSince = (db: Db, from: Date): Promise<SampleRow[]> =>
  db.offloadSample.findMany({ where: { at: { gte: from } }, orderBy: { at: 'asc' } })

export const samplesBetween = (db: Db, from: Date, to: Date): Promise<SampleRow[]> =>
  db.offloadSample.findMany({ where: { at: { gte: from, lt: to } }, orderBy: { at: 'asc' } })

export const deleteSamplesBefore = (db: Db, before: Date) =>
  db.offloadSample.deleteMany({ where: { at: { lt: before } } })

/** Replaces the rows at `replaced` by one row at `at` holding their sums, in one transaction. */
export async function mergeSamples(db: Db, merges: readonly { at: Date; replaced: Date[]; sums: OffloadCounters }[]) {
  if (merges.length === 0) return
  await db.$transaction(
    merges.flatMap((m) => [
      db.offloadSample.deleteMany({ where: { at: { in: m.replaced } } }),
      db.offloadSample.create({
        data: {
          at: m.at,
          seederBytes: BigInt(m.sums.seederBytes),
          webSeedBytes: BigInt(m.sums.webSeedBytes),
          playbackBytes: BigInt(m.sums.playbackBytes),
          downloadedBytes: BigInt(m.sums.downloadedBytes),
        },
      }),
    ]),
  )
}
