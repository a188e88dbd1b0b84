// Which stored swarm samples survive: all of the last 24 hours, then the first of each hour, none
// after 30 days. Explicit timestamps, no database; the database side is in
// test/integration/swarm-history.test.ts.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  DAY_MS,
  HOUR_MS,
  RETENTION,
  bucketStart,
  onePerBucket,
  samplesToDelete,
  type SampleRef,
} from '../../src/tracker/swarmRetention.ts'
import { ConfigError, loadConfig } from '../../src/config.ts'

const MIN = 60_000
// An hour boundary, so bucket arithmetic in the tests is easy to read.
const NOW = Date.UTC(2025, 5, 30, 12, 0, 0)

/** Samples every `everyMs` over [from, to), ids counting up from `firstId`. */
function series(torrentId: number, from: number, to: number, everyMs: number, firstId = 1): SampleRef[] {
  const out: SampleRef[] = []
  for (let at = from, id = firstId; at < to; at += everyMs, id++) out.push({ id, torrentId, at })
  return out
}

function survivors(samples: SampleRef[], nowMs: number): SampleRef[] {
  const drop = new Set(samplesToDelete(samples, nowMs))
  return samples.filter((s) => !drop.has(s.id))
}

describe('samplesToDelete', () => {
  test('the last 24 hours are kept in full', () => {
    const recent = series(1, NOW - DAY_MS, NOW, 5 * MIN)
    assert.equal(recent.length, 288)
    assert.deepEqual(samplesToDelete(recent, NOW), [])
  })

  test('older than 24 hours: the first sample of each hour stays, the rest go', () => {
    // Two days ago, every 5 minutes, starting 10 minutes into an hour.
    const from = NOW - 2 * DAY_MS + 10 * MIN
    const old = series(1, from, from + 3 * HOUR_MS, 5 * MIN)
    const kept = survivors(old, NOW)
    assert.deepEqual(
      kept.map((s) => new Date(s.at).toISOString()),
      [
        new Date(from).toISOString(), // 12:10, first of its hour (12:00-13:00)
        new Date(NOW - 2 * DAY_MS + HOUR_MS).toISOString(), // 13:00
        new Date(NOW - 2 * DAY_MS + 2 * HOUR_MS).toISOString(), // 14:00
        new Date(NOW - 2 * DAY_MS + 3 * HOUR_MS).toISOString(), // 15:00 (the series stops at 15:05)
      ],
    )
    assert.equal(samplesToDelete(old, NOW).length, old.length - kept.length)
  })

  test('older than 30 days: deleted, even a lone hourly sample', () => {
    const samples = [
      { id: 1, torrentId: 1, at: NOW - RETENTION.keepMs - 1 },
      { id: 2, torrentId: 1, at: NOW - 40 * DAY_MS },
      { id: 3, torrentId: 1, at: NOW - RETENTION.keepMs + MIN }, // just inside
    ]
    assert.deepEqual(samplesToDelete(samples, NOW).sort(), [1, 2])
  })

  test('each torrent keeps its own first sample of the hour', () => {
    const at = NOW - 3 * DAY_MS
    const samples = [
      { id: 1, torrentId: 1, at: at + 1 * MIN },
      { id: 2, torrentId: 2, at: at + 2 * MIN },
      { id: 3, torrentId: 1, at: at + 3 * MIN },
      { id: 4, torrentId: 2, at: at + 4 * MIN },
    ]
    assert.deepEqual(samplesToDelete(samples, NOW).sort(), [3, 4])
  })

  test('order of the input does not matter; equal times keep the lower id', () => {
    const at = NOW - 3 * DAY_MS + 20 * MIN
    const samples = [
      { id: 9, torrentId: 1, at: at + 30 * MIN },
      { id: 7, torrentId: 1, at },
      { id: 5, torrentId: 1, at }, // same instant as id 7
      { id: 8, torrentId: 1, at: at + 10 * MIN },
    ]
    assert.deepEqual(samplesToDelete(samples, NOW).sort(), [7, 8, 9])
    assert.deepEqual(samplesToDelete([...samples].reverse(), NOW).sort(), [7, 8, 9])
  })

  test('the hour that straddles the 24-hour line keeps the same first sample as it ages out', () => {
    // 11:00-12:00 a day ago, every 5 minutes. At NOW + 30 min the line sits at 12:30 a day ago.
    const hourStart = NOW - DAY_MS - HOUR_MS
    let stored = series(1, hourStart, hourStart + HOUR_MS, 5 * MIN)
    // First run half an hour before NOW: the line is at 11:30 a day ago, so 11:00..11:25 are old.
    const first = NOW - 30 * MIN
    stored = survivors(stored, first)
    assert.equal(stored[0]!.at, hourStart, 'the first sample of the hour stays')
    assert.deepEqual(
      stored.slice(1).map((s) => (s.at - hourStart) / MIN),
      [30, 35, 40, 45, 50, 55],
      'the part inside 24 hours is untouched',
    )
    // Later run: the whole hour is old now; what was kept before is still the one kept.
    stored = survivors(stored, NOW + 30 * MIN)
    assert.deepEqual(
      stored.map((s) => s.at),
      [hourStart],
    )
  })

  test('a custom policy', () => {
    const policy = { fullDetailMs: 10 * MIN, bucketMs: 5 * MIN, keepMs: 60 * MIN }
    const samples = series(1, NOW - 90 * MIN, NOW, MIN)
    const drop = new Set(samplesToDelete(samples, NOW, policy))
    const kept = samples.filter((s) => !drop.has(s.id)).map((s) => (NOW - s.at) / MIN)
    // 60 minutes kept at all; 60..10 min ago one per 5 minutes; the last 10 minutes in full.
    assert.deepEqual(kept, [60, 55, 50, 45, 40, 35, 30, 25, 20, 15, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
  })
})

describe('onePerBucket and bucketStart', () => {
  test('the first point of each hour, and the newest one', () => {
    const points = [0, 10, 59, 60, 61, 180, 185].map((m) => ({ at: NOW + m * MIN, v: m }))
    assert.deepEqual(
      onePerBucket(points, HOUR_MS).map((p) => p.v),
      [0, 60, 180, 185],
    )
    assert.deepEqual(
      onePerBucket(points.slice(0, 6), HOUR_MS).map((p) => p.v),
      [0, 60, 180],
      'the newest is a first already',
    )
    assert.deepEqual(onePerBucket([points[0]!], HOUR_MS), [points[0]])
    assert.deepEqual(onePerBucket([], HOUR_MS), [])
  })

  test('bucketStart rounds down to the hour', () => {
    assert.equal(bucketStart(NOW + 59 * MIN), NOW)
    assert.equal(bucketStart(NOW), NOW)
    assert.equal(bucketStart(NOW - 1), NOW - HOUR_MS)
  })
})

describe('TRACKER_SAMPLE_SECONDS', () => {
  test('defaults to 300 seconds and is config.tracker.sampleSeconds', () => {
    assert.equal(loadConfig({}).tracker.sampleSeconds, 300)
    assert.equal(loadConfig({ TRACKER_SAMPLE_SECONDS: '1' }).tracker.sampleSeconds, 1)
  })

  test('must be a whole number of at least 1', () => {
    for (const bad of ['0', '-5', '1.5', 'often']) {
      assert.throws(
        () => loadConfig({ TRACKER_SAMPLE_SECONDS: bad }),
        (err: unknown) => err instanceof ConfigError && /TRACKER_SAMPLE_SECONDS/.test(err.message),
        bad,
      )
    }
  })
})
