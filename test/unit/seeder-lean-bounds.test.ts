// The lean engine's bounds on real sockets, without the site, with small limits so that each
// bites within a second or two: output bound and stall drop (ut_metadata flood, TCP), held
// input over uTP, per-address and handshake caps, the per-torrent cap dropping the biggest
// holder's idle peer, unchoked peers that never request, and a double shutdown.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Duplex } from 'node:stream'
import { LeanEngine } from '../../bt_server/lean/engine.ts'
import type { SeederLimits } from '../../bt_server/lean/limits.ts'
import { buildTorrent } from '../../src/bittorrent/metainfo.ts'
import { hashFileInWorkers as hashFile } from '../../src/bittorrent/hashInWorker.ts'
import { closedWithin, connect, extended, handshakeBytes, handshaken, INTERESTED } from '../helpers/seederAttack.ts'

const PIECE = 16 * 1024

async function seeding(t: TestContext, limits: Partial<SeederLimits>, utp = false) {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-lean-bounds-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  // 2,000 pieces: an info dict of 40 KB, three ut_metadata pieces.
  const data = randomBytes(2000 * PIECE)
  const file = path.join(dir, 'clip.mp4')
  await writeFile(file, data)
  const { pieces } = await hashFile(file, PIECE)
  const built = buildTorrent({
    name: 'clip.mp4',
    length: data.length,
    pieceLength: PIECE,
    pieces,
    trackers: [],
    webSeeds: [],
    createdBy: 'test',
    creationDate: 0,
  })
  await writeFile(`${file}.torrent`, built.buffer)
  const e = new LeanEngine({ port: 0, utp, log: () => {}, limits })
  t.after(() => e.destroy())
  await e.listening()
  await e.add(built.infoHash, built.buffer, file)
  return { e, infoHash: built.infoHash, port: e.listenPort }
}

const until = async (what: string, probe: () => boolean, ms = 5000) => {
  const end = Date.now() + ms
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** BEP 10 handshake (our ut_metadata id 3) and `n` requests for ut_metadata pieces 0-2. */
function metadataFlood(n: number): Buffer {
  const parts = [extended(0, 'd1:md11:ut_metadatai3eee')]
  for (let i = 0; i < n; i++) parts.push(extended(1, `d8:msg_typei0e5:piecei${i % 3}ee`))
  return Buffer.concat(parts)
}

test('ut_metadata flood from a peer that never reads: reading stops at the send bound, the stuck peer is dropped', async (t) => {
  const { e, infoHash, port } = await seeding(t, { peerSendBufferBytes: 256 * 1024, sendStallMs: 1000 })
  const peer = await handshaken(port, infoHash, { extended: true })
  assert.ok(peer)
  t.after(() => peer.socket.destroy())
  peer.socket.pause()
  const rssBefore = process.memoryUsage().rss
  peer.socket.write(metadataFlood(20_000)) // 20,000 x 16 KiB = 320 MB of replies, were they all made
  await until('the flood to be refused', () => e.refusals.get('seeder_send_queue_full') >= 1)
  // (The attacker does not read, so it would not see the close: the engine's count says it.)
  await until('the peer that does not read to be dropped', () => e.refusals.get('seeder_send_stalled') === 1, 10_000)
  const grew = (process.memoryUsage().rss - rssBefore) / 2 ** 20
  assert.ok(grew < 64, `RSS grew ${grew.toFixed(1)} MB`)
})

test('a reading peer gets every ut_metadata reply it asked for, even past the send bound', async (t) => {
  const { e, infoHash, port } = await seeding(t, { peerSendBufferBytes: 64 * 1024 })
  const peer = await handshaken(port, infoHash, { extended: true })
  assert.ok(peer)
  t.after(() => peer.socket.destroy())
  let got = 0
  let pending = Buffer.alloc(0)
  peer.socket.on('data', (d: Buffer) => {
    pending = Buffer.concat([pending, d])
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      const len = pending.readUInt32BE(0)
      if (len > 0 && pending[4] === 20 && pending[5] === 3) got++
      pending = pending.subarray(4 + len)
    }
  })
  pending = Buffer.from(peer.received.subarray(68))
  peer.socket.write(metadataFlood(300)) // ~4.8 MB of replies through a 64 KiB bound
  await until('300 replies', () => got === 300, 10_000)
  assert.ok(e.refusals.get('seeder_send_queue_full') >= 1, 'it had to wait (counted)')
  assert.equal(e.refusals.get('seeder_send_stalled'), 0)
})

test('total output bound: peers that do not read wait at a share of it, and the stuck ones are dropped', async (t) => {
  const { e, infoHash, port } = await seeding(t, {
    peerSendBufferBytes: 8 * 1024 * 1024,
    sendBufferTotalBytes: 1024 * 1024,
    sendStallMs: 60_000,
  })
  const peers = await Promise.all(
    [1, 2, 3].map((i) => handshaken(port, infoHash, { extended: true, localAddress: `127.0.8.${i}` })),
  )
  t.after(() => {
    for (const p of peers) p?.socket.destroy()
  })
  for (const p of peers) {
    assert.ok(p)
    p.socket.pause()
    p.socket.write(metadataFlood(20_000))
  }
  // Each alone is far under its own 8 MiB bound; together they pass the 1 MiB total.
  await until('stuck peers to be dropped for the total', () => e.refusals.get('seeder_send_queue_total') >= 1, 10_000)
  assert.equal(e.refusals.get('seeder_send_stalled'), 0, 'not the per-peer stall: that is a minute here')
})

test('uTP: input beyond SEEDER_PEER_RECV_BUFFER_BYTES while we do not read is refused', async (t) => {
  const { e, infoHash, port } = await seeding(
    t,
    { peerSendBufferBytes: 64 * 1024, peerRecvBufferBytes: 140 * 1024, sendStallMs: 60_000 },
    true,
  )
  const utp = (
    createRequire(import.meta.url)('utp-native') as () => { connect(port: number, host: string): Duplex; unref(): void }
  )()
  const socket = utp.connect(port, '127.0.0.1')
  socket.on('error', () => {})
  t.after(() => {
    utp.unref()
    socket.destroy()
  })
  socket.write(handshakeBytes(infoHash, { extended: true }))
  await new Promise((r) => socket.once('data', r))
  socket.pause() // never reads the replies
  socket.write(metadataFlood(20_000)) // ~620 KB of requests keeps arriving
  await until('the held input to be refused', () => e.refusals.get('seeder_recv_queue_full') === 1, 10_000)
})

test('per address: connections and handshakes in progress beyond their caps are closed at once', async (t) => {
  const { e, infoHash, port } = await seeding(t, { peersPerAddress: 3, handshakesPerAddress: 2 })
  const sockets: net.Socket[] = []
  t.after(() => {
    for (const s of sockets) s.destroy()
  })
  const a = [await connect(port, '127.0.5.1'), await connect(port, '127.0.5.1'), await connect(port, '127.0.5.1')]
  sockets.push(...a)
  for (const s of a) s.on('error', () => {})
  assert.deepEqual(
    await Promise.all(a.map((s) => closedWithin(s, 500))),
    [false, false, true],
    '2 in their handshake at once',
  )
  assert.equal(e.refusals.get('seeder_handshakes_per_address'), 1)
  a[0]!.write(handshakeBytes(infoHash))
  await new Promise((r) => a[0]!.once('data', r))
  const b = await connect(port, '127.0.5.1')
  b.on('error', () => {})
  sockets.push(b)
  assert.equal(await closedWithin(b, 500), false, 'a handshake done: room for another in progress')
  const c = await connect(port, '127.0.5.1')
  c.on('error', () => {})
  sockets.push(c)
  assert.equal(await closedWithin(c, 500), true, 'three connections: the fourth is refused')
  assert.equal(e.refusals.get('seeder_peers_per_address'), 1)
})

test('per torrent: a full torrent drops an idle peer of the address holding most, not the newcomer', async (t) => {
  const { e, infoHash, port } = await seeding(t, { peersPerTorrent: 3 })
  const a1 = (await handshaken(port, infoHash, { localAddress: '127.0.6.1' }))!
  const a2 = (await handshaken(port, infoHash, { localAddress: '127.0.6.1' }))!
  const b = (await handshaken(port, infoHash, { localAddress: '127.0.6.2' }))!
  const c = await handshaken(port, infoHash, { localAddress: '127.0.6.3' })
  t.after(() => {
    for (const p of [a1, a2, b, c]) p?.socket.destroy()
  })
  assert.ok(c, 'the newcomer is let in')
  assert.equal(await closedWithin(a1.socket, 1000), true, 'the oldest idle peer of the address holding two is dropped')
  assert.equal(a2.socket.destroyed || a2.socket.readableEnded, false)
  assert.equal(b.socket.destroyed || b.socket.readableEnded, false)
  assert.equal(e.refusals.get('seeder_peers_per_torrent'), 1)
})

test('an unchoked peer that never requests loses its slot (dropped), and the waiting one is unchoked', async (t) => {
  const { e, infoHash, port } = await seeding(t, { unchokedPerTorrent: 1, unchokedIdleMs: 300 })
  // The regular slot and the optimistic one (taken at once by the second peer), both held.
  const holders = [
    (await handshaken(port, infoHash, { localAddress: '127.0.7.1' }))!,
    (await handshaken(port, infoHash, { localAddress: '127.0.7.3' }))!,
  ]
  for (const h of holders) {
    h.socket.on('data', () => {})
    h.socket.write(INTERESTED)
  }
  await new Promise((r) => setTimeout(r, 100))
  const waiting = (await handshaken(port, infoHash, { localAddress: '127.0.7.2' }))!
  t.after(() => {
    for (const h of holders) h.socket.destroy()
    waiting.socket.destroy()
  })
  let got = waiting.received.subarray(68)
  waiting.socket.on('data', (d: Buffer) => {
    got = Buffer.concat([got, d])
  })
  waiting.socket.write(INTERESTED)
  for (const h of holders) assert.equal(await closedWithin(h.socket, 3000), true, 'the holder is dropped')
  await until('the waiting peer to be unchoked', () => got.includes(Buffer.from([0, 0, 0, 1, 1])))
  assert.ok(e.refusals.get('seeder_idle_peer_timeout') >= 2)
})

test('destroy twice, the second after the uTP listener has closed: no crash', async () => {
  const e = new LeanEngine({ port: 0, log: () => {} })
  await e.listening()
  await e.destroy()
  await new Promise((r) => setTimeout(r, 50))
  await e.destroy()
})
