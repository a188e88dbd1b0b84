// src/media/videoReads.ts reads a video and its relations in one statement instead of Prisma's
// include: the same rows read both ways must come out equal (values, types, order of the lists),
// on the database the suite runs on (SQLite, and PostgreSQL with TEST_POSTGRES_URL). The rows
// give every column a value somewhere, and also the edge cases: no torrent, no owner, no offload
// counters, BigInts past 2^53, names that sort differently by case and script, a date written
// by the database's own CURRENT_TIMESTAMP. The swarm samples (src/tracker/historyRepository.ts)
// are read the same way, through the driver (src/db/directReads.ts), and compared too. The process
// runs in a zone off UTC by a fraction of an hour: a date read or bound in local time shows.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import pg from 'pg'
import { providerOf, type Db } from '../../src/db/client.ts'
import { readVideos } from '../../src/media/videoReads.ts'
import { samplesSince } from '../../src/tracker/historyRepository.ts'
import {
  allVideos,
  findReadyVideosWithoutTorrent,
  findVideo,
  listVideos,
  VIDEO_RELATIONS,
  type VideoRow,
} from '../../src/media/videoRepository.ts'
import { scratchDatabases } from '../helpers/server.ts'

const BIG = 2n ** 60n + 7n

process.env.TZ = 'Asia/Kathmandu'
assert.equal(new Date(Date.UTC(2026, 0, 1)).getTimezoneOffset(), -345, 'the zone took')

// helpers/database.ts reads BIGINT as a Number for the tests' own queries, for every node-postgres
// client in the process: the app's client here must get pg's text (what @prisma/adapter-pg makes
// a BigInt of), as it does in the server.
pg.types.setTypeParser(pg.types.builtins.INT8, (text: string) => text)

async function fill(db: Db): Promise<void> {
  const alice = await db.user.create({ data: { username: 'alice', passwordHash: 'x' } })
  const at = (n: number) => new Date(Date.UTC(2026, 11, 7, 10, 0, n, 123))
  const video = (id: string, n: number, extra: object = {}) =>
    db.video.create({
      data: {
        id,
        title: `t ${id}`,
        fileName: `${id}.mp4`,
        mimeType: 'video/mp4',
        size: BigInt(n),
        createdAt: at(n),
        ...extra,
      },
    })
  // Every column of Video set.
  await video('full', 1, {
    uploaderId: alice.id,
    description: 'd',
    status: 'ready',
    failReason: 'none',
    published: false,
    size: BIG,
    detailsStatus: 'done',
    durationSec: 12.625,
    width: 1920,
    height: 1080,
    videoCodec: 'h264',
    audioCodec: 'aac',
    formatName: 'mp4',
    hasThumbnail: true,
  })
  await db.torrent.create({
    data: {
      videoId: 'full',
      infoHash: 'a'.repeat(40),
      format: 'hybrid',
      infoHashV2: 'b'.repeat(64),
      legacyInfoHash: 'c'.repeat(40),
      pieceLength: 262144,
      pieceCount: 3,
      trackers: '["http://t/announce"]',
      webSeeds: '["http://w/"]',
      completed: 5,
      fileMtimeMs: BIG,
    },
  })
  await db.videoOffload.create({
    data: { videoId: 'full', seederBytes: BIG, webSeedBytes: 2n, playbackBytes: 3n, downloadedBytes: 4n },
  })
  // Sorted by name as the database sorts: case, digits and a non-Latin script.
  for (const [i, name] of ['b.srt', 'B.srt', 'a 10.txt', 'a 9.txt', 'ä.nfo', 'Ω.txt', '字幕.srt'].entries())
    await db.videoFile.create({
      data: { videoId: 'full', name, size: i === 0 ? BIG : BigInt(i), kind: 'extra', createdAt: at(i) },
    })
  for (const [i, infoHash] of ['d', 'e', 'f'].entries())
    await db.retiredTorrent.create({
      data: {
        videoId: 'full',
        infoHash: infoHash.repeat(40),
        infoHashV2: i === 0 ? 'f'.repeat(64) : null,
        legacyInfoHash: i === 0 ? '1'.repeat(40) : null,
        format: 'v1',
        torrentFile: `old-${i}.torrent`,
        completed: i,
        size: i === 0 ? BIG : 10n,
        fileMtimeMs: i === 0 ? BIG : null,
        trackers: '[]',
        extras: '[]',
        reason: 'files',
        retiredAt: at(30 - i),
      },
    })
  // Nothing beside it: no owner, torrent, offload counters, files or retired torrents.
  await video('bare', 2, { status: 'ready' })
  await video('third', 3, { uploaderId: alice.id })
  await db.videoOffload.create({ data: { videoId: 'third' } })
  // A date the database wrote itself (SQLite's CURRENT_TIMESTAMP has no T, no zone).
  await db.$executeRawUnsafe(
    `INSERT INTO "VideoFile" ("videoId", "name", "size", "kind") VALUES ('third', 'x', 1, 'extra')`,
  )
  if (providerOf(db) === 'sqlite') {
    const [row] = await db.$queryRawUnsafe<{ c: string }[]>(
      `SELECT CAST("createdAt" AS TEXT) AS c FROM "VideoFile" WHERE name = 'x'`,
    )
    assert.match(row!.c, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)
  }
}

const byInclude = (db: Db, where: object = {}) =>
  db.video.findMany({ where, include: VIDEO_RELATIONS, orderBy: { id: 'asc' } }) as Promise<VideoRow[]>

test('one statement reads a video and its relations exactly as Prisma include does', async (t) => {
  const [db] = await scratchDatabases(t)
  await fill(db)
  const expected = await byInclude(db)
  assert.equal(expected.length, 3)
  // The rows give every column a value somewhere (else the comparison would not see it mistyped).
  const full = expected.find((v) => v.id === 'full')!
  for (const [what, row] of Object.entries({
    video: full,
    torrent: full.torrent,
    offload: full.offload,
    file: full.files[0],
    retired: full.retired.at(-1), // the first retired (latest retiredAt) has every column
  }))
    for (const [k, v] of Object.entries(row!)) if (!Array.isArray(v)) assert.notEqual(v, null, `${what}.${k}`)
  assert.equal(full.size, BIG)
  assert.equal(full.files.length, 7)

  const read = (
    await readVideos<VideoRow>(
      db,
      expected.map((v) => v.id),
    )
  ).sort((a, b) => (a.id < b.id ? -1 : 1))
  assert.deepStrictEqual(read, expected)
  for (const v of expected) assert.deepStrictEqual(await findVideo(db, v.id), v)
  assert.equal(await findVideo(db, 'none'), null)
  assert.deepEqual(await readVideos(db, []), [])
})

test('lists, the start-up read and the unhashed videos keep their order and shape', async (t) => {
  const [db] = await scratchDatabases(t)
  await fill(db)
  const all = await byInclude(db)
  const byId = new Map(all.map((v) => [v.id, v]))
  const newest = [...all].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
  assert.deepStrictEqual(await listVideos(db, 10, undefined, { id: 0, admin: true }), newest)
  // Anonymous: published only; the page after the newest one; the page before the oldest.
  assert.deepStrictEqual(
    (await listVideos(db, 10, undefined, undefined)).map((v) => v.id),
    ['third', 'bare'],
  )
  // A user: the published ones and their own private one ('full' is alice's, unpublished); another user not.
  const alice = await db.user.findUniqueOrThrow({ where: { username: 'alice' } })
  assert.deepStrictEqual(await listVideos(db, 10, undefined, { id: alice.id, admin: false }), newest)
  assert.deepStrictEqual(
    (await listVideos(db, 10, undefined, { id: alice.id + 1, admin: false })).map((v) => v.id),
    ['third', 'bare'],
  )
  const first = newest[0]!
  assert.deepStrictEqual(await listVideos(db, 1, first, { id: 0, admin: true }), [newest[1]])
  assert.deepStrictEqual(await listVideos(db, 5, newest[2], { id: 0, admin: true }, 'newer'), newest.slice(0, 2))
  assert.deepStrictEqual(await allVideos(db), all)
  assert.deepStrictEqual(await findReadyVideosWithoutTorrent(db), [byId.get('bare')])
})

test('the swarm samples through the driver are those Prisma reads: from the given moment on, oldest first', async (t) => {
  const [db] = await scratchDatabases(t)
  await fill(db)
  const torrent = await db.torrent.findFirstOrThrow({ select: { id: true } })
  const other = await db.torrent.create({
    data: {
      videoId: 'bare',
      infoHash: '9'.repeat(40),
      pieceLength: 16384,
      pieceCount: 1,
      trackers: '[]',
      webSeeds: '[]',
    },
  })
  const from = new Date(Date.UTC(2026, 11, 7, 10, 0, 0, 500))
  const ms = (n: number) => new Date(from.getTime() + n)
  // Around `from` (one ms before, at it, after), two at the same moment (then by id), another torrent's.
  for (const [n, seeders] of [
    [-1, 1],
    [0, 2],
    [1, 3],
    [3_600_000, 4],
    [3_600_000, 5],
    [-86_400_000, 6],
  ] as const)
    await db.swarmSample.create({ data: { torrentId: torrent.id, at: ms(n), seeders, leechers: seeders * 10 } })
  await db.swarmSample.create({ data: { torrentId: other.id, at: ms(5), seeders: 7, leechers: 70 } })
  const byPrisma = await db.swarmSample.findMany({
    where: { torrentId: torrent.id, at: { gte: from } },
    orderBy: [{ at: 'asc' }, { id: 'asc' }],
    select: { at: true, seeders: true, leechers: true },
  })
  assert.deepEqual(
    byPrisma.map((r) => r.seeders),
    [2, 3, 4, 5],
  )
  assert.deepStrictEqual(await samplesSince(db, torrent.id, from), byPrisma)
  assert.deepStrictEqual(await samplesSince(db, other.id, from), [{ at: ms(5), seeders: 7, leechers: 70 }])
  assert.deepStrictEqual(await samplesSince(db, 999_999, from), [])
})
