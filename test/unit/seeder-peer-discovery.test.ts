// How the seeder finds leechers beyond its own announces, piece by piece: the site's tracker
// naming each leecher's `started` (and nothing else), the web app's batching of those names for
// the seeder's IPC (bounded, the rest counted), the seeder's dial queue (a peer dialled once, not
// again while connected or just after it refused, unless it starts over; a bound on what waits), and the separate
// seeder's announce schedule that comes back sooner when a reply shows the swarm changing.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import http from 'node:http'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { AnnounceSchedule } from '../../bt_server/lean/announceSchedule.ts'
import { Announcer } from '../../bt_server/lean/announcer.ts'
import { DialPlanner } from '../../bt_server/lean/dialer.ts'
import { LeanEngine } from '../../bt_server/lean/engine.ts'
import type { LeanTorrent } from '../../bt_server/lean/torrents.ts'
import { hashFileInWorkers as hashFile } from '../../src/bittorrent/hashInWorker.ts'
import { buildTorrent } from '../../src/bittorrent/metainfo.ts'
import { buildHandshake } from '../../src/bittorrent/wire/handshake.ts'
import { SEEDER_PEER_ID_PREFIX } from '../../src/bittorrent/tracker/announce.ts'
import { PeerPush, type PushedPeer } from '../../src/seeder/peerPush.ts'
import { inProcessTracker } from '../helpers/tracker.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---- the site's tracker -------------------------------------------------------------------------

test("tracker: a leecher's `started` is handed on at once; seeds, updates, the site's seeder and unknown torrents are not", () => {
  const named: [string, string, number][] = []
  const tracker = inProcessTracker({ onLeecher: (infoHash, ip, port) => named.push([infoHash, ip, port]) })
  try {
    const hash = 'ab'.repeat(20)
    tracker.allow(hash)
    const announce = (id: string, left: number, event: 'started' | 'update', ip = '::ffff:10.0.0.5') =>
      tracker.announce(
        {
          infoHash: hash,
          peerId: Buffer.from(id.padEnd(20, 'x')),
          port: 51413,
          left,
          downloaded: 0,
          event,
          numwant: 50,
        },
        ip,
        'http',
      )
    announce('-TR3000-a', 1000, 'started')
    assert.deepEqual(named, [[hash, '10.0.0.5', 51413]], 'in IPv4 form')
    announce('-TR3000-a', 1000, 'update')
    announce('-TR3000-b', 0, 'started') // a seed
    announce(`${SEEDER_PEER_ID_PREFIX}abc`, 1000, 'started', '10.0.0.6')
    tracker.announce(
      {
        infoHash: 'cd'.repeat(20),
        peerId: Buffer.from('-TR3000-c'.padEnd(20)),
        port: 1,
        left: 5,
        downloaded: 0,
        event: 'started',
        numwant: 5,
      },
      '10.0.0.7',
      'http',
    )
    assert.equal(named.length, 1)
  } finally {
    void tracker.close()
  }
})

// ---- the web app's batching ---------------------------------------------------------------------

test('peer push: one IPC message per flush, each peer once, at most maxPerFlush; the rest dropped and counted', async () => {
  const sent: PushedPeer[][] = []
  let dropped = 0
  const push = new PeerPush({ send: (p) => sent.push(p), dropped: (n) => (dropped += n), flushMs: 30, maxPerFlush: 3 })
  push.add('h', '10.0.0.1', 1)
  push.add('h', '10.0.0.1', 1)
  push.add('h', '10.0.0.2', 1)
  assert.equal(sent.length, 0, 'not sent at once')
  await sleep(80)
  assert.deepEqual(sent, [
    [
      ['h', '10.0.0.1', 1],
      ['h', '10.0.0.2', 1],
    ],
  ])
  for (let i = 0; i < 1000; i++) push.add('h', '10.1.0.1', 1000 + i)
  await sleep(80)
  assert.equal(sent.length, 2)
  assert.equal(sent[1]!.length, 3, 'a flood: one bounded message')
  assert.equal(dropped, 997)
  push.add('h', '10.0.0.9', 1)
  push.close()
  await sleep(80)
  assert.equal(sent.length, 2, 'nothing after close')
})

// ---- the seeder's dial queue --------------------------------------------------------------------

const torrent = (id: number): LeanTorrent => ({ id, dialled: null, peers: null }) as unknown as LeanTorrent
const HASH = Buffer.alloc(20)

test('dial queue: each peer once, not while dialled or connected, not during its cool-down; bounded, drops counted', () => {
  let dropped = 0
  const plan = new DialPlanner({
    isSelf: (_ip, port) => port === 6881,
    dropped: () => dropped++,
    maxQueue: 3,
    coolMs: 60_000,
  })
  const t = torrent(1)
  const unseen = plan.offer(
    t,
    HASH,
    [
      { ip: '::ffff:10.0.0.1', port: 1000 },
      { ip: '10.0.0.1', port: 1000 }, // the same peer, as another socket would name it
      { ip: '10.0.0.2', port: 0 },
      { ip: '10.0.0.3', port: 6881 }, // ourselves
    ],
    0,
  )
  assert.equal(unseen, 1)
  assert.equal(plan.size, 1)
  const c = plan.next()!
  assert.deepEqual([c.ip, c.port, c.address], ['10.0.0.1', 1000, '10.0.0.1:1000'])
  assert.equal(plan.next(), undefined)

  // Being dialled (the engine puts it in t.dialled), or connected (it dialled us from that port).
  t.dialled = new Set(['10.0.0.1:1000'])
  t.peers = new Set([
    { listen: { ip: '10.0.0.4', port: 2000, address: '10.0.0.4:2000' } },
  ]) as unknown as LeanTorrent['peers']
  assert.equal(
    plan.offer(
      t,
      HASH,
      [
        { ip: '10.0.0.1', port: 1000 },
        { ip: '10.0.0.4', port: 2000 },
      ],
      1,
    ),
    1,
  )
  assert.equal(plan.size, 0)
  // Refused, or the connection ended: not again for the cool-down, then again.
  t.dialled = null
  plan.coolDown(t, '10.0.0.1:1000', 10)
  plan.offer(t, HASH, [{ ip: '10.0.0.1', port: 1000 }], 59_000)
  assert.equal(plan.size, 0)
  plan.offer(t, HASH, [{ ip: '10.0.0.1', port: 1000 }], 60_010)
  assert.equal(plan.size, 1)
  // Another torrent is another swarm: the same address queued for it too.
  plan.offer(torrent(2), HASH, [{ ip: '10.0.0.1', port: 1000 }], 60_010)
  assert.equal(plan.size, 2)

  // Bounded: a flood fills the queue and the rest is counted.
  const flood = Array.from({ length: 100 }, (_, i) => ({ ip: `10.9.0.${i}`, port: 7000 }))
  assert.equal(plan.offer(t, HASH, flood, 70_000), 100, 'all of them new')
  assert.equal(plan.size, 3)
  assert.equal(dropped, 99)
  // Seen in the last hour: not news, even when dropped before.
  assert.equal(plan.offer(t, HASH, flood, 80_000), 0)
  assert.equal(plan.offer(t, HASH, flood.slice(0, 1), 80_000 + 3_600_000), 1, 'an hour later it is')
})

test("dial queue: a leecher's fresh `started` is dialled again after a connection that got through its handshake; after a failed dial, once per cool-down", () => {
  const plan = new DialPlanner({ isSelf: () => false, dropped: () => {}, coolMs: 60_000 })
  const t = torrent(1)
  const peer = [{ ip: '10.0.0.1', port: 1000 }]
  // rTorrent by magnet: the connection that fetched the metadata ends, and it announces `started` again.
  plan.coolDown(t, '10.0.0.1:1000', 0, true)
  plan.offer(t, HASH, peer, 1000)
  assert.equal(plan.size, 0, 'a tracker reply naming it waits for the cool-down')
  plan.offer(t, HASH, peer, 1000, true)
  assert.equal(plan.size, 1, 'the push of its `started` does not')
  assert.equal(plan.next()?.address, '10.0.0.1:1000')
  // A dial that failed (refused, timed out, closed before the handshake): a tracker reply waits,
  // the next `started` is dialled (rTorrent swapping a magnet's download refuses the dial that
  // lands meanwhile), and if that dial fails too, further pushes wait out the cool-down.
  const other = [{ ip: '10.0.0.2', port: 1000 }]
  plan.coolDown(t, '10.0.0.2:1000', 0, false)
  plan.offer(t, HASH, other, 1000)
  assert.equal(plan.size, 0, 'a tracker reply waits')
  plan.offer(t, HASH, other, 1000, true)
  assert.equal(plan.next()?.address, '10.0.0.2:1000', 'the first push after it does not')
  plan.coolDown(t, '10.0.0.2:1000', 2000, false)
  for (const at of [2000, 30_000, 61_999]) plan.offer(t, HASH, other, at, true)
  assert.equal(plan.size, 0, 'a failed dial again: pushes wait out its minute')
  plan.offer(t, HASH, other, 62_000, true)
  assert.equal(plan.next()?.address, '10.0.0.2:1000', 'then again')
  // A stranger naming a closed port in announce after announce: two dials a minute (the cool-down's
  // own and the one push let through), not one per announce.
  const flood = [{ ip: '10.0.0.4', port: 1000 }]
  let dials = 0
  for (let at = 0; at < 600_000; at += 1000) {
    plan.offer(t, HASH, flood, at, true)
    if (plan.next()) {
      dials++
      plan.coolDown(t, '10.0.0.4:1000', at, false)
    }
  }
  assert.equal(dials, 20, 'dials in 10 minutes of announces every second')
})

test('dial queue: a `started` pushed while the connection it ends is still open here is dialled once that connection closes', () => {
  const plan = new DialPlanner({ isSelf: () => false, dropped: () => {}, coolMs: 60_000 })
  const t = torrent(1)
  const peer = [{ ip: '10.0.0.1', port: 1000 }]
  // rTorrent's second `started` can arrive before we read the close of its metadata connection.
  t.dialled = new Set(['10.0.0.1:1000'])
  plan.offer(t, HASH, peer, 1000, true)
  plan.offer(t, HASH, [{ ip: '10.0.0.3', port: 1000 }], 1000) // a tracker reply's peer: nothing kept for later
  plan.next()
  assert.equal(plan.size, 0, 'not while connected')
  t.dialled = null
  plan.coolDown(t, '10.0.0.1:1000', 2000, true)
  plan.closed(t, '10.0.0.1:1000', 2000)
  assert.equal(plan.next()?.address, '10.0.0.1:1000', 'dialled once it closed')
  plan.closed(t, '10.0.0.1:1000', 2000)
  assert.equal(plan.size, 0, 'once')
  // A plain tracker reply while connected, or a push gone stale before the close: nothing later.
  t.dialled = new Set(['10.0.0.1:1000', '10.0.0.2:1000'])
  plan.offer(t, HASH, [{ ip: '10.0.0.2', port: 1000 }], 3000)
  plan.offer(t, HASH, [{ ip: '10.0.0.1', port: 1000 }], 3000, true)
  t.dialled = null
  plan.closed(t, '10.0.0.2:1000', 4000)
  plan.closed(t, '10.0.0.1:1000', 3000 + 60_000)
  assert.equal(plan.size, 0)
})

// ---- the separate seeder's announce schedule ----------------------------------------------------

test('announce schedule: a reply showing the swarm changing brings the next announce to the min interval', () => {
  const s = new AnnounceSchedule({ ratePerSecond: 100, minIntervalMs: 60_000, soonFloorMs: 15_000 })
  s.add('k', 'lane', 0)
  s.take(0)
  s.done('k', 0, { ok: true, intervalSec: 300, minIntervalSec: 60, soon: true })
  assert.equal(s.nextWake(), 60_000, 'at the tracker min interval, not its interval')
  s.take(60_000)
  s.done('k', 60_000, { ok: true, intervalSec: 300, minIntervalSec: 60 })
  assert.equal(s.nextWake(), 360_000, 'nothing new: the full interval')
  s.take(360_000)
  s.done('k', 360_000, { ok: true, intervalSec: 300, minIntervalSec: 1, soon: true })
  assert.equal(s.nextWake(), 375_000, 'never closer than soonFloorMs')
  s.take(375_000)
  s.done('k', 375_000, { ok: true, intervalSec: 600, soon: true })
  assert.equal(s.nextWake(), 495_000, 'no min interval in the reply: a fifth of the interval')
  s.take(495_000)
  s.done('k', 495_000, { ok: true, intervalSec: 60, minIntervalSec: 600, soon: true })
  assert.equal(s.nextWake(), 1_095_000, 'never later than the regular one')
})

/** An HTTP tracker answering interval 300, min interval 1, and the peers and leecher count the test sets. */
async function changingTracker(t: TestContext) {
  const at: number[] = []
  let peers = Buffer.alloc(0)
  let leechers = 0
  const srv = http.createServer((_req, res) => {
    at.push(Date.now())
    res.end(
      Buffer.concat([
        Buffer.from(`d10:incompletei${leechers}e8:intervali300e12:min intervali1e5:peers${peers.length}:`),
        peers,
        Buffer.from('e'),
      ]),
    )
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  t.after(() => {
    srv.closeAllConnections()
    srv.close()
  })
  return {
    url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}/announce`,
    at,
    set(port: number | null, n: number) {
      peers = port === null ? Buffer.alloc(0) : Buffer.from([10, 0, 0, 1, port >> 8, port & 255])
      leechers = n
    },
  }
}

test('lean announcer: a reply naming a peer not seen lately, or a new leecher count, is followed by an announce at the min interval', async (t) => {
  const tr = await changingTracker(t)
  const seen = new Set<number>()
  const announcer = new Announcer({
    peerId: randomBytes(20),
    port: 6881,
    log: () => {},
    // As the engine's dial queue answers: how many of these peers it had not been offered.
    onPeers: (_h, _b, peers) => peers.filter((p) => !seen.has(p.port) && seen.add(p.port)).length,
    // The tracker's interval (300 s) capped to 3 s so the test sees several; its min interval is 1 s.
    schedule: { minIntervalMs: 0, maxIntervalMs: 3000, soonFloorMs: 0 },
  })
  t.after(() => announcer.close(200))
  tr.set(1001, 1)
  announcer.add({
    infoHash: 'ef'.repeat(20),
    infoHashBuf: Buffer.from('ef'.repeat(20), 'hex'),
    trackers: [tr.url],
    uploaded: 0,
  })
  await waitUntil(() => tr.at.length >= 1)
  tr.set(1002, 1) // a new leecher in the next reply
  await waitUntil(() => tr.at.length >= 2, 6000)
  await waitUntil(() => tr.at.length >= 3, 6000) // same reply again: nothing new
  tr.set(1002, 2) // the leecher count moves
  await waitUntil(() => tr.at.length >= 5, 10_000)
  const gaps = tr.at.slice(1).map((at, i) => at - tr.at[i]!)
  t.diagnostic(`gaps between announces: ${gaps.join(', ')} ms`)
  assert.ok(gaps[0]! >= 2500, 'after `started` (its peers are dialled at once): the interval')
  assert.ok(gaps[1]! < 2000, 'a new peer in the reply: again at the min interval')
  assert.ok(gaps[2]! >= 2500, 'nothing new: the interval')
  assert.ok(gaps[3]! < 2000, 'the leecher count changed: the min interval')
})

async function waitUntil(probe: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!probe()) {
    if (Date.now() > end) throw new Error('timed out')
    await sleep(20)
  }
}

// ---- the engine, pushed peers on real sockets ---------------------------------------------------

/** A lean engine seeding a small v1 torrent. */
async function seeding(t: TestContext) {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-push-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const data = randomBytes(4 * 16384)
  const file = path.join(dir, 'clip.mp4')
  await writeFile(file, data)
  const { pieces } = await hashFile(file, 16384)
  const built = buildTorrent({
    name: 'clip.mp4',
    length: data.length,
    pieceLength: 16384,
    pieces,
    trackers: [],
    webSeeds: [],
    createdBy: 'test',
    creationDate: 0,
  })
  await writeFile(`${file}.torrent`, built.buffer)
  const e = new LeanEngine({ port: 0, utp: false, log: () => {} })
  t.after(() => e.destroy())
  await e.listening()
  await e.add(built.infoHash, built.buffer, file)
  return { e, built }
}

/** A leecher listening on 127.0.0.2 (its sockets closed after the test); returns its port. */
async function leecher(t: TestContext, onConnection: (s: net.Socket) => void): Promise<number> {
  const sockets: net.Socket[] = []
  const srv = net.createServer((s) => {
    sockets.push(s)
    s.on('error', () => {})
    onConnection(s)
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.2', r))
  t.after(() => {
    for (const s of sockets) s.destroy()
    srv.close()
  })
  return (srv.address() as net.AddressInfo).port
}

/** Answers the handshake `d` (the engine's) on `s` as a libtorrent peer would. */
const answerHandshake = (s: net.Socket, d: Buffer) =>
  s.write(
    buildHandshake({
      infoHash: d.subarray(28, 48),
      peerId: Buffer.from('-lt0D80-abcdefghijkl'),
      extended: true,
      fast: false,
    }),
  )

test('lean engine: a pushed leecher is dialled at once, once, however often it is pushed', async (t) => {
  const { e, built } = await seeding(t)

  // A leecher that only listens: records each connection's handshake infohash, keeps it open.
  const handshakes: { hash: string; at: number }[] = []
  const port = await leecher(t, (s) =>
    s.once('data', (d: Buffer) => handshakes.push({ hash: d.subarray(28, 48).toString('hex'), at: Date.now() })),
  )
  const pushedAt = Date.now()
  e.addPeers(built.infoHash, [{ ip: '::ffff:127.0.0.2', port }])
  e.addPeers(built.infoHash, [{ ip: '127.0.0.2', port }])
  e.addPeers('not hex', [{ ip: '127.0.0.2', port }])
  e.addPeers('00'.repeat(20), [{ ip: '127.0.0.2', port }]) // not a torrent it seeds
  await waitUntil(() => handshakes.length >= 1)
  assert.ok(handshakes[0]!.at - pushedAt < 1000, `dialled ${handshakes[0]!.at - pushedAt} ms after the push`)
  assert.equal(handshakes[0]!.hash, built.infoHash)
  e.addPeers(built.infoHash, [{ ip: '127.0.0.2', port }]) // connected now
  await sleep(500)
  assert.equal(handshakes.length, 1, 'dialled once')
})

// rTorrent by magnet: the connection that brought it the metadata ends, its download starts over
// and announces `started` again; it leaves our address alone for 10 minutes, so we must dial.
test('lean engine: a leecher that closed a dialled connection after the handshake is dialled again on its next `started`', async (t) => {
  const { e, built } = await seeding(t)
  const sockets: net.Socket[] = []
  const port = await leecher(t, (s) => {
    sockets.push(s)
    // Answers the handshake, then hangs up (as once the metadata is in).
    s.once('data', (d: Buffer) => {
      answerHandshake(s, d)
      setTimeout(() => s.end(), 50)
    })
  })
  const connections = () => sockets.length
  e.addPeers(built.infoHash, [{ ip: '127.0.0.2', port }])
  await waitUntil(() => connections() === 1 && sockets[0]!.closed)
  await sleep(100) // the engine's side closes too
  e.addPeers(built.infoHash, [{ ip: '127.0.0.2', port }])
  await waitUntil(() => connections() === 2)
})

// rTorrent by magnet under load: a dial (a tracker reply's) lands while it swaps the metadata
// download for the real one and is hung up on unanswered; its `started` follows a moment later.
test('lean engine: a leecher that hung up on a dial before the handshake is dialled again on its next `started`', async (t) => {
  const { e, built } = await seeding(t)
  let swapping = true
  let connections = 0
  const handshaken: net.Socket[] = []
  const port = await leecher(t, (s) => {
    connections++
    if (swapping) return void s.destroy()
    s.once('data', (d: Buffer) => {
      handshaken.push(s)
      answerHandshake(s, d)
    })
  })
  e.addPeers(built.infoHash, [{ ip: '127.0.0.2', port }])
  await waitUntil(() => connections >= 1)
  // Every way the engine tries after a hang-up (MSE, then uTP) is spent before the swap ends.
  let before = -1
  while (before !== connections) {
    before = connections
    await sleep(1000)
  }
  swapping = false
  e.addPeers(built.infoHash, [{ ip: '127.0.0.2', port }])
  await waitUntil(() => handshaken.length === 1)
})
