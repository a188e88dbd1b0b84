// Micro-benchmark of the tracker's pure core: `npm run bench:tracker-core`, i.e.
// `node --expose-gc bench/tracker-core.ts` (BENCH_OPS=1000000;
// a short trial: BENCH_OPS=20000, about 5 s).
//
// Times, in ns per operation: parseAnnounceQuery, SwarmStore.announce, bencode announceReply,
// and the three together (what an HTTP announce costs before any I/O), plus the UDP path pieces
// and ConnectionIds.verify. Steady state: 10,000 peers in 100 swarms of 100 (two thirds leechers)
// re-announcing with numwant=50, compact. Then EmbeddedTracker.announce (allow list, store,
// counts; no rate limit), the same swarms as hybrid torrents: by the v1 infohash and by the
// truncated v2 one (an alias of it, one Map get). Ends with the store's memory per peer (200k peers).
import { randomBytes } from 'node:crypto'
import { parseAnnounceQuery } from '../src/bittorrent/tracker/http.ts'
import { announceReply } from '../src/bittorrent/tracker/httpReplies.ts'
import * as udp from '../src/bittorrent/tracker/udp.ts'
import { ConnectionIds } from '../src/tracker/connectionIds.ts'
import { SwarmStore } from '../src/tracker/swarmStore.ts'
import { EmbeddedTracker } from '../src/tracker/embeddedTracker.ts'

const OPS = Number(process.env.BENCH_OPS ?? 1_000_000)
const SWARMS = 100
const PER_SWARM = 100
const PEERS = SWARMS * PER_SWARM

// libtorrent-style escaping: everything but alphanumerics and -_.!~*() as %XX.
const esc = (b: Buffer) =>
  Array.from(b, (c) =>
    /[A-Za-z0-9\-_.!~*()]/.test(String.fromCharCode(c))
      ? String.fromCharCode(c)
      : '%' + c.toString(16).toUpperCase().padStart(2, '0'),
  ).join('')

const hashes = Array.from({ length: SWARMS }, () => randomBytes(20))
const peerIds = Array.from({ length: PEERS }, () => Buffer.concat([Buffer.from('-qB4650-'), randomBytes(12)]))
const ips = Array.from({ length: PEERS }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`)
// Requests as the HTTP server hands them over: a flat req.url string (built by the parser from
// bytes), of which the tracker takes the part after '?'. Template-built strings are ropes, and
// scanning a rope is several times slower, so they are flattened through a Buffer first.
const urls = Array.from({ length: PEERS }, (_, i) =>
  Buffer.from(
    `/announce?info_hash=${esc(hashes[i % SWARMS]!)}&peer_id=${esc(peerIds[i]!)}&port=${6881 + (i % 1000)}&uploaded=123456&downloaded=654321` +
      `&left=${i % 3 === 0 ? 0 : 1048576}&corrupt=0&key=${((i * 2654435761) >>> 0).toString(16).toUpperCase()}&numwant=50&compact=1&no_peer_id=1&supportcrypto=1&redundant=0`,
    'latin1',
  ).toString('latin1'),
)
const queryOf = (k: number) => urls[k]!.slice(10)
const queries = urls.map((_, k) => queryOf(k))

// Each swarm's tally of peers' downloads, looked up per announce as the tracker does (its allow list).
const tallies = new Map(hashes.map((h) => [h.toString('hex'), { size: 2 ** 31, downloaded: 0 }]))
const newStore = () => new SwarmStore({ peerTtlMs: 3_600_000, maxPeersPerSwarm: 100_000, maxNumwant: 80 })
const now = Date.now()

let sink: unknown // results go here so the work can't be optimised away
function time(name: string, ops: number, fn: (i: number) => unknown): void {
  for (let i = 0; i < Math.min(ops, 200_000); i++) sink = fn(i) // warm-up: let the JIT settle
  const start = process.hrtime.bigint()
  for (let i = 0; i < ops; i++) sink = fn(i)
  const ns = Number(process.hrtime.bigint() - start) / ops
  console.log(`${name.padEnd(44)} ${ns.toFixed(0).padStart(6)} ns/op`)
}

// Pre-populate so the announce timings are re-announces into 100-peer swarms.
const store = newStore()
const parsed = queries.map((q) => parseAnnounceQuery(q))
const announceOf = (r: ReturnType<typeof parseAnnounceQuery>, i: number) => ({
  infoHash: r.infoHash,
  peerKey: r.peerId.toString('hex'),
  peerId: r.peerId,
  ip: ips[i]!,
  port: r.port,
  left: r.left,
  event: r.event,
  numwant: r.numwant,
  nowMs: now,
  downloaded: r.downloaded,
  tally: tallies.get(r.infoHash),
})
parsed.forEach((r, i) => store.announce(announceOf(r, i)))
const results = parsed.map((r, i) => store.announce(announceOf(r, i)))

console.log(
  `tracker core, ${OPS.toLocaleString('en')} ops each, Node ${process.version}; ${SWARMS} swarms x ${PER_SWARM} peers, numwant 50`,
)
time('parseAnnounceQuery (incl. slice after ?)', OPS, (i) => parseAnnounceQuery(queryOf(i % PEERS)))
time('SwarmStore.announce (incl. peerKey hex)', OPS, (i) => store.announce(announceOf(parsed[i % PEERS]!, i % PEERS)))
time('bencode announceReply (compact, ~50 peers)', OPS, (i) => {
  const r = results[i % PEERS]!
  return announceReply({
    interval: 1800,
    minInterval: 60,
    complete: r.complete,
    incomplete: r.incomplete,
    peers4: r.peers4,
    peers6: r.peers6,
    compact: true,
  })
})
time('HTTP announce: parse + announce + reply', OPS, (i) => {
  const k = i % PEERS
  const q = parseAnnounceQuery(queryOf(k))
  const r = store.announce(announceOf(q, k))
  return announceReply({
    interval: 1800,
    minInterval: 60,
    complete: r.complete,
    incomplete: r.incomplete,
    peers4: r.peers4,
    peers6: r.peers6,
    compact: q.compact,
  })
})

const ids = new ConnectionIds()
const connId = ids.issue('10.0.0.1', 6881, now)
const packets = parsed.map((r, i) =>
  udp.udpAnnounceRequest(connId, i, {
    infoHash: Buffer.from(r.infoHash, 'hex'),
    peerId: r.peerId,
    port: r.port,
    uploaded: 0,
    downloaded: 0,
    left: i % 3 === 0 ? 0 : 1048576,
    event: 'update',
    numwant: -1,
    key: 0,
  }),
)
time('ConnectionIds.verify', Math.min(OPS, 200_000), () => ids.verify(connId, '10.0.0.1', 6881, now))
time('UDP announce: parse + announce + reply', OPS, (i) => {
  const k = i % PEERS
  const q = udp.parseUdpRequest(packets[k]!)
  if (q.action !== 'announce') throw new Error('unexpected')
  const r = store.announce({ ...announceOf(parsed[k]!, k), left: q.left, event: q.event, numwant: q.numwant })
  return udp.announceReply(q.transactionId, 1800, r.incomplete, r.complete, r.peers4)
})

// The whole announce behind the transports, the swarms as hybrid torrents (each with a v2 infohash).
const tracker = new EmbeddedTracker({
  intervalSeconds: 1800,
  minIntervalSeconds: 60,
  maxNumwant: 80,
  rateLimitPerMinute: 0,
  maxPeersPerSwarm: 100_000,
  onCompleted: () => {},
})
const aliasOf = new Map<string, string>()
for (const h of hashes) {
  const v2 = randomBytes(32).toString('hex')
  aliasOf.set(h.toString('hex'), v2.slice(0, 40))
  tracker.allow(h.toString('hex'), 0, 2 ** 31, v2)
}
const byAlias = parsed.map((r) => ({ ...r, infoHash: aliasOf.get(r.infoHash)! }))
parsed.forEach((r, i) => tracker.announce(r, ips[i]!, 'http', now))
time('EmbeddedTracker.announce (v1 infohash)', OPS, (i) =>
  tracker.announce(parsed[i % PEERS]!, ips[i % PEERS]!, 'http', now),
)
time('EmbeddedTracker.announce (hybrid, by its v2)', OPS, (i) =>
  tracker.announce(byAlias[i % PEERS]!, ips[i % PEERS]!, 'http', now),
)
if (
  tracker.counts(hashes[0]!.toString('hex')).seeders + tracker.counts(hashes[0]!.toString('hex')).leechers !==
  PER_SWARM
)
  throw new Error('announces by the v2 alias did not land in the v1 swarm')
await tracker.close()

// Memory per stored peer: fresh inputs per announce, so only what the store retains counts.
if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc (npm run bench:tracker-core does)')
const gc = globalThis.gc
const big = newStore()
const bigHashes = Array.from({ length: 2000 }, () => randomBytes(20).toString('hex'))
gc()
gc()
const before = process.memoryUsage()
for (let n = 0; n < 200_000; n++) {
  const id = randomBytes(20)
  big.announce({
    infoHash: bigHashes[n % 2000]!,
    peerKey: id.toString('hex'),
    peerId: id,
    ip: `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`,
    port: 6881,
    left: n % 3 ? 100 : 0,
    event: 'started',
    numwant: 0,
    nowMs: now,
    downloaded: 0,
  })
}
gc()
gc()
const after = process.memoryUsage()
const perPeer = (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / 200_000
if (sink === null) console.log('')
// Reading the store after the measurement keeps it alive until then (V8 may collect locals
// past their last use).
console.log(
  `${`SwarmStore memory (${big.stats().peers / 1000}k peers, 2000 swarms)`.padEnd(44)} ${perPeer.toFixed(0).padStart(6)} bytes/peer`,
)
