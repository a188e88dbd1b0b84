// Two seeders run as services of their own beside one web app (SEEDER=off there), with
// SEEDER_SHARD=1/2 and 2/2, as a site spreads its seeding over two machines sharing storage and
// database: each torrent is seeded by exactly one of them, the one its infohash picks, and the
// web app's /healthz reports both, their sum and each one's share.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { inShard } from '../../bt_server/shard.ts'
import { apiUpload, getJson, waitFor } from '../helpers/http.ts'
import { makeVideo } from '../helpers/media.ts'
import { peerHandshake } from '../helpers/seededSite.ts'
import { startTestServer } from '../helpers/server.ts'
import { type SeparateSeeder, startSeparateSeeder } from '../helpers/separateSeeder.ts'

test('two seeders split the torrents by infohash: each torrent is answered by its shard alone', {
  timeout: 180_000,
}, async (t) => {
  const server = await startTestServer({ SEEDER: 'off' })
  t.after(() => server.stop())
  const clip = await makeVideo({ seconds: 1 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  // Until each shard has a torrent (each upload lands in either with even odds; 12 tries fail
  // with odds of 1 in 2,048).
  const hashes: string[] = []
  const shards = [
    { index: 1, count: 2 },
    { index: 2, count: 2 },
  ]
  while (hashes.length < 12 && !shards.every((s) => hashes.some((h) => inShard(h, s)))) {
    const res = await apiUpload(server, { title: `clip ${hashes.length}` }, { path: clip })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    hashes.push(res.body.torrent.infoHash)
  }
  assert.ok(
    shards.every((s) => hashes.some((h) => inShard(h, s))),
    'both shards have a torrent',
  )

  const seeders: SeparateSeeder[] = []
  for (const s of shards) seeders.push(await startSeparateSeeder(t, server, { SEEDER_SHARD: `${s.index}/${s.count}` }))

  const health = async () => (await getJson(`${server.url}/healthz`)).body.seeder
  const both = await waitFor(
    async () => {
      const h = await health()
      return h.state === 'running' && h.seeding === hashes.length ? h : null
    },
    `both shards' heartbeats (${seeders.map((s) => s.output()).join(' | ')})`,
    30_000,
  )
  assert.deepEqual(
    both.shards.map((s: { shard: string; seeding: number }) => [s.shard, s.seeding]),
    shards.map((s) => [`${s.index}/${s.count}`, hashes.filter((h) => inShard(h, s)).length]),
  )

  for (const hash of hashes) {
    for (const [i, s] of shards.entries()) {
      const expected = inShard(hash, s) ? 'answered' : 'refused'
      assert.equal(await peerHandshake(seeders[i]!.port, hash), expected, `${hash} on shard ${s.index}/${s.count}`)
    }
  }
})
