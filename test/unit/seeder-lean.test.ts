// The lean seeder's pure parts: request queue, upload slots, window geometry, piece cache (with a
// fake reader), descriptor LRU (fake open/close) and the announce schedule (fake clock).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AnnounceSchedule } from '../../bt_server/lean/announceSchedule.ts'
import { FdCache } from '../../bt_server/lean/fdCache.ts'
import {
  badRequest,
  BLOCK,
  layoutWindow,
  messageSpan,
  nextWindowInPiece,
  slotOf,
  SLOT,
  WINDOW_BUFFER_BYTES,
  WINDOW_BYTES,
  windowBlockCount,
  windowCount,
  type Geometry,
} from '../../bt_server/lean/geometry.ts'
import { PieceCache, type CacheTorrent } from '../../bt_server/lean/pieceCache.ts'
import { RequestQueue } from '../../bt_server/lean/requestQueue.ts'
import { UnchokeSlots } from '../../bt_server/lean/unchokeSlots.ts'
import { MessageParser } from '../../src/bittorrent/wire/parser.ts'

// ---- request queue ----------------------------------------------------------------------------

test('request queue: FIFO, bounded, cancel closes the gap, clear returns the rest', () => {
  const q = new RequestQueue(4)
  for (let i = 0; i < 4; i++) assert.equal(q.push(i, i * BLOCK, BLOCK), true)
  assert.equal(q.push(9, 0, BLOCK), false, 'full at the cap')
  assert.equal(q.size, 4)
  assert.equal(q.cancel(1, BLOCK, BLOCK), true)
  assert.equal(q.cancel(1, BLOCK, BLOCK), false, 'already gone')
  assert.equal(q.cancel(2, 0, BLOCK), false, 'no such request')
  assert.deepEqual([q.index(0), q.index(1), q.index(2)], [0, 2, 3])
  q.shift()
  assert.equal(q.push(4, 0, 100), true)
  assert.equal(q.push(5, 0, 100), true) // wraps around the ring
  assert.deepEqual(q.clear(), [
    { index: 2, begin: 2 * BLOCK, length: BLOCK },
    { index: 3, begin: 3 * BLOCK, length: BLOCK },
    { index: 4, begin: 0, length: 100 },
    { index: 5, begin: 0, length: 100 },
  ])
  assert.equal(q.size, 0)
})

test('request queue: cancel in a wrapped ring keeps the order', () => {
  const q = new RequestQueue(3)
  q.push(1, 0, 1)
  q.push(2, 0, 1)
  q.shift()
  q.shift()
  q.push(3, 0, 1)
  q.push(4, 0, 1)
  q.push(5, 0, 1) // head at slot 2, wrapping
  assert.equal(q.cancel(4, 0, 1), true)
  assert.deepEqual(
    q.clear().map((r) => r.index),
    [3, 5],
  )
})

// ---- upload slots -----------------------------------------------------------------------------

test('unchoke slots: up to max at once, then the optimistic slot, the rest in arrival order', () => {
  const s = new UnchokeSlots<string>(2)
  assert.equal(s.request('a', 0), true)
  assert.equal(s.request('b', 0), true)
  assert.equal(s.request('c', 0), true, 'the free optimistic slot')
  assert.equal(s.optimisticPeer, 'c')
  assert.equal(s.request('d', 0), false)
  assert.equal(s.request('e', 0), false)
  assert.equal(s.request('a', 0), true, 'already unchoked')
  assert.equal(s.release('e', 0), undefined, 'a waiting peer leaving frees nothing')
  assert.equal(s.release('a', 0), 'd')
  assert.equal(s.release('b', 0), undefined)
  assert.equal(s.count, 2, 'd and the optimistic c')
  assert.equal(s.queued, 0)
})

// ---- geometry ---------------------------------------------------------------------------------

const g: Geometry = { size: 3 * 1048576 + 20_000, pieceLength: 1048576, pieceCount: 4 }

test('geometry: request validation', () => {
  assert.equal(badRequest(g, 0, 0, BLOCK), null)
  assert.equal(badRequest(g, 3, 0, 20_000), null)
  assert.match(badRequest(g, 4, 0, BLOCK)!, /out of range/)
  assert.match(badRequest(g, 3, 16384, 16384)!, /past the end/)
  assert.match(badRequest(g, 0, 0, 0)!, /length/)
  assert.match(badRequest(g, 0, 0, 256 * 1024)!, /length/)
})

test('geometry: standard blocks map to window slots, others to -1', () => {
  assert.equal(slotOf(g, 0, 0, BLOCK), 0)
  assert.equal(slotOf(g, 1, BLOCK, BLOCK), 1048576 / BLOCK + 1)
  assert.equal(slotOf(g, 3, BLOCK, 20_000 - BLOCK), (3 * 1048576 + BLOCK) / BLOCK, 'the short last block')
  assert.equal(slotOf(g, 0, 8192, BLOCK), -1, 'unaligned')
  assert.equal(slotOf(g, 0, 0, 8192), -1, 'short')
  assert.equal(
    slotOf({ size: 100_000, pieceLength: 24_576, pieceCount: 5 }, 0, 0, BLOCK),
    -1,
    'piece length not a block multiple',
  )
  assert.equal(windowCount(g), 13)
  assert.equal(windowBlockCount(g, 12), 2)
  assert.equal(windowBlockCount(g, 13), 0)
})

test('geometry: a window is ready-made piece messages back to back, parseable as a stream', () => {
  const small: Geometry = { size: 5 * BLOCK + 100, pieceLength: 2 * BLOCK, pieceCount: 3 }
  const buf = Buffer.alloc(WINDOW_BUFFER_BYTES)
  const targets = layoutWindow(small, 0, buf)
  assert.equal(targets.length, 6)
  assert.deepEqual(
    targets.map((t) => t.length),
    [BLOCK, BLOCK, BLOCK, BLOCK, BLOCK, 100],
  )
  targets.forEach((t, i) => t.fill(i + 1))
  const [from, to] = messageSpan(small, 0, 1, 5)
  assert.equal(from, SLOT)
  const msgs = new MessageParser().feed(buf.subarray(from, to))
  assert.deepEqual(
    msgs.map((m) => (m.type === 'piece' ? [m.index, m.begin, m.block.length, m.block[0]] : m.type)),
    [
      [0, BLOCK, BLOCK, 2],
      [1, 0, BLOCK, 3],
      [1, BLOCK, BLOCK, 4],
      [2, 0, BLOCK, 5],
      [2, BLOCK, 100, 6],
    ],
  )
})

test('geometry: read-ahead only within a piece larger than a window', () => {
  assert.equal(nextWindowInPiece(g, 0), true)
  assert.equal(nextWindowInPiece(g, 3), false, 'window 4 starts piece 1')
  assert.equal(nextWindowInPiece(g, 12), false, 'no window after the last')
  assert.equal(nextWindowInPiece({ size: 10 * WINDOW_BYTES, pieceLength: WINDOW_BYTES, pieceCount: 10 }, 0), false)
})

// ---- piece cache ------------------------------------------------------------------------------

interface FakeRead {
  t: CacheTorrent
  position: number
  targets: Buffer[]
  resolve(n?: number): void
  reject(e: Error): void
}

function fakeCache(maxWindows = 2, maxPooled = 2) {
  const reads: FakeRead[] = []
  let clock = 1000
  const cache = new PieceCache<CacheTorrent>({
    maxWindows,
    maxPooled,
    now: () => clock,
    read: (t, position, targets) =>
      new Promise((res, rej) => {
        reads.push({
          t,
          position,
          targets,
          resolve: (n) => res(n ?? targets.reduce((s, x) => s + x.length, 0)),
          reject: rej,
        })
      }),
  })
  return {
    cache,
    reads,
    tick: (ms: number) => {
      clock += ms
    },
  }
}

const T1: CacheTorrent = { id: 1, size: 4 * WINDOW_BYTES, pieceLength: 1048576, pieceCount: 1 }
const T2: CacheTorrent = { id: 2, size: 4 * WINDOW_BYTES, pieceLength: 1048576, pieceCount: 1 }
const settle = () => new Promise((r) => setImmediate(r))

test('piece cache: one read per window, waiters woken, then served from memory', async () => {
  const { cache, reads } = fakeCache()
  const win = cache.load(T1, 1)
  assert.equal(win.state, 'loading')
  assert.equal(reads.length, 1)
  assert.equal(reads[0]!.position, WINDOW_BYTES)
  assert.equal(reads[0]!.targets.length, 16)
  let woken = 0
  win.waiters.push(
    () => woken++,
    () => woken++,
  )
  assert.equal(cache.get(1, 1), win, 'the loading window is found')
  reads[0]!.resolve()
  await settle()
  assert.equal(win.state, 'ready')
  assert.equal(woken, 2)
  assert.equal(cache.get(1, 1), win)
  assert.equal(reads.length, 1)
})

test('piece cache: LRU eviction skips loading windows; buffers are pooled only when no write holds them', async () => {
  const { cache, reads } = fakeCache(2, 4)
  const a = cache.load(T1, 0)
  const b = cache.load(T1, 1)
  reads.forEach((r) => r.resolve())
  await settle()
  cache.retain(a) // a socket write in flight
  cache.get(1, 1) // b is now the most recent
  const c = cache.load(T2, 0) // evicts a (oldest ready)
  assert.equal(cache.has(1, 0), false)
  assert.equal(cache.has(1, 1), true)
  assert.equal(cache.pooled, 0, 'a is still being written')
  cache.release(a) // the write finished
  assert.equal(cache.pooled, 1)
  const d = cache.load(T2, 1) // reuses a's buffer; evicts b (c is loading)
  assert.equal(d.buf, a.buf)
  assert.equal(cache.has(1, 1), false)
  assert.equal(cache.has(2, 0), true, 'loading windows stay')
  assert.equal(cache.allocated, 3)
  void b
  void c
})

test('piece cache: a failed or short read fails the window and forgets it', async () => {
  const { cache, reads } = fakeCache()
  const win = cache.load(T1, 0)
  let woken = false
  win.waiters.push(() => {
    woken = true
  })
  reads[0]!.resolve(1000)
  await settle()
  assert.equal(win.state, 'failed')
  assert.match(win.error!.message, /short read/)
  assert.equal(woken, true)
  assert.equal(cache.has(1, 0), false)
  const again = cache.load(T1, 0)
  reads[1]!.reject(new Error('EIO'))
  await settle()
  assert.equal(again.error!.message, 'EIO')
})

test('piece cache: dropTorrent and idle expiry', async () => {
  const { cache, reads, tick } = fakeCache(8, 8)
  cache.load(T1, 0)
  cache.load(T1, 1)
  cache.load(T2, 0)
  reads.forEach((r) => r.resolve())
  await settle()
  cache.dropTorrent(1)
  assert.equal(cache.size, 1)
  tick(10_000)
  cache.load(T1, 2)
  reads.at(-1)!.resolve()
  await settle()
  cache.expire(5_000)
  assert.equal(cache.size, 1, 'only the idle window went')
  assert.equal(cache.has(1, 2), true)
  tick(10_000)
  cache.expire(5_000)
  assert.equal(cache.size, 0)
  assert.equal(cache.pooled, 0, 'an idle cache gives its buffers back')
})

// ---- descriptor LRU ---------------------------------------------------------------------------

test('fd cache: opens once, evicts the least recently used idle descriptor, never one in use', async () => {
  const opened: string[] = []
  const closed: number[] = []
  let next = 10
  const fds = new FdCache(2, {
    open: async (p) => {
      opened.push(p)
      return next++
    },
    close: (fd) => closed.push(fd),
  })
  const a = fds.acquire('a')
  assert.equal(await a, 10)
  const a2 = fds.acquire('a')
  assert.equal(await a2, 10)
  assert.deepEqual(opened, ['a'])
  fds.release('a', a)
  fds.release('a', a2)
  const b = fds.acquire('b')
  fds.release('b', b)
  const c = fds.acquire('c') // evicts a
  await c
  await settle()
  assert.deepEqual(closed, [10])
  const d = fds.acquire('d') // b idle -> closed; c in use -> kept
  await d
  await settle()
  assert.deepEqual(closed, [10, 11])
  fds.drop('c') // in use: closed on release
  await settle()
  assert.deepEqual(closed, [10, 11])
  fds.release('c', c)
  await settle()
  assert.deepEqual(closed, [10, 11, 12])
  fds.release('d', d)
  fds.closeAll()
  await settle()
  assert.deepEqual(closed, [10, 11, 12, 13])
})

test('fd cache: a failed open is not cached', async () => {
  let fail = true
  const fds = new FdCache(4, {
    open: async () => {
      if (fail) throw new Error('ENOENT')
      return 3
    },
    close: () => {},
  })
  const p = fds.acquire('x')
  await assert.rejects(p, /ENOENT/)
  fds.release('x', p)
  fail = false
  assert.equal(await fds.acquire('x'), 3)
})

// ---- announce schedule ------------------------------------------------------------------------

test('announce schedule: a thousand torrents start paced per tracker host, within the rate', () => {
  const s = new AnnounceSchedule({ ratePerSecond: 8 })
  for (let i = 0; i < 1000; i++) {
    s.add(`t${i} http://site/announce`, 'site', 0)
    if (i % 10 === 0) s.add(`t${i} udp://other:6969`, 'other', 0)
  }
  const sent = new Map<string, number[]>()
  let now = 0
  while (now <= 200_000) {
    for (const d of s.take(now)) {
      assert.equal(d.event, 'started')
      const lane = d.key.includes('site') ? 'site' : 'other'
      if (!sent.has(lane)) sent.set(lane, [])
      sent.get(lane)!.push(now)
      s.done(d.key, now, { ok: true, intervalSec: 300 })
    }
    const wake = s.nextWake()
    assert.ok(wake !== null)
    if (wake > 200_000) break
    now = Math.max(now + 1, wake)
  }
  const site = sent.get('site')!
  assert.equal(site.length, 1000, 'every torrent announced')
  // No 60 s window holds more than 8/s x 60 (the site tracker allows 600 per minute).
  for (let i = 0; i + 480 < site.length; i++)
    assert.ok(site[i + 480]! - site[i]! >= 60_000 - 1, `481 announces within a minute at ${site[i]}`)
  assert.ok(site.at(-1)! <= 125_000, `the last started by ${site.at(-1)} ms`)
  assert.equal(sent.get('other')!.length, 100, 'another tracker has its own lane')
  assert.ok(sent.get('other')!.at(-1)! < 13_000)
})

test('announce schedule: next one at the tracker interval (clamped); updates after started; back-off on failure', () => {
  const s = new AnnounceSchedule({
    ratePerSecond: 10,
    minIntervalMs: 60_000,
    maxIntervalMs: 3_600_000,
    retryMinMs: 30_000,
    retryMaxMs: 120_000,
  })
  s.add('k', 'lane', 0)
  assert.deepEqual(s.take(0), [{ key: 'k', event: 'started' }])
  assert.deepEqual(s.take(0), [], 'in flight: not taken twice')
  s.done('k', 1000, { ok: false })
  assert.equal(s.nextWake(), 31_000)
  assert.deepEqual(s.take(31_000), [{ key: 'k', event: 'started' }], 'still started until one went through')
  s.done('k', 31_000, { ok: false })
  assert.equal(s.nextWake(), 91_000, 'doubled')
  s.take(91_000)
  s.done('k', 91_000, { ok: false })
  s.take(211_000)
  s.done('k', 211_000, { ok: false })
  assert.equal(s.nextWake(), 331_000, 'capped at retryMaxMs')
  s.take(331_000)
  s.done('k', 331_000, { ok: true, intervalSec: 300, minIntervalSec: 60 })
  assert.equal(s.nextWake(), 631_000)
  assert.deepEqual(s.take(631_000), [{ key: 'k', event: 'update' }])
  s.done('k', 631_000, { ok: true, intervalSec: 5 })
  assert.equal(s.nextWake(), 691_000, 'at least minIntervalMs')
  s.take(691_000)
  s.done('k', 691_000, { ok: true, intervalSec: 86_400 })
  assert.equal(s.nextWake(), 691_000 + 3_600_000, 'at most maxIntervalMs')
})

test('announce schedule: removal says whether a stopped is due, and drops the job', () => {
  const s = new AnnounceSchedule()
  s.add('a', 'l', 0)
  s.add('b', 'l', 0)
  const [first] = s.take(0)
  s.done(first!.key, 0, { ok: true, intervalSec: 300 })
  assert.deepEqual(s.remove(first!.key), { started: true })
  const other = first!.key === 'a' ? 'b' : 'a'
  assert.deepEqual(s.remove(other), { started: false })
  assert.equal(s.remove(other), null)
  assert.equal(s.nextWake(), null)
  assert.equal(s.size, 0)
  // A job removed while in flight is not scheduled again.
  s.add('c', 'l', 1_000_000)
  s.take(1_000_000)
  s.remove('c')
  s.done('c', 1_000_001, { ok: true, intervalSec: 300 })
  assert.equal(s.nextWake(), null)
})
