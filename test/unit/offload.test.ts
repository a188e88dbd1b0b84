// The offload figures' pure parts: what an announce adds to its swarm's tally of downloaded bytes
// (the rules in src/tracker/peerDownloads.ts, through the real SwarmStore), "served by peers",
// the tally the counting places fill, the bucket merging and the byte chart.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { SwarmStore, type PeerAnnounce } from '../../src/tracker/swarmStore.ts'
import type { SwarmTally } from '../../src/tracker/peerDownloads.ts'
import { offloadFigures } from '../../src/offload/offloadMath.ts'
import { OffloadTally } from '../../src/offload/offloadTally.ts'
import { OFFLOAD_BUCKET_MS, evenBuckets, hourlyMerges } from '../../src/offload/offloadRetention.ts'
import { renderOffloadChart } from '../../src/offload/offloadChart.ts'

const H = 'aa'.repeat(20)
const MiB = 1024 * 1024
const GiB = 1024 * MiB
const HOUR = 3_600_000
const DAY = 24 * HOUR

type Ann = Partial<PeerAnnounce & { downloaded: number }>
function swarm(size: number, opts: { maxPeersPerAddress?: number } = {}) {
  const store = new SwarmStore({ peerTtlMs: HOUR, maxPeersPerSwarm: 1000, maxNumwant: 50, ...opts })
  const tally: SwarmTally = { size, downloaded: 0 }
  /** Peer #n announces; returns what the announce added to the tally. */
  const announce = (n: number, o: Ann = {}): number => {
    const before = tally.downloaded
    const peerId = Buffer.from(`-XX0001-${String(n).padStart(12, '0')}`)
    store.announce({
      infoHash: H,
      peerKey: `10.0.0.${n}|${peerId.toString('latin1')}`,
      peerId,
      ip: `10.0.0.${n}`,
      port: 6881,
      left: 100,
      event: 'update',
      numwant: 0,
      nowMs: 1_000_000,
      downloaded: 0,
      tally,
      ...o,
    })
    return tally.downloaded - before
  }
  return { store, tally, announce }
}

describe('announced `downloaded`: what each announce adds', () => {
  test('increases since the last announce; `completed` and `stopped` bring the rest', () => {
    const s = swarm(100 * MiB)
    assert.equal(s.announce(1, { event: 'started', downloaded: 0 }), 0)
    assert.equal(s.announce(1, { downloaded: 10 * MiB }), 10 * MiB)
    assert.equal(s.announce(1, { downloaded: 10 * MiB }), 0)
    assert.equal(s.announce(1, { downloaded: 60 * MiB }), 50 * MiB)
    assert.equal(s.announce(1, { event: 'completed', left: 0, downloaded: 100 * MiB }), 40 * MiB)
    assert.equal(s.announce(2, { event: 'started', downloaded: 0 }), 0)
    assert.equal(s.announce(2, { event: 'stopped', downloaded: 30 * MiB }), 30 * MiB)
    assert.equal(s.tally.downloaded, 130 * MiB)
  })

  test('a client that restarts at 0 counts again from 0; `started` opens a new session', () => {
    const s = swarm(100 * MiB)
    s.announce(1, { event: 'started' })
    assert.equal(s.announce(1, { downloaded: 40 * MiB }), 40 * MiB)
    assert.equal(s.announce(1, { downloaded: 0 }), 0)
    assert.equal(s.announce(1, { downloaded: 5 * MiB }), 5 * MiB)
    assert.equal(s.announce(1, { downloaded: 3 * MiB }), 3 * MiB, 'went back: a new count from 0')
    assert.equal(s.announce(1, { event: 'started', downloaded: 7 * MiB }), 7 * MiB)
    assert.equal(s.announce(1, { downloaded: 8 * MiB }), 1 * MiB)
  })

  test('never more than the file size per peer; a bogus huge value counts as the file once; never negative', () => {
    const s = swarm(100 * MiB)
    s.announce(1, { event: 'started' })
    assert.equal(s.announce(1, { downloaded: 20 * MiB }), 20 * MiB)
    assert.equal(s.announce(1, { downloaded: Number.MAX_SAFE_INTEGER }), 80 * MiB)
    assert.equal(s.announce(1, { downloaded: Number.MAX_SAFE_INTEGER }), 0)
    assert.equal(s.announce(1, { downloaded: 150 * MiB }), 0, 'past the file: still the file')
    assert.equal(s.announce(1, { event: 'stopped', downloaded: Number.MAX_SAFE_INTEGER }), 0)
    assert.equal(s.announce(2, { event: 'started', downloaded: 5 * GiB }), 100 * MiB, 'a first announce too')
    assert.equal(s.announce(3, { event: 'started', downloaded: -5 }), 0)
  })

  test('a peer the store does not know sets its baseline only (no double count after a restart of the site)', () => {
    const s = swarm(100 * MiB)
    assert.equal(s.announce(1, { downloaded: 70 * MiB }), 0)
    assert.equal(s.announce(1, { downloaded: 75 * MiB }), 5 * MiB)
    assert.equal(s.announce(2, { event: 'completed', left: 0, downloaded: 100 * MiB }), 0)
    assert.equal(s.announce(3, { event: 'stopped', downloaded: 100 * MiB }), 0)
  })

  test('a peer not stored (its address over the cap) counts a `started` only', () => {
    const s = swarm(100 * MiB, { maxPeersPerAddress: 1 })
    const sameAddress = (n: number, o: Ann) =>
      s.store.announce({
        infoHash: H,
        peerKey: `10.9.9.9|peer${n}`,
        peerId: Buffer.from(`-XX0001-${String(n).padStart(12, '0')}`),
        ip: '10.9.9.9',
        port: 7000 + n,
        left: 100,
        event: 'update',
        numwant: 0,
        nowMs: 1_000_000,
        downloaded: 0,
        tally: s.tally,
        ...o,
      })
    sameAddress(1, { event: 'started' })
    assert.equal(sameAddress(2, { event: 'started', downloaded: 9 * MiB }).notStored, 'per_address')
    assert.equal(s.tally.downloaded, 9 * MiB)
    sameAddress(2, { downloaded: 20 * MiB })
    assert.equal(s.tally.downloaded, 9 * MiB)
  })

  test('exact beyond 2^30 and 2^32 bytes (the baseline is two small integers)', () => {
    const s = swarm(20 * GiB + 12345)
    s.announce(1, { event: 'started' })
    assert.equal(s.announce(1, { downloaded: 3 * GiB + 7 }), 3 * GiB + 7)
    assert.equal(s.announce(1, { downloaded: 17 * GiB + 1 }), 14 * GiB - 6)
    assert.equal(s.announce(1, { event: 'completed', left: 0, downloaded: 20 * GiB + 12345 }), 3 * GiB + 12344)
    assert.equal(s.tally.downloaded, 20 * GiB + 12345)
  })

  test("without a tally (the site's own seeder), nothing is counted", () => {
    const s = swarm(100 * MiB)
    assert.equal(s.announce(1, { event: 'started', downloaded: 5 * MiB, tally: undefined }), 0)
    assert.equal(s.announce(1, { downloaded: 50 * MiB, tally: undefined }), 0)
    assert.equal(s.store.counts(H).incomplete, 1, 'still a peer of the swarm')
  })
})

test('served by peers: downloaded minus seeder and web seed, floored at 0; playback is not a peer', () => {
  const f = offloadFigures({ seederBytes: 10n, webSeedBytes: 20n, playbackBytes: 70n, downloadedBytes: 130n })
  assert.deepEqual(f.originBytes, { seeder: 10, webseed: 20, playback: 70, total: 100 })
  assert.equal(f.peerBytes, 100)
  assert.equal(f.peerShare, 0.5)
  assert.equal(
    offloadFigures({ seederBytes: 50, webSeedBytes: 60, playbackBytes: 0, downloadedBytes: 100 }).peerBytes,
    0,
  )
  assert.deepEqual(offloadFigures(null), {
    originBytes: { seeder: 0, webseed: 0, playback: 0, total: 0 },
    peerBytes: 0,
    peerShare: 0,
  })
})

test('the tally adds per video and field, takes everything at once, and takes a failed batch back', () => {
  const t = new OffloadTally()
  t.add('fileName', 'a.mp4', 'playback', 100)
  t.add('fileName', 'a.mp4', 'webseed', 5)
  t.add('fileName', 'a.mp4', 'playback', 20)
  t.add('infoHash', 'aa', 'downloaded', 7)
  t.add('fileName', 'b.mp4', 'playback', 0)
  t.add('fileName', 'b.mp4', 'playback', Number.NaN)
  const batch = t.take()
  assert.deepEqual(batch, [
    { by: 'fileName', key: 'a.mp4', seeder: 0, webseed: 5, playback: 120, downloaded: 0 },
    { by: 'infoHash', key: 'aa', seeder: 0, webseed: 0, playback: 0, downloaded: 7 },
  ])
  assert.equal(t.size, 0)
  t.add('fileName', 'a.mp4', 'playback', 1)
  t.addAll(batch)
  assert.deepEqual(t.take()[0], { by: 'fileName', key: 'a.mp4', seeder: 0, webseed: 5, playback: 121, downloaded: 0 })
})

describe('buckets', () => {
  const NOW = Date.UTC(2026, 11, 1, 12, 2, 0)
  const row = (at: number, n: number) => ({
    at,
    seederBytes: n,
    webSeedBytes: 2 * n,
    playbackBytes: 3 * n,
    downloadedBytes: 4 * n,
  })

  test('past a day, an hour of 5-minute buckets becomes one bucket holding their sums', () => {
    const hour = NOW - 2 * DAY - ((NOW - 2 * DAY) % HOUR)
    const rows = [row(hour, 1), row(hour + OFFLOAD_BUCKET_MS, 2), row(hour + 11 * OFFLOAD_BUCKET_MS, 3)]
    const merged = hourlyMerges([...rows, row(hour + HOUR, 9), row(NOW - HOUR, 5)], NOW)
    assert.deepEqual(merged, [
      {
        at: hour,
        replaced: [hour, hour + OFFLOAD_BUCKET_MS, hour + 11 * OFFLOAD_BUCKET_MS],
        sums: { seederBytes: 6, webSeedBytes: 12, playbackBytes: 18, downloadedBytes: 24 },
      },
    ])
    assert.deepEqual(hourlyMerges([row(hour, 4)], NOW), [], 'already one bucket at the hour')
  })

  test('an even series: every bucket of the range, zeros where nothing moved', () => {
    const from = NOW - HOUR
    const out = evenBuckets([row(NOW - 10 * 60_000, 1), row(NOW - 9 * 60_000, 2)], from, NOW, OFFLOAD_BUCKET_MS)
    assert.equal(out.length, 13)
    assert.equal(out[0]!.at, from - (from % OFFLOAD_BUCKET_MS))
    const hit = out.find((b) => b.seederBytes > 0)!
    assert.equal(hit.at, NOW - 12 * 60_000)
    assert.equal(hit.downloadedBytes, 12)
    assert.equal(
      out.reduce((s, b) => s + b.seederBytes, 0),
      3,
    )
  })
})

test('the byte chart labels its axis in the unit its largest bucket reads best in', () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 0)
  const points = [0, 1, 2].map((i) => ({
    at: now - (3 - i) * OFFLOAD_BUCKET_MS,
    originBytes: i * 30 * MiB,
    peerBytes: 90 * MiB,
  }))
  const svg = renderOffloadChart(points, { width: 600, height: 200, rangeMs: DAY, now, bucketMs: OFFLOAD_BUCKET_MS })
  assert.match(svg, /class="offload-chart"/)
  assert.match(svg, />100 MiB</)
  assert.match(svg, /<g class="series originBytes"[^>]*><path d="M[^"]+L[^"]+"/)
  assert.match(svg, /<g class="series peerBytes"/)
  assert.match(svg, /aria-label="Bytes sent by this site and by peers over the last 24 hours"/)
})
