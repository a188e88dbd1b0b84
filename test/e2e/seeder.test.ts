// The site's own seeder (bt_server/, supervised by the web app) as real BitTorrent clients see it.
// Every download here has its web seed removed, so the only source is the seeder peer that the
// site's tracker hands out: aria2c from a .torrent and from a bare magnet link (metadata over
// BEP 9), transmission-cli from a .torrent. Then: the seeder dies and comes back while the site
// keeps answering; publish and delete reach it without a restart; a changed file is not seeded.
// The seeder runs the default (lean) engine; SEEDER_ENGINE=webtorrent in the environment of the
// test run tests the webtorrent one instead.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { freePort } from '../helpers/server.ts'
import { announceQuery, trackerGet, btext, waitFor } from '../helpers/http.ts'
import { apiSwarm, encodeInfoHash } from '../helpers/swarm.ts'
import {
  aria2cFromSeeder,
  magnetWithoutWebSeed,
  peerHandshake,
  seederReady,
  sleep,
  startSeededServer,
  torrentWithoutWebSeed,
  transmissionFromSeeder,
  uploadClip,
  waitHealth,
  seedingSite,
} from '../helpers/seededSite.ts'

// ---- tests ------------------------------------------------------------------------------------

test('aria2c downloads a fresh upload from the seeder alone: .torrent without web seed, and magnet without ws=', {
  timeout: 150_000,
}, async (t) => {
  const server = await startSeededServer(t)
  await seederReady(server)
  const uploadStarted = Date.now()
  const upload = await uploadClip(t, server)
  const uploadedAt = Date.now()
  await waitHealth(server, (h) => h.seeding === 1, 'to seed the upload')
  t.diagnostic(
    `upload took ${uploadedAt - uploadStarted} ms; seeded ${Date.now() - uploadedAt} ms after the upload answered (${upload.original.length} bytes)`,
  )

  const fromTorrent = await aria2cFromSeeder(t, server, upload, await torrentWithoutWebSeed(upload))
  t.diagnostic(`aria2c with the stripped .torrent: ${fromTorrent} ms`)

  const magnet = magnetWithoutWebSeed(upload.video.torrent!.magnet)
  assert.doesNotMatch(magnet, /[?&]ws=/)
  const fromMagnet = await aria2cFromSeeder(t, server, upload, magnet)
  t.diagnostic(`aria2c with the magnet (metadata from the seeder): ${fromMagnet} ms`)
})

test('transmission-cli downloads a fresh upload from the seeder alone (.torrent without web seed)', {
  timeout: 120_000,
}, async (t) => {
  const { server, upload } = await seedingSite(t)
  // The seeder dials transmission (transmissionFromSeeder says why).
  const run = await transmissionFromSeeder(t, {
    torrent: await torrentWithoutWebSeed(upload),
    upload,
    server,
    timeoutMs: 60_000,
  })
  t.diagnostic(`transmission-cli finished in ${run.tookMs} ms`)
  // Everything transmission-cli reported talking to is on loopback.
  const addresses = new Set(run.output.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? [])
  assert.ok(
    [...addresses].every((a) => a.startsWith('127.')),
    `only loopback addresses, got ${[...addresses].join(', ')}`,
  )
  assert.match(run.output, /Bound socket \d+ to port \d+ on 127\.0\.0\.1/)
})

test('a killed seeder is restarted and serves a download again; the site answers throughout', {
  timeout: 120_000,
}, async (t) => {
  const server = await startSeededServer(t)
  await seederReady(server)
  const upload = await uploadClip(t, server, { seconds: 4 })
  const before = await waitHealth(server, (h) => h.seeding === 1, 'to seed the upload')
  assert.equal(before.restarts, 0)
  assert.ok(before.pid)

  // Poll /healthz every 100 ms from before the kill until the download afterwards is done.
  const statuses: (number | string)[] = []
  let polling = true
  const poller = (async () => {
    while (polling) {
      const started = Date.now()
      try {
        const res = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(2000) })
        await res.arrayBuffer()
        statuses.push(res.status)
      } catch (err) {
        statuses.push(String((err as Error).message))
      }
      await sleep(Math.max(0, 100 - (Date.now() - started)))
    }
  })()
  t.after(async () => {
    polling = false
    await poller
  })

  await sleep(300)
  process.kill(before.pid, 'SIGKILL')
  const killedAt = Date.now()
  const after = await waitHealth(
    server,
    (h) => h.state === 'running' && h.pid !== before.pid && h.pid !== null && h.restarts >= 1 && h.seeding === 1,
    'to be restarted and seeding',
    20_000,
  )
  t.diagnostic(
    `seeder back (pid ${before.pid} -> ${after.pid}, restarts ${after.restarts}) and seeding ${Date.now() - killedAt} ms after SIGKILL`,
  )
  assert.equal(after.port, server.seederPort, 'the new seeder listens on the same port')

  const took = await aria2cFromSeeder(t, server, upload, await torrentWithoutWebSeed(upload))
  t.diagnostic(`aria2c after the restart: ${took} ms`)
  polling = false
  await poller

  t.diagnostic(`/healthz polled ${statuses.length} times across the kill, the restart and the download`)
  const failures = statuses.filter((s) => s !== 200)
  assert.ok(statuses.length >= 10, `polled /healthz ${statuses.length} times`)
  assert.deepEqual(failures, [], `every /healthz answer was 200 (${statuses.length} polls)`)
  // Each seeder start announces as a seed, never as a finished download: the completed count can
  // hold aria2c's download at most. (aria2c, done before its next announce, sends `started` with
  // left>0 and then `stopped` with left=0, and no `completed`: the tracker does not count that.)
  await sleep(500)
  const swarm = await apiSwarm(server.url, upload.video.id)
  assert.ok(swarm.completed <= 1, `the seeder's two starts were counted as downloads: ${JSON.stringify(swarm)}`)
})

test('publish and delete reach the running seeder without a restart; the tracker then refuses the infohash', {
  timeout: 90_000,
}, async (t) => {
  const server = await startSeededServer(t)
  const first = await seederReady(server)
  assert.equal(first.seeding, 0)
  assert.equal(first.restarts, 0)

  const upload = await uploadClip(t, server, { seconds: 2, noise: 0 })
  const infoHash = upload.video.torrent!.infoHash
  const uploadedAt = Date.now()
  const seeding = await waitHealth(server, (h) => h.seeding === 1, 'to seed the upload', 5000)
  const seededIn = Date.now() - uploadedAt
  assert.equal(seeding.pid, first.pid, 'same seeder process: no restart')
  const swarm = await waitFor(
    async () => {
      const s = await apiSwarm(server.url, upload.video.id)
      return s.seeders >= 1 ? s : undefined
    },
    "the tracker to count the site's seed",
    5000,
  )
  t.diagnostic(
    `seeding ${seededIn} ms after the upload answered; tracker saw the seed ${Date.now() - uploadedAt} ms after it`,
  )
  assert.deepEqual(swarm, { seeders: 1, leechers: 0, completed: 0 }, 'the seeder is a seed, not a completed download')
  assert.equal(await peerHandshake(server.seederPort, infoHash), 'answered')

  const del = await fetch(`${server.url}/api/videos/${upload.video.id}`, {
    method: 'DELETE',
    headers: { authorization: server.basicAuth },
  })
  assert.equal(del.status, 204)
  const afterDelete = await waitHealth(server, (h) => h.seeding === 0, 'to stop seeding the deleted video', 5000)
  assert.equal(afterDelete.pid, first.pid, 'same seeder process: no restart')
  assert.equal(afterDelete.restarts, 0)
  assert.deepEqual(afterDelete.problems, [])
  assert.equal(
    await peerHandshake(server.seederPort, infoHash),
    'refused',
    'the seeder no longer serves the deleted torrent',
  )

  const announce = await trackerGet(
    `${server.url}/announce?${announceQuery(infoHash, { left: 100, event: 'started' })}`,
  )
  assert.ok(announce.body['failure reason'], `announce for a deleted video fails: ${JSON.stringify(announce.body)}`)
  assert.match(btext(announce.body['failure reason']), /unregistered/)
  const scraped = await trackerGet(`${server.url}/scrape?info_hash=${encodeInfoHash(infoHash)}`)
  assert.ok(scraped.body['failure reason'], 'scrape for a deleted video fails')
})

test('a stored file changed while the site was down is not seeded (nor one with a damaged .torrent); an untouched one still is', {
  timeout: 120_000,
}, async (t) => {
  const port = String(await freePort())
  const seederPort = String(await freePort())
  const first = await startSeededServer(t, { PORT: port, SEEDER_PORT: seederPort })
  await seederReady(first)
  const changed = await uploadClip(t, first, { seconds: 3, title: 'Will be changed' })
  const damaged = await uploadClip(t, first, { seconds: 1, noise: 0, title: 'Its .torrent gets damaged' })
  const kept = await uploadClip(t, first, { seconds: 3, title: 'Untouched' })
  await waitHealth(first, (h) => h.seeding === 3, 'to seed all three uploads')
  const storageDir = first.storageDir
  let second: Awaited<ReturnType<typeof startSeededServer>> | undefined
  // The second server removes the folder when it stops; this is for a failure before it starts.
  t.after(() => (second ? undefined : rm(storageDir, { recursive: true, force: true })))
  await first.stop({ keepStorage: true })

  // Same size, different bytes in the middle.
  const mediaFile = path.join(storageDir, 'media', changed.fileName)
  const sizeBefore = (await stat(mediaFile)).size
  const fh = await open(mediaFile, 'r+')
  try {
    await fh.write(randomBytes(4096), 0, 4096, Math.floor(sizeBefore / 2))
  } finally {
    await fh.close()
  }
  assert.equal((await stat(mediaFile)).size, sizeBefore)
  // And one video whose .torrent file is cut short (its media file untouched): a problem of its
  // own, which must not stop the seeder from going on to the videos after it.
  const damagedTorrent = path.join(storageDir, 'media', `${damaged.fileName}.torrent`)
  await writeFile(damagedTorrent, (await readFile(damagedTorrent)).subarray(0, 100))

  // Same site address, so the stored .torrent files still name this tracker.
  second = await startSeededServer(t, { PORT: port, SEEDER_PORT: seederPort }, storageDir)
  const h = await waitHealth(
    second,
    (x) => x.state === 'running' && x.seeding !== null && x.problems.length > 0,
    'to report the changed file',
  )
  assert.equal(h.seeding, 1, 'only the untouched video is seeded')
  const problems = new Map(h.problems.map((p) => [p.fileName, p.reason]))
  assert.deepEqual([...problems.keys()].sort(), [changed.fileName, damaged.fileName].sort())
  assert.match(problems.get(changed.fileName)!, /no longer matches/)
  assert.match(problems.get(damaged.fileName)!, /cannot seed/)
  assert.equal(
    await peerHandshake(second.seederPort, changed.video.torrent!.infoHash),
    'refused',
    'the changed file is not served',
  )
  assert.equal(
    await peerHandshake(second.seederPort, damaged.video.torrent!.infoHash),
    'refused',
    'the video with the damaged .torrent is not served',
  )
  assert.equal(
    await peerHandshake(second.seederPort, kept.video.torrent!.infoHash),
    'answered',
    'the untouched file is served',
  )

  const took = await aria2cFromSeeder(t, second, kept, await torrentWithoutWebSeed(kept))
  t.diagnostic(`aria2c fetched the untouched video from the restarted seeder in ${took} ms`)
})
