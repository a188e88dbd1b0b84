// The tracker's bounds, one pure piece at a time: the per-address key (IPv6 by /64), the
// completion ledger, the swarm store's peer caps (per address per swarm, global with room taken
// from the largest address), the owner index behind them, WebSocket message reading, and the
// connection caps.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { addressKey } from '../../src/bittorrent/address.ts'
import { RateLimiter } from '../../src/tracker/rateLimiter.ts'
import { CompletionLedger } from '../../src/tracker/completionLedger.ts'
import { SwarmStore } from '../../src/tracker/swarmStore.ts'
import { OwnerIndex, type Owner } from '../../src/tracker/peerOwners.ts'
import { parseWsRequest, wsFailureReply } from '../../src/bittorrent/tracker/ws.ts'
import { ConnectionCaps } from '../../src/tracker/connectionCaps.ts'
import { TrackerProtocolError } from '../../src/bittorrent/errors.ts'

const H1 = 'aa'.repeat(20)
const H2 = 'bb'.repeat(20)

test('addressKey: IPv4 as is (also IPv4-mapped), IPv6 by its /64 whatever the spelling', () => {
  assert.equal(addressKey('203.0.113.7'), '203.0.113.7')
  assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7')
  assert.equal(addressKey('::FFFF:cb00:7107'), '203.0.113.7')
  const oneSubnet = [
    '2001:db8:1:2::1',
    '2001:0db8:0001:0002:ffff:ffff:ffff:ffff',
    '2001:db8:1:2:a:b:c:d',
    '2001:DB8:1:2::dead:beef',
    '2001:db8:1:2::1%eth0',
  ]
  for (const ip of oneSubnet) assert.equal(addressKey(ip), '2001:db8:1:2::/64', ip)
  assert.notEqual(addressKey('2001:db8:1:3::1'), addressKey('2001:db8:1:2::1'))
  assert.equal(addressKey('::1'), '0:0:0:0::/64')
  assert.equal(addressKey('not an address'), 'not an address')
})

test('a rate-limit bucket per /64: a thousand addresses of one subnet share one', () => {
  const limiter = new RateLimiter({ perMinute: 10, burst: 10, maxTracked: 1000 })
  let allowed = 0
  for (let i = 0; i < 1000; i++)
    if (limiter.take(addressKey(`2001:db8:aa:bb:${i.toString(16)}::1`), 1000) === 0) allowed++
  assert.equal(allowed, 10)
  assert.equal(limiter.tracked, 1)
  assert.equal(limiter.take(addressKey('2001:db8:aa:bc::1'), 1000), 0, 'the next /64 has its own')
})

test('completion ledger: a few per address per torrent, each peer id once, until the window passes', () => {
  const l = new CompletionLedger({ perAddress: 3, windowMs: 60_000, maxPerSwarm: 100, maxTotal: 1000 })
  const claims = Array.from({ length: 10 }, (_, i) => l.claim(H1, '198.51.100.1', `peer${i}`, 1000))
  assert.deepEqual(claims, ['counted', 'counted', 'counted', ...Array(7).fill('per_address')])
  assert.equal(l.claim(H1, '198.51.100.1', 'peer0', 2000), 'repeated')
  assert.equal(l.claim(H2, '198.51.100.1', 'peer0', 2000), 'counted', 'another torrent has its own share')
  assert.equal(l.claim(H1, '198.51.100.2', 'peer0', 2000), 'counted', 'another address too')
  assert.equal(l.size, 3)
  assert.equal(l.expire(60_999), 0)
  assert.equal(l.expire(61_000), 1, 'the first entry is a window old')
  assert.equal(l.claim(H1, '198.51.100.1', 'peer99', 61_000), 'counted')
  l.removeSwarm(H1)
  assert.equal(l.size, 1)
  assert.equal(l.expire(10 ** 9), 1)
  assert.equal(l.size, 0)
  assert.equal(
    new CompletionLedger({ perAddress: 0, windowMs: 1, maxPerSwarm: 1, maxTotal: 1 }).claim(H1, 'a', 'p', 0),
    'per_address',
    '0 counts none',
  )
})

test('completion ledger: bounded per torrent and in total; full means not counted', () => {
  const l = new CompletionLedger({ perAddress: 1, windowMs: 60_000, maxPerSwarm: 5, maxTotal: 8 })
  const one = Array.from({ length: 7 }, (_, i) => l.claim(H1, `10.0.0.${i}`, 'p', 0))
  assert.deepEqual(one, ['counted', 'counted', 'counted', 'counted', 'counted', 'full', 'full'])
  const two = Array.from({ length: 5 }, (_, i) => l.claim(H2, `10.0.0.${i}`, 'p', 0))
  assert.deepEqual(two, ['counted', 'counted', 'counted', 'full', 'full'])
  assert.equal(l.size, 8)
  // An expired entry met again before the sweep is replaced in place of a new one.
  assert.equal(l.claim(H1, '10.0.0.0', 'q', 60_000), 'counted')
  assert.equal(l.size, 8)
})

const pid = (n: number) => Buffer.from(`-XX0001-${String(n).padStart(12, '0')}`)
const ann = (ip: string, n: number, infoHash = H1, nowMs = 1_000_000) => ({
  infoHash,
  peerKey: `${ip}|${n}`,
  peerId: pid(n),
  ip,
  port: 10000 + (n % 50000),
  left: 100,
  event: 'started' as const,
  numwant: 0,
  nowMs,
  downloaded: 0,
})

test('swarm store: per address per swarm cap; a seeder with one peer in many swarms is not capped', () => {
  const s = new SwarmStore({ peerTtlMs: 60_000, maxPeersPerSwarm: 10_000, maxNumwant: 50, maxPeersPerAddress: 4 })
  const outcomes = Array.from({ length: 10 }, (_, n) => s.announce(ann('192.0.2.1', n)).notStored)
  assert.deepEqual(outcomes, [null, null, null, null, ...Array(6).fill('per_address')])
  assert.deepEqual(s.counts(H1), { complete: 0, incomplete: 4 })
  // IPv6: the /64 is one address.
  const v6 = Array.from({ length: 6 }, (_, n) => s.announce(ann(`2001:db8::${n + 1}`, 100 + n)).notStored)
  assert.deepEqual(v6, [null, null, null, null, 'per_address', 'per_address'])
  // One peer in each of 500 swarms from one address: all stored.
  for (let i = 0; i < 500; i++)
    assert.equal(s.announce(ann('192.0.2.9', 7, i.toString(16).padStart(40, '0'))).notStored, null)
  assert.equal(s.stats().peers, 508)
  assert.equal(s.addresses, 3)
  // Re-announces of stored peers are never refused; a stopped one makes room.
  assert.equal(s.announce(ann('192.0.2.1', 0)).notStored, null)
  s.announce({ ...ann('192.0.2.1', 0), event: 'stopped' })
  assert.equal(s.announce(ann('192.0.2.1', 50)).notStored, null)
  assert.equal(s.expire(10 ** 9), 508)
  assert.deepEqual([s.stats().peers, s.addresses], [0, 0])
})

test('swarm store: a full store takes room from the address holding the most; a real newcomer gets in', () => {
  const s = new SwarmStore({
    peerTtlMs: 60_000,
    maxPeersPerSwarm: 10_000,
    maxNumwant: 50,
    maxPeers: 100,
    maxPeersPerAddress: 1000,
  })
  for (let n = 0; n < 60; n++) s.announce(ann('198.51.100.66', n)) // the attacker
  for (let n = 0; n < 40; n++) s.announce(ann(`203.0.113.${n}`, 1000 + n)) // 40 real peers
  assert.equal(s.stats().peers, 100)
  // The attacker's next fake peer: it is the largest already, nothing to take from.
  assert.equal(s.announce(ann('198.51.100.66', 60)).notStored, 'full')
  // A newcomer: one of the attacker's peers goes.
  const r = s.announce(ann('192.0.2.200', 5000))
  assert.deepEqual([r.notStored, r.evicted], [null, true])
  assert.equal(s.stats().peers, 100)
  // Forty more newcomers: the attacker is down to 19.
  for (let n = 0; n < 40; n++) assert.equal(s.announce(ann(`192.0.2.${n}`, 6000 + n)).evicted, true)
  // A second attacker address takes room from the first until they are even, then is refused.
  const second = Array.from({ length: 30 }, (_, n) => s.announce(ann('198.51.100.77', 7000 + n)).notStored)
  assert.deepEqual(second, [...Array(9).fill(null), ...Array(21).fill('full')])
  assert.deepEqual([s.stats().peers, s.addresses], [100, 83])
  // Every real peer (40 + 41 newcomers) is still stored: its re-announce finds it.
  for (let n = 0; n < 40; n++) {
    for (const [ip, id] of [
      [`203.0.113.${n}`, 1000 + n],
      [`192.0.2.${n}`, 6000 + n],
    ] as const) {
      const r = s.announce({ ...ann(ip, id), event: 'update' })
      assert.deepEqual([r.notStored, r.evicted], [null, false], ip)
    }
  }
  assert.equal(s.stats().peers, 100)
})

test('owner index: counts, per-swarm counts and the largest owner agree with a brute-force model', () => {
  interface P {
    owner: Owner<P, string> | null
    oslot: number
    swarm: string
    key: number
    id: number
  }
  const idx = new OwnerIndex<P, string>()
  const live: P[] = []
  let seed = 12345
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  for (let step = 0; step < 20_000; step++) {
    if (live.length > 0 && rnd(3) === 0) {
      const p = live.splice(rnd(live.length), 1)[0]!
      idx.remove(p.key, p)
    } else {
      const p: P = { owner: null, oslot: 0, swarm: `s${rnd(5)}`, key: rnd(40) * rnd(3), id: step }
      idx.add(p.key, p)
      live.push(p)
    }
    if (step % 97 !== 0) continue
    const byKey = new Map<number, P[]>()
    for (const p of live) byKey.set(p.key, [...(byKey.get(p.key) ?? []), p])
    assert.equal(idx.size, byKey.size)
    let max = 0
    for (const [key, ps] of byKey) {
      assert.equal(idx.count(key), ps.length)
      for (const sw of ['s0', 's3']) assert.equal(idx.countIn(key, sw), ps.filter((p) => p.swarm === sw).length)
      max = Math.max(max, ps.length)
    }
    const largest = idx.largest()
    if (max < 2) assert.equal(largest, undefined)
    else {
      assert.equal(largest!.peers.length, max)
      assert.equal(byKey.get(largest!.key as number)!.length, max)
      largest!.peers.forEach((p, i) => assert.equal(p.oslot, i))
    }
  }
})

const bin = (hex: string) => Buffer.from(hex, 'hex').toString('latin1')

test('WebSocket messages: announce and scrape read, ids as hex; anything else refused', () => {
  const peer = 'cc'.repeat(20)
  assert.deepEqual(
    parseWsRequest(
      JSON.stringify({ action: 'announce', info_hash: bin(H1), peer_id: bin(peer), event: 'completed', offers: [] }),
    ),
    { action: 'announce', infoHash: H1, peerId: peer, event: 'completed', answer: false },
  )
  assert.deepEqual(
    parseWsRequest(
      Buffer.from(
        JSON.stringify({ action: 'announce', info_hash: bin(H1), peer_id: bin(peer), answer: {}, to_peer_id: bin(H2) }),
      ),
    ),
    { action: 'announce', infoHash: H1, peerId: peer, event: 'update', answer: true },
  )
  assert.deepEqual(parseWsRequest(JSON.stringify({ action: 'scrape', info_hash: [bin(H1), bin(H2)] })), {
    action: 'scrape',
    infoHashes: [H1, H2],
  })
  assert.deepEqual(parseWsRequest(JSON.stringify({ action: 'scrape', info_hash: bin(H1) })), {
    action: 'scrape',
    infoHashes: [H1],
  })
  assert.deepEqual(parseWsRequest(JSON.stringify({ action: 'scrape' })), { action: 'scrape', infoHashes: [] })
  const bad = [
    '{',
    '[]',
    '"x"',
    'null',
    JSON.stringify({ action: 'connect' }),
    JSON.stringify({ action: 'announce', info_hash: 'short', peer_id: bin(peer) }),
    JSON.stringify({ action: 'announce', info_hash: bin(H1) }),
    JSON.stringify({ action: 'announce', info_hash: '\u0100'.repeat(20), peer_id: bin(peer) }),
    JSON.stringify({ action: 'announce', info_hash: bin(H1), peer_id: bin(peer), answer: 'x' }),
    JSON.stringify({ action: 'scrape', info_hash: [1] }),
  ]
  for (const b of bad) assert.throws(() => parseWsRequest(b), TrackerProtocolError, b)
  assert.deepEqual(JSON.parse(wsFailureReply('nope', 'announce', H1)), {
    action: 'announce',
    'failure reason': 'nope',
    info_hash: bin(H1),
  })
})

test('connection caps: per address first; when full the biggest holder gives one up, unless the newcomer is one', () => {
  const caps = new ConnectionCaps({ max: 5, maxPerAddress: 2 })
  assert.deepEqual(
    ['a', 'a', 'a'].map((k) => caps.take(k)),
    [{ ok: true }, { ok: true }, { ok: false, reason: 'ws_connections_per_address' }],
  )
  assert.deepEqual(
    ['b', 'c', 'd'].map((k) => caps.take(k)),
    [{ ok: true }, { ok: true }, { ok: true }],
  )
  // Full: `a` holds two, the newcomer none.
  assert.deepEqual(caps.take('e'), { ok: true, evict: 'a' })
  assert.equal(caps.total, 5)
  // Everyone holds one now: a newcomer would be as big as the biggest, refused.
  assert.deepEqual(caps.take('f'), { ok: false, reason: 'ws_connections' })
  assert.deepEqual(caps.take('b'), { ok: false, reason: 'ws_connections' })
  caps.release('a')
  caps.release('zzz') // never taken: ignored
  assert.deepEqual(caps.take('f'), { ok: true })
  // An eviction the caller could not carry out is undone.
  caps.release('f')
  caps.take('b')
  assert.deepEqual(caps.take('g'), { ok: true, evict: 'b' })
  caps.restore('b')
  caps.release('g')
  assert.equal(caps.total, 5)
  assert.deepEqual(caps.take('g'), { ok: true, evict: 'b' })
})
