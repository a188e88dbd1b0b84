import { test } from 'node:test'
import assert from 'node:assert/strict'
import { SwarmStore, type PeerAnnounce } from '../../src/tracker/swarmStore.ts'
import { collectGarbage } from '../helpers/gc.ts'

const H1 = 'aa'.repeat(20)
const H2 = 'bb'.repeat(20)
const TTL = 30 * 60_000
const store = (o: Partial<{ peerTtlMs: number; maxPeersPerSwarm: number; maxNumwant: number }> = {}) =>
  new SwarmStore({ peerTtlMs: TTL, maxPeersPerSwarm: 1000, maxNumwant: 80, ...o })

const peerId = (n: number) => Buffer.from(`-XX0001-${String(n).padStart(12, '0')}`)
const ipOf = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`
// Announce of peer #n: 10.x.y.z:(10000+n%50000), peer id derived from n.
const ann = (n: number, o: Partial<PeerAnnounce & { downloaded: number; wantPeerList: boolean }> = {}) => ({
  infoHash: H1,
  peerKey: peerId(n).toString('hex'),
  peerId: peerId(n),
  ip: ipOf(n),
  port: 10000 + (n % 50000),
  left: 100,
  event: 'update' as const,
  numwant: 50,
  nowMs: 1_000_000,
  downloaded: 0,
  ...o,
})
// Compact 6-byte entries to "ip:port" strings.
const addrs4 = (b: Buffer) =>
  Array.from(
    { length: b.length / 6 },
    (_, i) => `${b.subarray(i * 6, i * 6 + 4).join('.')}:${b.readUInt16BE(i * 6 + 4)}`,
  )
const addrOf = (n: number) => `${ipOf(n)}:${10000 + (n % 50000)}`

test('counts seeders and leechers incrementally; stats across swarms', () => {
  const s = store()
  for (let i = 0; i < 5; i++) s.announce(ann(i, { event: 'started' }))
  for (let i = 5; i < 8; i++) s.announce(ann(i, { left: 0, event: 'started' }))
  s.announce(ann(100, { infoHash: H2 }))
  assert.deepEqual(s.counts(H1), { complete: 3, incomplete: 5 })
  assert.deepEqual(s.counts(H2), { complete: 0, incomplete: 1 })
  assert.deepEqual(s.counts('cc'.repeat(20)), { complete: 0, incomplete: 0 })
  assert.deepEqual(s.stats(), { swarms: 2, peers: 9, seeders: 3, leechers: 6 })
  // A re-announce doesn't double count; a leecher finishing moves over.
  s.announce(ann(0))
  s.announce(ann(1, { left: 0 }))
  assert.deepEqual(s.counts(H1), { complete: 4, incomplete: 4 })
  s.removeSwarm(H1)
  assert.deepEqual(s.stats(), { swarms: 1, peers: 1, seeders: 0, leechers: 1 })
  assert.deepEqual(s.counts(H1), { complete: 0, incomplete: 0 })
})

test('returned peers exclude the requester; reply counts include it', () => {
  const s = store()
  s.announce(ann(1))
  const r = s.announce(ann(2))
  assert.deepEqual(addrs4(r.peers4), [addrOf(1)])
  assert.equal(r.incomplete, 2)
  const alone = s.announce(ann(2))
  assert.deepEqual(addrs4(alone.peers4), [addrOf(1)])
  assert.deepEqual(addrs4(s.announce(ann(1)).peers4), [addrOf(2)])
})

test('stopped removes the peer, and an empty swarm', () => {
  const s = store()
  s.announce(ann(1))
  s.announce(ann(2, { left: 0 }))
  const r = s.announce(ann(2, { event: 'stopped' }))
  assert.deepEqual([r.complete, r.incomplete, r.peers4.length], [0, 1, 0])
  assert.deepEqual(addrs4(s.announce(ann(3)).peers4), [addrOf(1)])
  s.announce(ann(1, { event: 'stopped' }))
  s.announce(ann(3, { event: 'stopped' }))
  assert.deepEqual(s.stats(), { swarms: 0, peers: 0, seeders: 0, leechers: 0 })
  // Stopping an unknown peer is harmless.
  assert.equal(s.announce(ann(9, { event: 'stopped' })).firstCompletion, false)
  assert.equal(s.stats().swarms, 0)
})

test('everyone gets seeders and leechers, never themselves (a magnet client without metadata announces left=0)', () => {
  const s = store()
  for (let i = 0; i < 4; i++) s.announce(ann(i)) // leechers 0..3
  for (let i = 4; i < 8; i++) s.announce(ann(i, { left: 0 })) // seeders 4..7
  const bySeeder = addrs4(s.announce(ann(4, { left: 0 })).peers4).sort()
  assert.deepEqual(bySeeder, [0, 1, 2, 3, 5, 6, 7].map(addrOf).sort())
  const byLeecher = addrs4(s.announce(ann(0)).peers4).sort()
  assert.deepEqual(byLeecher, [1, 2, 3, 4, 5, 6, 7].map(addrOf).sort())
  // Few out of many, from a seeder: still never itself.
  for (let i = 8; i < 100; i++) s.announce(ann(i, { left: 0 }))
  for (let round = 0; round < 200; round++) {
    const got = addrs4(s.announce(ann(50, { left: 0, numwant: 5 })).peers4)
    assert.equal(got.length, 5)
    assert.ok(!got.includes(addrOf(50)))
  }
  const most = addrs4(s.announce(ann(50, { left: 0, numwant: 80 })).peers4)
  assert.equal(new Set(most).size, 80)
  assert.ok(!most.includes(addrOf(50)))
})

test('numwant: honoured, capped by maxNumwant, 0 gives none; picks are distinct and random', () => {
  const s = store({ maxNumwant: 30 })
  for (let i = 0; i < 200; i++) s.announce(ann(i))
  const count = (numwant: number) => s.announce(ann(0, { numwant })).peers4.length / 6
  assert.equal(count(10), 10)
  assert.equal(count(30), 30)
  assert.equal(count(500), 30)
  assert.equal(count(0), 0)
  const seen = new Map<string, number>()
  for (let round = 0; round < 400; round++) {
    for (const numwant of [5, 25, 30]) {
      const got = addrs4(s.announce(ann(0, { numwant })).peers4)
      assert.equal(new Set(got).size, got.length, 'no duplicates')
      assert.ok(!got.includes(addrOf(0)), 'never self')
      for (const a of got) seen.set(a, (seen.get(a) ?? 0) + 1)
    }
  }
  // Every other peer turns up, with no gross bias (expected 400*60/199 = ~120 each).
  assert.equal(seen.size, 199)
  for (const n of seen.values()) assert.ok(n > 60 && n < 200, `count ${n}`)
  // Pool just above numwant: the one-pass path, still distinct and without self.
  const t = store()
  for (let i = 0; i < 40; i++) t.announce(ann(i))
  for (let round = 0; round < 50; round++) {
    const got = addrs4(t.announce(ann(5, { numwant: 30 })).peers4)
    assert.equal(new Set(got).size, 30)
    assert.ok(!got.includes(addrOf(5)))
  }
})

test('sampling stamps wrap safely', () => {
  const s = store()
  for (let i = 0; i < 100; i++) s.announce(ann(i))
  ;(s as unknown as { stamp: number }).stamp = 0x3fffffff - 3
  for (let round = 0; round < 10; round++) {
    const got = addrs4(s.announce(ann(0, { numwant: 20 })).peers4)
    assert.equal(new Set(got).size, 20)
    assert.ok(!got.includes(addrOf(0)))
  }
  assert.ok((s as unknown as { stamp: number }).stamp < 100)
})

test('IPv6 peers go to peers6, IPv4-mapped ones to peers', () => {
  const s = store()
  s.announce(ann(1, { ip: '2001:db8::7', port: 51413 }))
  s.announce(ann(2, { ip: '::ffff:192.0.2.9', port: 80 }))
  const r = s.announce(ann(3))
  assert.equal(r.peers6.toString('hex'), '20010db8000000000000000000000007c8d5')
  assert.deepEqual(addrs4(r.peers4), ['192.0.2.9:80'])
  assert.throws(() => s.announce(ann(4, { ip: 'not-an-ip' })), TypeError)
})

test('peerList on request: text address and peer id; address and id changes are picked up', () => {
  const s = store()
  s.announce(ann(1, { ip: '2001:db8::7', port: 51413 }))
  assert.deepEqual(s.announce(ann(2, { wantPeerList: true })).peerList, [
    { ip: '2001:db8::7', port: 51413, peerId: peerId(1) },
  ])
  assert.deepEqual(s.announce(ann(2)).peerList, [])
  // Same key, new address and id (a client keyed by ip:port restarted): the reply follows.
  s.announce(ann(1, { ip: '192.0.2.1', port: 7000, peerId: peerId(77) }))
  assert.deepEqual(s.announce(ann(2, { wantPeerList: true })).peerList, [
    { ip: '192.0.2.1', port: 7000, peerId: peerId(77) },
  ])
})

test('expire drops peers not seen for peerTtlMs, and empty swarms', () => {
  const s = store()
  s.announce(ann(1, { nowMs: 0 }))
  s.announce(ann(2, { nowMs: 0, left: 0 }))
  s.announce(ann(3, { nowMs: 0, infoHash: H2 }))
  s.announce(ann(1, { nowMs: 10_000 })) // refreshed
  assert.equal(s.expire(TTL - 1), 0)
  assert.equal(s.expire(TTL), 2)
  assert.deepEqual(s.stats(), { swarms: 1, peers: 1, seeders: 0, leechers: 1 })
  assert.deepEqual(s.counts(H1), { complete: 0, incomplete: 1 })
  assert.equal(s.expire(TTL + 10_000), 1)
  assert.deepEqual(s.stats(), { swarms: 0, peers: 0, seeders: 0, leechers: 0 })
})

test('completion is reported once per peer, in each of its three forms', () => {
  const s = store()
  // 1. completed event, repeated.
  s.announce(ann(1, { event: 'started' }))
  assert.equal(s.announce(ann(1, { event: 'completed', left: 0 })).firstCompletion, true)
  assert.equal(s.announce(ann(1, { event: 'completed', left: 0 })).firstCompletion, false)
  assert.equal(s.announce(ann(1, { left: 0 })).firstCompletion, false)
  // 2. missed event: left goes to 0 on a regular announce; then back and forth counts no more.
  s.announce(ann(2, { event: 'started' }))
  assert.equal(s.announce(ann(2)).firstCompletion, false)
  assert.equal(s.announce(ann(2, { left: 0 })).firstCompletion, true)
  s.announce(ann(2, { left: 50 }))
  assert.equal(s.announce(ann(2, { left: 0 })).firstCompletion, false)
  // 3. finished before the first announce (aria2c via web seed): started, left 0, downloaded > 0.
  assert.equal(s.announce(ann(3, { event: 'started', left: 0, downloaded: 4096 })).firstCompletion, true)
  assert.equal(s.announce(ann(3, { left: 0, downloaded: 4096 })).firstCompletion, false)
  assert.equal(s.announce(ann(3, { event: 'completed', left: 0 })).firstCompletion, false)
  // Not completions: a seeder resuming (downloaded 0), a first-seen update with left 0.
  assert.equal(s.announce(ann(4, { event: 'started', left: 0, downloaded: 0 })).firstCompletion, false)
  assert.equal(s.announce(ann(4, { event: 'completed', left: 0 })).firstCompletion, true) // it says so: believed, once
  assert.equal(s.announce(ann(5, { left: 0, downloaded: 10 })).firstCompletion, false)
  assert.equal(s.announce(ann(5, { event: 'stopped', left: 0 })).firstCompletion, false)
  assert.deepEqual(s.counts(H1), { complete: 4, incomplete: 0 })
  // 4. finished over the peer wire and left without `completed` (aria2c): stopped, left 0.
  s.announce(ann(6, { event: 'started', left: 100 }))
  assert.equal(s.announce(ann(6, { event: 'stopped', left: 0, downloaded: 100 })).firstCompletion, true)
  s.announce(ann(7, { event: 'started', left: 100 }))
  assert.equal(s.announce(ann(7, { event: 'stopped', left: 100 })).firstCompletion, false)
})

test('maxPeersPerSwarm: a full swarm answers newcomers without storing them', () => {
  const s = store({ maxPeersPerSwarm: 3 })
  for (let i = 0; i < 3; i++) s.announce(ann(i))
  const r = s.announce(ann(9))
  assert.equal(r.peers4.length / 6, 3)
  assert.deepEqual(s.stats(), { swarms: 1, peers: 3, seeders: 0, leechers: 3 })
  const none = store({ maxPeersPerSwarm: 0 })
  none.announce(ann(1))
  assert.deepEqual(none.stats(), { swarms: 0, peers: 0, seeders: 0, leechers: 0 })
})

test('memory per peer: 200k peers in 2000 swarms stay under 1 KB each', (t) => {
  const s = store({ maxPeersPerSwarm: 10_000 })
  const hashes = Array.from({ length: 2000 }, (_, i) => i.toString(16).padStart(40, '0'))
  collectGarbage()
  const before = process.memoryUsage()
  // Each announce is built fresh, as a request would be: the delta is what the store keeps (its
  // objects, plus the key strings it holds on to).
  for (let n = 0; n < 200_000; n++)
    s.announce(ann(n, { infoHash: hashes[n % 2000]!, left: n % 3 === 0 ? 0 : 100, numwant: 0 }))
  collectGarbage()
  const after = process.memoryUsage()
  const perPeer = (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / 200_000
  t.diagnostic(`memory: ${perPeer.toFixed(0)} bytes/peer (heap + array buffers)`)
  assert.equal(s.stats().peers, 200_000)
  assert.ok(perPeer < 1024, `${perPeer} bytes/peer`)
})
