// Issue 8, seeder slots: 100 connections that handshake and say "interested" held every slot of
// a torrent for ever (a real client got 0 bytes in 30 s); 2,000 idle connections filled the
// global cap; nothing limited one address. Against a real supervised seeder on its defaults,
// with raw sockets from other loopback addresses as the attacker and aria2c from the seeder
// alone as the real user:
// * 100 interested connections that never request: aria2c still downloads in less than twice
//   its unattacked time + 8 s (SEEDER_UNCHOKED_IDLE_SECONDS is 5), and the holders are dropped;
// * one address gets SEEDER_PEERS_PER_ADDRESS (16) connections, SEEDER_HANDSHAKES_PER_ADDRESS (8)
//   of them in their handshake, and the ones beyond are refused and counted;
// * 2,000 idle connections (SEEDER_MAX_PEERS) from 250 addresses: aria2c is let in all the same.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type net from 'node:net'
import { waitFor } from '../helpers/http.ts'
import { aria2cFromSeeder, sleep, torrentWithoutWebSeed, seedingSite } from '../helpers/seededSite.ts'
import { closedWithin, connect, handshaken, INTERESTED, refused } from '../helpers/seederAttack.ts'

async function seededSite(t: import('node:test').TestContext) {
  const { server, upload } = await seedingSite(t)
  return { server, upload, torrent: await torrentWithoutWebSeed(upload) }
}

function closeAll(t: import('node:test').TestContext, sockets: net.Socket[]) {
  t.after(() => {
    for (const s of sockets) s.destroy()
  })
}

test('100 interested connections that never request hold no slot: aria2c still downloads in time', {
  timeout: 120_000,
}, async (t) => {
  const { server, upload, torrent } = await seededSite(t)
  const quiet = await aria2cFromSeeder(t, server, upload, torrent)
  const infoHash = upload.video.torrent!.infoHash

  // 10 addresses x 10 connections: the per-address caps do not stop them; they fill the
  // torrent's 100 peers and its 50 unchoked slots.
  const holders: net.Socket[] = []
  closeAll(t, holders)
  await Promise.all(
    Array.from({ length: 10 }, async (_, a) => {
      for (let i = 0; i < 10; i++) {
        const peer = await handshaken(server.seederPort, infoHash, { localAddress: `127.0.2.${a + 1}` })
        assert.ok(peer, 'the seeder takes the holders in')
        peer.socket.on('data', () => {}) // reads everything, asks for nothing
        peer.socket.write(INTERESTED)
        holders.push(peer.socket)
      }
    }),
  )
  const started = Date.now()
  const attacked = await aria2cFromSeeder(t, server, upload, torrent)
  t.diagnostic(`aria2c: ${quiet} ms without the holders, ${attacked} ms with them (allowed ${2 * quiet + 8000} ms)`)
  assert.ok(attacked < 2 * quiet + 8000, `aria2c took ${attacked} ms with 100 slot holders, ${quiet} ms without`)

  // The holders that were unchoked and asked for nothing were dropped within the idle time.
  await sleep(Math.max(0, 7000 - (Date.now() - started)))
  const dropped = holders.filter((s) => s.destroyed || s.readableEnded).length
  t.diagnostic(`${dropped} of 100 holders dropped`)
  assert.ok(dropped >= 50, `at least the 50 unchoked holders were dropped (${dropped})`)
  await waitFor(
    async () => (await refused(server, 'seeder_idle_peer_timeout')) >= 50,
    'seeder_idle_peer_timeout in /metrics',
    10_000,
  )
  assert.ok((await refused(server, 'seeder_peers_per_torrent')) >= 1, 'the full torrent made room for aria2c (counted)')
})

test('per address: connections beyond SEEDER_PEERS_PER_ADDRESS, and handshakes beyond SEEDER_HANDSHAKES_PER_ADDRESS, are refused and counted', {
  timeout: 60_000,
}, async (t) => {
  const { server, upload } = await seededSite(t)
  const infoHash = upload.video.torrent!.infoHash
  const sockets: net.Socket[] = []
  closeAll(t, sockets)

  // 16 handshaken connections from one address stay; 5 more are closed without a handshake back.
  const peersBefore = await refused(server, 'seeder_peers_per_address')
  const answered: (net.Socket | null)[] = []
  for (let i = 0; i < 21; i++) {
    const peer = await handshaken(server.seederPort, infoHash, { localAddress: '127.0.3.1' })
    answered.push(peer?.socket ?? null)
    if (peer) {
      peer.socket.on('data', () => {})
      sockets.push(peer.socket)
    }
  }
  assert.equal(answered.slice(0, 16).filter(Boolean).length, 16, 'the first 16 are served')
  assert.equal(answered.slice(16).filter(Boolean).length, 0, 'the 5 beyond are refused')

  // 8 connections that say nothing yet from another address stay; 3 more are closed at once.
  const silent: net.Socket[] = []
  for (let i = 0; i < 11; i++) silent.push(await connect(server.seederPort, '127.0.3.2'))
  sockets.push(...silent)
  for (const s of silent) s.on('error', () => {})
  const closed = await Promise.all(silent.map((s) => closedWithin(s, 1500)))
  assert.deepEqual(closed.slice(0, 8), Array(8).fill(false), 'the first 8 wait for their handshake')
  assert.deepEqual(closed.slice(8), Array(3).fill(true), 'the 3 beyond are closed')

  // A real client from yet another address is not affected.
  const other = await handshaken(server.seederPort, infoHash, { localAddress: '127.0.3.3' })
  assert.ok(other, 'another address is served')
  sockets.push(other.socket)

  await waitFor(
    async () => (await refused(server, 'seeder_peers_per_address')) >= peersBefore + 5,
    'seeder_peers_per_address +5 in /metrics',
    10_000,
  )
  assert.ok((await refused(server, 'seeder_handshakes_per_address')) >= 3, 'seeder_handshakes_per_address counted')
})

test('2,000 idle connections fill the global cap: aria2c is let in and downloads all the same', {
  timeout: 120_000,
}, async (t) => {
  const { server, upload, torrent } = await seededSite(t)
  const quiet = await aria2cFromSeeder(t, server, upload, torrent)
  const idle: net.Socket[] = []
  closeAll(t, idle)
  // 250 addresses x 8 (the most one address may have in their handshake): 2,000, the default cap.
  await Promise.all(
    Array.from({ length: 250 }, async (_, a) => {
      for (let i = 0; i < 8; i++) {
        const s = await connect(server.seederPort, `127.0.${10 + (a >> 6)}.${(a & 63) + 1}`)
        s.on('error', () => {})
        idle.push(s)
      }
    }),
  )
  const attacked = await aria2cFromSeeder(t, server, upload, torrent)
  const open = idle.filter((s) => !s.destroyed && !s.readableEnded).length
  t.diagnostic(`aria2c: ${quiet} ms without, ${attacked} ms with ${open} idle connections still open`)
  assert.ok(
    attacked < 2 * quiet + 8000,
    `aria2c took ${attacked} ms beside 2,000 idle connections, ${quiet} ms without`,
  )
  assert.ok(open < 2000, 'an idle connection made room for aria2c')
  await waitFor(
    async () => (await refused(server, 'seeder_peers_total')) >= 1,
    'seeder_peers_total in /metrics',
    10_000,
  )
})
