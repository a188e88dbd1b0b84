// The allow list's aliases for hybrid torrents (the end-to-end behaviour is in
// test/integration/tracker-hybrid.test.ts): what allow() and disallow() do with a v2 infohash,
// edge by edge, on the tracker itself in-process.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { EmbeddedTracker } from '../../src/tracker/embeddedTracker.ts'
import { inProcessTracker } from '../helpers/tracker.ts'

const V1 = 'aa'.repeat(20)
const V2 = 'bb'.repeat(32) // full SHA-256 hex
const ALIAS = V2.slice(0, 40)
const OTHER = 'cc'.repeat(20)

const tracker = () => inProcessTracker()
const peer = (n: number, left: number, infoHash: string, event: 'started' | 'completed' | 'update' = 'started') => ({
  infoHash,
  peerId: Buffer.from(`-TT0001-${String(n).padStart(12, '0')}`),
  port: 6881 + n,
  left,
  downloaded: 100,
  event,
  numwant: 50,
})
const allowedGauge = (t: EmbeddedTracker): string | undefined =>
  t.metricsText().match(/^seedcast_tracker_allowed_torrents (\d+)$/m)?.[1]

test('allow() with a v2 infohash: its first 20 bytes answer as the torrent, until disallowed by either hash', async () => {
  const t = tracker()
  try {
    t.allow(V1.toUpperCase(), 2, 1000, V2.toUpperCase())
    t.allow(V1, 1, 1000, V2) // again (a publish after a start-up load): no second alias
    assert.equal(t.isAllowed(ALIAS), true)
    assert.equal(t.completed(ALIAS), 2)
    assert.equal(allowedGauge(t), '1')

    assert.equal(t.announce(peer(1, 0, ALIAS), '10.0.0.1', 'http').ok, true)
    assert.equal(t.announce(peer(2, 500, V1), '10.0.0.2', 'udp').ok, true)
    assert.deepEqual(t.counts(V1), { seeders: 1, leechers: 1 })
    assert.deepEqual(t.counts(ALIAS), { seeders: 1, leechers: 1 })
    const scrape = t.scrape([ALIAS, V1], null, 'http')
    assert.ok(scrape.ok)
    assert.deepEqual(
      scrape.files.map((f) => f.infoHash),
      [ALIAS, V1],
    )
    // Offload bytes: one increment, keyed by the torrent's infohash (100 from each new `started`).
    assert.deepEqual(
      t.takeDownloaded().map((d) => [d.key, d.downloaded]),
      [[V1, 200]],
    )

    t.disallow(ALIAS.toUpperCase())
    assert.equal(t.isAllowed(V1), false)
    assert.equal(t.isAllowed(ALIAS), false)
    assert.equal(allowedGauge(t), '0')
    assert.equal(t.announce(peer(1, 0, ALIAS), '10.0.0.1', 'http').ok, false)
    assert.deepEqual(t.counts(V1), { seeders: 0, leechers: 0 }, 'its swarm went with it')
  } finally {
    await t.close()
  }
})

test("a v2-only torrent has nothing to alias, and an alias never shadows another torrent's hash", async () => {
  const t = tracker()
  try {
    // v2-only: Torrent.infoHash already is the truncated v2.
    t.allow(ALIAS, 0, 1000, V2)
    assert.equal(allowedGauge(t), '1')
    // A (vanishingly unlikely) v2 whose first 20 bytes are another torrent's infohash: not aliased.
    t.allow(V1, 0, 1000, OTHER + 'dd'.repeat(12))
    t.allow(OTHER, 0, 1000)
    t.allow('ee'.repeat(20), 0, 1000, `${OTHER}${'ff'.repeat(12)}`)
    assert.equal(t.announce(peer(1, 0, OTHER), '10.0.0.1', 'http').ok, true)
    assert.deepEqual(t.counts(OTHER), { seeders: 1, leechers: 0 })
    assert.deepEqual(t.counts('ee'.repeat(20)), { seeders: 0, leechers: 0 })
    // V1's alias was taken before OTHER was allowed; allowing OTHER itself took it back.
    assert.deepEqual(t.counts(V1), { seeders: 0, leechers: 0 })
    assert.equal(allowedGauge(t), '4')
    t.disallow(V1)
    assert.equal(t.isAllowed(OTHER), true, "removing V1 leaves OTHER's own entry")
  } finally {
    await t.close()
  }
})
