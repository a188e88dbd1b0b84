// The seeder run as its own service beside the web app (SEEDER=off, `npm run seeder`), as the
// guide's second layout has it: it hears of a new upload, of a new upload cap, of a video
// unpublished and published again, and of BitTorrent switched off at once through the database
// (its full rescan is set to 5 minutes here, so only the notice can explain it), and the web
// app's /healthz reports it from its heartbeat.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { HEARTBEAT_STALE_MS, separateSeederHealth } from '../../src/seeder/seederLink.ts'
import { startTestServer } from '../helpers/server.ts'
import { startSeparateSeeder } from '../helpers/separateSeeder.ts'
import { getJson, waitFor } from '../helpers/http.ts'
import { peerHandshake, uploadClip } from '../helpers/seededSite.ts'

test('a seeder of its own seeds a new upload, follows an unpublish and a publish, and stops for BitTorrent off within seconds; /healthz reports it', {
  timeout: 90_000,
}, async (t) => {
  const server = await startTestServer({ SEEDER: 'off' })
  t.after(() => server.stop())
  const seeder = await startSeparateSeeder(t, server, { SEEDER_RESCAN_SECONDS: '300' })
  const { port: seederPort, child } = seeder

  const health = async () => (await getJson(`${server.url}/healthz`)).body.seeder
  const running = await waitFor(
    async () => {
      const h = await health()
      return h.state === 'running' ? h : null
    },
    `the seeder's heartbeat (${seeder.output()})`,
    20_000,
  )
  assert.equal(running.separate, true)
  assert.equal(running.pid, child.pid)
  assert.equal(running.port, seederPort)

  const started = Date.now()
  const upload = await uploadClip(t, server, { seconds: 2 })
  const hash = upload.video.torrent!.infoHash
  await waitFor(
    async () => (await peerHandshake(seederPort, hash)) === 'answered',
    `the seeder to seed the new upload (${seeder.output()})`,
    5_000,
  )
  t.diagnostic(`seeded ${Date.now() - started} ms after the upload began`)
  await waitFor(async () => (await health()).seeding === 1, 'the heartbeat to count it', 10_000)

  // The upload cap reaches it the same way (the seeder logs each one it takes).
  const capAt = Date.now()
  const cap = await getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: server.basicAuth },
    body: JSON.stringify({ seederUploadCap: 1_500_000 }),
  })
  assert.equal(cap.status, 200)
  await waitFor(
    async () => seeder.output().includes('upload cap: 1500000 bytes/s'),
    `the seeder to take the cap (${seeder.output()})`,
    5_000,
  )
  t.diagnostic(`cap taken ${Date.now() - capAt} ms after the change`)

  // An unpublish and a publish reach it the same way: it stops seeding the video, then seeds it again.
  const publish = (published: boolean) =>
    getJson(`${server.url}/api/videos/${upload.video.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', authorization: server.basicAuth },
      body: JSON.stringify({ published }),
    })
  const privateAt = Date.now()
  assert.equal((await publish(false)).status, 200)
  await waitFor(
    async () => (await peerHandshake(seederPort, hash)) === 'refused',
    'the seeder to stop for the unpublish',
    5_000,
  )
  t.diagnostic(`stopped ${Date.now() - privateAt} ms after the unpublish`)
  const publicAt = Date.now()
  assert.equal((await publish(true)).status, 200)
  await waitFor(
    async () => (await peerHandshake(seederPort, hash)) === 'answered',
    'the seeder to seed it again',
    5_000,
  )
  t.diagnostic(`seeded again ${Date.now() - publicAt} ms after the publish`)

  const offAt = Date.now()
  const put = await getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: server.basicAuth },
    body: JSON.stringify({ bittorrentEnabled: false }),
  })
  assert.equal(put.status, 200)
  await waitFor(async () => (await peerHandshake(seederPort, hash)) === 'refused', 'the seeder to stop', 5_000)
  t.diagnostic(`stopped ${Date.now() - offAt} ms after the switch`)
})

test('a heartbeat older than the bound reads as unreachable, none as off; shards are summed, each reported', () => {
  const beat = { at: 1_000_000, pid: 7, shard: '1/1', seeding: 3, port: 6881, problems: [], refusals: {} }
  assert.equal(separateSeederHealth([beat], beat.at + HEARTBEAT_STALE_MS).state, 'running')
  assert.equal(separateSeederHealth([beat], beat.at + HEARTBEAT_STALE_MS + 1).state, 'unreachable')
  assert.equal(separateSeederHealth([], 0).state, 'off')
  assert.equal(
    separateSeederHealth([beat], beat.at + 2 * 3600_000).state,
    'off',
    'a seeder gone for hours is forgotten',
  )
  const other = { ...beat, shard: '2/2', pid: 8, seeding: 4, at: beat.at - HEARTBEAT_STALE_MS }
  const both = separateSeederHealth([{ ...beat, shard: '1/2' }, other], beat.at + 1)
  assert.equal(both.state, 'unreachable', 'running only when every shard is')
  assert.equal(both.seeding, 7)
  assert.deepEqual('shards' in both ? both.shards.map((x) => [x.shard, x.state]) : null, [
    ['1/2', 'running'],
    ['2/2', 'unreachable'],
  ])
})
