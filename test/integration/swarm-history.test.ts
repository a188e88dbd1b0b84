// The swarm's size over time: the tracker stores every swarm's counts every TRACKER_SAMPLE_SECONDS,
// the API serves the live numbers and the history, old samples are thinned (one per hour after a
// day, none after 30 days), and a restart keeps the completed count and the history.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { makeStorageDir, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { announceQuery, getJson, getVideo, trackerGet, uploadOk, waitFor, type VideoJson } from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'
import { SwarmHistory } from '../../src/tracker/swarmHistory.ts'

const ENV = { TRACKER_SAMPLE_SECONDS: '1' }
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR

interface Point {
  at: string
  seeders: number
  leechers: number
}
interface ErrorBody {
  error: { code: string; message: string }
}

let clip: string
let dir: string
let server: TestServer | undefined
let video: VideoJson
let hash: string

before(async () => {
  clip = await makeVideo({ seconds: 1 })
  dir = await makeStorageDir()
})
after(async () => {
  await server?.stop()
  await rm(dir, { recursive: true, force: true })
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

const s = () => server!
const failure = (body: any): string | undefined =>
  body?.['failure reason'] ? Buffer.from(body['failure reason']).toString() : undefined
async function announce(peerId: string, port: number, left: number, event?: string): Promise<void> {
  const res = await trackerGet(`${s().url}/announce?${announceQuery(hash, { peerId, port, left, event })}`)
  assert.equal(failure(res.body), undefined, `announce ${peerId} ${event}`)
}
const swarmNow = (id = video.id) => getJson(`${s().url}/api/videos/${id}/swarm`)
const history = (query = '?range=24h', id = video.id) =>
  getJson<{ range: string; points: Point[] } & ErrorBody>(`${s().url}/api/videos/${id}/swarm/history${query}`)
const torrentId = async (): Promise<number> =>
  (await sql<{ id: number }>(s(), 'SELECT id FROM "Torrent" WHERE "infoHash" = ?', hash))[0]!.id
const storedSamples = async () =>
  (
    await sql<{ at: string; seeders: number; leechers: number }>(
      s(),
      'SELECT at, seeders, leechers FROM "SwarmSample" WHERE "torrentId" = ? ORDER BY at, id',
      await torrentId(),
    )
  ).map((r) => ({ ...r, ms: new Date(r.at).getTime() }))

test('the swarm is sampled every TRACKER_SAMPLE_SECONDS; the API serves the live numbers and the history', async () => {
  server = await startTestServer(ENV, dir)
  video = await uploadOk(server, { title: 'Swarm history' }, { path: clip })
  hash = video.torrent!.infoHash

  // A new torrent gets a sample (of an empty swarm) in the next round.
  const empty = await waitFor(async () => {
    const h = await history()
    return h.body.points.length > 0 && h.body
  }, 'a first sample')
  assert.deepEqual(
    empty.points.map((p) => [p.seeders, p.leechers]),
    empty.points.map(() => [0, 0]),
  )

  await announce('-LE0001-leecher-one', 51001, 1000, 'started')
  await announce('-LE0001-leecher-two', 51002, 1000, 'started')
  await announce('-SE0001-seeder-one!', 51003, 0, 'started')
  const live = await waitFor(async () => {
    const r = await swarmNow()
    return r.body.leechers === 2 && r
  }, 'live counts')
  assert.equal(live.status, 200)
  assert.equal(live.headers.get('cache-control'), 'no-cache')
  assert.deepEqual(Object.keys(live.body).sort(), ['completed', 'leechers', 'seeders', 'updatedAt'])
  assert.deepEqual([live.body.seeders, live.body.leechers, live.body.completed], [1, 2, 0])
  // Live counts are cached for up to 1 s.
  const age = Date.now() - Date.parse(live.body.updatedAt)
  assert.ok(age >= 0 && age < 2000, `${live.body.updatedAt} is ${age} ms old`)

  const h = (
    await waitFor(async () => {
      const r = await history()
      return r.body.points.some((p) => p.seeders === 1 && p.leechers === 2) && r
    }, 'a sample with the peers')
  ).body
  assert.equal(h.range, '24h')
  const times = h.points.map((p) => Date.parse(p.at))
  assert.deepEqual(
    times,
    [...times].sort((a, b) => a - b),
    'oldest first',
  )
  assert.ok(times.every((t) => t > Date.now() - DAY && t <= Date.now()))
  assert.ok(
    h.points.every(
      (p) => Object.keys(p).sort().join() === 'at,leechers,seeders' && new Date(p.at).toISOString() === p.at,
    ),
  )

  // One sample a second: a few more after a few seconds, not dozens.
  const count = (await storedSamples()).length
  await new Promise((r) => setTimeout(r, 3000))
  const grown = (await storedSamples()).length - count
  assert.ok(grown >= 2 && grown <= 5, `${grown} samples in 3 s at TRACKER_SAMPLE_SECONDS=1`)

  // 30 days: hourly, so fewer points, the first of this hour among them.
  const month = (await history('?range=30d')).body
  assert.equal(month.range, '30d')
  assert.ok(month.points.length >= 1 && month.points.length < (await history()).body.points.length)
  assert.equal(month.points[0]!.at, h.points[0]!.at)
  assert.equal((await history('')).body.range, '24h', 'the range defaults to 24h')

  for (const bad of ['?range=7d', '?range=', '?range=24H', '?range=24h&range=30d']) {
    const res = await history(bad)
    assert.equal(res.status, 400, bad)
    assert.equal(res.body.error.code, 'bad_request', bad)
    assert.match(res.body.error.message, /24h, 30d/)
  }
  for (const res of [await swarmNow('nosuchvideo'), await history('?range=24h', 'nosuchvideo')]) {
    assert.equal(res.status, 404)
    assert.equal(res.body.error.code, 'video_not_found')
  }

  // A completion shows in the live numbers and is stored.
  await announce('-LE0001-leecher-one', 51001, 0, 'completed')
  await waitFor(async () => (await swarmNow()).body.completed === 1, 'completed = 1')
  await waitFor(
    async () => (await sql(s(), 'SELECT completed FROM "Torrent" WHERE "infoHash" = ?', hash))[0].completed === 1,
    'the stored count',
  )

  // The chart on its own, as the page's script fetches it.
  const svg = await fetch(`${s().url}/videos/${video.id}/swarm.svg?range=24h`)
  assert.equal(svg.status, 200)
  assert.match(svg.headers.get('content-type') ?? '', /^image\/svg\+xml/)
  const text = await svg.text()
  assert.ok(text.startsWith('<svg') && text.includes('<path'), text.slice(0, 200))
  assert.equal((await fetch(`${s().url}/videos/${video.id}/swarm.svg?range=1y`)).status, 400)
  assert.equal((await fetch(`${s().url}/videos/nosuchvideo/swarm.svg`)).status, 404)
})

test('a restart keeps the completed count and the history, and thins old samples as it starts', async () => {
  const before = (await history()).body.points
  assert.ok(before.some((p) => p.seeders === 1 && p.leechers === 2))

  // Samples an earlier life of the site left: two days old, every 5 minutes for three hours from
  // 7 minutes past an hour (so touching four clock hours); and some older than 30 days.
  const hourStart = Math.floor((Date.now() - 2 * DAY) / HOUR) * HOUR
  const id = await torrentId()
  const old = Array.from({ length: 36 }, (_, i) => ({
    torrentId: id,
    at: new Date(hourStart + 7 * MIN + i * 5 * MIN),
    seeders: 10 + i,
    leechers: 1,
  }))
  const ancient = [31, 40].map((days) => ({
    torrentId: id,
    at: new Date(Date.now() - days * DAY),
    seeders: 99,
    leechers: 99,
  }))
  await s().services.db.swarmSample.createMany({ data: [...old, ...ancient] })

  await s().stop({ keepStorage: true })
  server = undefined
  const restartedAt = Date.now()
  server = await startTestServer(ENV, dir)

  // Everything from before the restart is still there.
  const afterRestart = (await history()).body.points
  for (const p of before)
    assert.ok(
      afterRestart.some((q) => q.at === p.at && q.seeders === p.seeders && q.leechers === p.leechers),
      `kept: ${JSON.stringify(p)}`,
    )
  // The swarm itself lives in memory: after the restart it is empty, and sampled as such.
  await waitFor(
    async () =>
      (await history()).body.points.some((p) => Date.parse(p.at) >= restartedAt && p.seeders === 0 && p.leechers === 0),
    'a sample after the restart',
  )

  const stored = (await sql(s(), 'SELECT completed FROM "Torrent" WHERE "infoHash" = ?', hash))[0].completed
  assert.equal(stored, 1)
  const live = (await swarmNow()).body
  assert.deepEqual([live.seeders, live.leechers, live.completed], [0, 0, stored])
  assert.equal((await getVideo(s(), video.id)).swarm!.completed, stored)

  // Thinned at start: the first sample of each of the four hours, nothing older than 30 days.
  const older = (await storedSamples()).filter((r) => r.ms < Date.now() - DAY)
  assert.deepEqual(
    older.map((r) => [(r.ms - hourStart) / MIN, r.seeders]),
    [
      [7, 10],
      [62, 21],
      [122, 33],
      [182, 45],
    ],
  )
  // The 30-day history shows them.
  const month = (await history('?range=30d')).body.points
  for (const r of older)
    assert.ok(
      month.some((p) => Date.parse(p.at) === r.ms && p.seeders === r.seeders),
      `30d has ${r.at}`,
    )
})

test('thinning resumes where it stopped: the hour straddling the 24-hour line keeps its first sample', async () => {
  let now = 0
  const history = new SwarmHistory({
    db: s().services.db,
    tracker: s().services.tracker,
    sampleSeconds: 3600,
    clock: () => now,
  })
  // An hour of samples every 5 minutes, that hour being 25 hours ago.
  const hourStart = Math.floor(Date.now() / HOUR) * HOUR - DAY - HOUR
  const id = await torrentId()
  const data = Array.from({ length: 12 }, (_, i) => ({
    torrentId: id,
    at: new Date(hourStart + i * 5 * MIN),
    seeders: i,
    leechers: 0,
  }))
  await s().services.db.swarmSample.createMany({ data })
  const inThatHour = async () =>
    (await storedSamples())
      .filter((r) => r.ms >= hourStart && r.ms < hourStart + HOUR)
      .map((r) => (r.ms - hourStart) / MIN)

  // The 24-hour line half way through that hour: the first half is thinned to its first sample.
  now = hourStart + DAY + 30 * MIN
  assert.equal(await history.thin(now), 5)
  assert.deepEqual(await inThatHour(), [0, 30, 35, 40, 45, 50, 55])
  // An hour later the rest is old too; the run starts at that hour, so the sample at :00 decides.
  now += HOUR
  assert.equal(await history.thin(now), 6)
  assert.deepEqual(await inThatHour(), [0])
})

test('a day of very frequent samples is served at most one point a minute, ending at the newest', async () => {
  const history = new SwarmHistory({ db: s().services.db, tracker: s().services.tracker, sampleSeconds: 3600 })
  const from = Date.now() - 23 * HOUR
  const id = await torrentId()
  const data = Array.from({ length: 3000 }, (_, i) => ({
    torrentId: id,
    at: new Date(from + i * 20_000),
    seeders: i % 7,
    leechers: 0,
  }))
  await s().services.db.swarmSample.createMany({ data })
  // The server keeps sampling every second: the newest sample is this one or a later one.
  const newestBefore = (await storedSamples()).at(-1)!
  const points = await history.torrentHistory(await torrentId(), '24h')
  const minutes = points.map((p) => Math.floor(p.at / MIN))
  assert.ok(points.length > 900 && points.length <= 1441, `${points.length} points`)
  assert.equal(new Set(minutes.slice(0, -1)).size, points.length - 1, 'one point per minute (the newest may share one)')
  assert.equal(points[0]!.at, from)
  const last = points.at(-1)!
  assert.ok(last.at >= newestBefore.ms, 'ends at the newest sample')
  assert.ok(
    (await storedSamples()).some((r) => r.ms === last.at && r.seeders === last.seeders && r.leechers === last.leechers),
  )
})

test('the video page reads both ranges in one query, as each range alone gives them', async () => {
  const history = new SwarmHistory({ db: s().services.db, tracker: s().services.tracker, sampleSeconds: 3600 })
  // Samples in the future, so the server's own (every second, now) are older than 30 days at `now`.
  const now = Date.now() + 60 * DAY
  const id = await torrentId()
  const at = (ms: number, seeders: number) => ({ torrentId: id, at: new Date(ms), seeders, leechers: 1 })
  const outside = at(now - 31 * DAY, 999)
  const month = Array.from({ length: 10 }, (_, i) => at(now - 20 * DAY + i * HOUR, i))
  const day = Array.from({ length: 50 }, (_, i) => at(now - 2 * HOUR + i * 2 * MIN, 50 + i))
  await s().services.db.swarmSample.createMany({ data: [outside, ...month, ...day] })

  const both = await history.torrentHistories(id, now)
  assert.deepEqual(both['24h'], await history.torrentHistory(id, '24h', now))
  assert.deepEqual(both['30d'], await history.torrentHistory(id, '30d', now))
  assert.deepEqual(
    both['24h'].map((p) => p.seeders),
    day.map((d) => d.seeders),
  )
  const monthSeeders = both['30d'].map((p) => p.seeders)
  for (const m of month) assert.ok(monthSeeders.includes(m.seeders), `30d has the sample of ${m.seeders}`)
  assert.ok(!monthSeeders.includes(999), 'nothing older than 30 days')
})
