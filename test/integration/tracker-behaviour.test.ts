// The tracker's rules as clients meet them, on real sockets: the reply's interval and min interval,
// numwant capped, compact and non-compact peers, BEP 48 multi-scrape, refusals (unknown infohash,
// a video deleted mid-swarm, BitTorrent switched off), peer expiry, UDP connection ids bound to
// the source port, WebSocket peers counted on the API, per-address rate limits and IPv6 peers6.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import Client from 'bittorrent-tracker/client'
import { freePortUdp, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { binParam, getVideo, uploadOk } from '../helpers/http.ts'
import { bdecodeDict, compactPeers, failureOf, isDict, type BDict } from '../helpers/trackerReply.ts'
import { UdpTrackerClient, announcePacket } from '../helpers/udpTracker.ts'

let clip: string
before(async () => {
  clip = await makeVideo({ seconds: 1 })
})
after(async () => {
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

interface Q {
  peer?: string
  port?: number
  left?: number
  event?: string
  numwant?: number
  compact?: 0 | 1
  noPeerId?: boolean
}
const peerId = (name: string) => Buffer.from(name.padEnd(20, '.').slice(0, 20), 'latin1')
function aq(hash: string, o: Q = {}): string {
  const parts = [
    `info_hash=${binParam(Buffer.from(hash, 'hex'))}`,
    `peer_id=${binParam(peerId(o.peer ?? '-TB0001-probe'))}`,
    `port=${o.port ?? 6881}`,
    'uploaded=0',
    'downloaded=0',
    `left=${o.left ?? 100}`,
    `compact=${o.compact ?? 1}`,
  ]
  if (o.event) parts.push(`event=${o.event}`)
  if (o.numwant !== undefined) parts.push(`numwant=${o.numwant}`)
  if (o.noPeerId) parts.push('no_peer_id=1')
  return parts.join('&')
}
const sq = (...hashes: string[]) => hashes.map((h) => `info_hash=${binParam(Buffer.from(h, 'hex'))}`).join('&')
async function tget(url: string): Promise<BDict> {
  const res = await fetch(url)
  assert.equal(res.status, 200)
  return bdecodeDict(Buffer.from(await res.arrayBuffer()))
}
const okReply = (r: BDict): BDict => {
  assert.equal(failureOf(r), undefined, failureOf(r))
  return r
}
async function metric(s: TestServer, series: string): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line ? Number(line.slice(series.length + 1)) : 0
}
const udpRefusal = (p: Promise<unknown>) =>
  p.then(
    () => 'answered',
    (err: Error) => err.message,
  )

describe('one site, UDP on, interval 120 s, min interval 30 s, numwant capped at 7', () => {
  let s: TestServer
  let udp: UdpTrackerClient
  const hashes: string[] = []
  const ids: string[] = []
  before(async () => {
    s = await startTestServer({
      TRACKER_UDP_PORT: String(await freePortUdp()),
      TRACKER_INTERVAL_SECONDS: '120',
      TRACKER_MIN_INTERVAL_SECONDS: '30',
      TRACKER_MAX_NUMWANT: '7',
      TRACKER_RATE_LIMIT_PER_MINUTE: '0',
    })
    for (const title of ['A', 'B', 'C', 'D']) {
      const v = await uploadOk(s, { title }, { path: clip })
      ids.push(v.id)
      hashes.push(v.torrent!.infoHash)
    }
    assert.equal(new Set(hashes).size, 4, 'four distinct torrents')
    udp = await UdpTrackerClient.open('127.0.0.1', s.udpPort!)
  })
  after(async () => {
    await udp?.close()
    await s?.stop()
  })
  const announce = (hash: string, o: Q = {}) => tget(`${s.url}/announce?${aq(hash, o)}`)

  test('interval and min interval come from the configuration; numwant is capped', async () => {
    const [a] = hashes as [string]
    for (let i = 1; i <= 10; i++)
      okReply(await announce(a, { peer: `-TB0001-swarm${i}`, port: 40000 + i, event: 'started' }))
    const r = okReply(await announce(a, { peer: '-TB0001-asker', numwant: 50 }))
    assert.equal(r.interval, 120)
    assert.equal(r['min interval'], 30)
    assert.equal(r.incomplete, 11)
    assert.equal(compactPeers(r.peers, 6).length, 7, 'numwant 50 capped at 7')
    assert.equal(
      compactPeers(okReply(await announce(a, { peer: '-TB0001-asker', numwant: 3 })).peers, 6).length,
      3,
      'a smaller numwant is kept',
    )
    assert.equal(
      compactPeers(okReply(await announce(a, { peer: '-TB0001-asker' })).peers, 6).length,
      7,
      'the default numwant is capped too',
    )
    const u = await udp.announce({ infoHash: a, numwant: 100, port: 40100 })
    assert.equal(u.interval, 120)
    assert.equal(u.peers.length, 7)
    assert.ok(u.peers.every((p) => p.ip === '127.0.0.1'))
  })

  test('compact=0 lists peers as dicts (ip, peer id, port); no_peer_id leaves the id out', async () => {
    const b = hashes[1]!
    okReply(await announce(b, { peer: '-TB0001-dict-one', port: 41001, event: 'started' }))
    const r = okReply(await announce(b, { peer: '-TB0001-dict-two', port: 41002, compact: 0, event: 'started' }))
    assert.ok(Array.isArray(r.peers))
    assert.deepEqual(
      r.peers.map((p) => (isDict(p) ? Object.keys(p) : p)),
      [['ip', 'peer id', 'port']],
    )
    const [p] = r.peers as BDict[]
    assert.equal((p!.ip as Buffer).toString(), '127.0.0.1')
    assert.equal(p!.port, 41001)
    assert.deepEqual(p!['peer id'], peerId('-TB0001-dict-one'))
    const n = okReply(await announce(b, { peer: '-TB0001-dict-two', port: 41002, compact: 0, noPeerId: true }))
    assert.deepEqual(
      (n.peers as BDict[]).map((x) => Object.keys(x)),
      [['ip', 'port']],
    )
  })

  test('BEP 48: one scrape for three infohashes; an unknown one is left out; UDP answers positionally', async () => {
    const [a, b, c] = hashes as [string, string, string]
    const r = okReply(await tget(`${s.url}/scrape?${sq(a, b, c, 'ee'.repeat(20))}`))
    assert.ok(isDict(r.files))
    const files = r.files
    assert.deepEqual(
      Object.keys(files)
        .map((k) => Buffer.from(k, 'latin1').toString('hex'))
        .sort(),
      [a, b, c].sort(),
      'keys are the raw 20-byte infohashes',
    )
    const entry = (h: string) => files[Buffer.from(h, 'hex').toString('latin1')] as BDict
    assert.deepEqual({ ...entry(a) }, { complete: 0, downloaded: 0, incomplete: 12 })
    assert.deepEqual({ ...entry(b) }, { complete: 0, downloaded: 0, incomplete: 2 })
    assert.deepEqual({ ...entry(c) }, { complete: 0, downloaded: 0, incomplete: 0 })
    assert.deepEqual(await udp.scrape([b, 'ee'.repeat(20), a]), [
      { seeders: 0, completed: 0, leechers: 2 },
      { seeders: 0, completed: 0, leechers: 0 },
      { seeders: 0, completed: 0, leechers: 12 },
    ])
  })

  test('an unknown infohash is refused over HTTP and UDP, announce and scrape, and not tracked', async () => {
    const unknown = 'ab'.repeat(20)
    const swarms = await metric(s, 'seedcast_tracker_swarms{transport="bt"}')
    assert.match(failureOf(await announce(unknown, { event: 'started' })) ?? '', /unregistered/)
    assert.match(failureOf(await tget(`${s.url}/scrape?${sq(unknown)}`)) ?? '', /unregistered/)
    assert.match(await udpRefusal(udp.announce({ infoHash: unknown })), /unregistered/)
    assert.match(await udpRefusal(udp.scrape([unknown])), /unregistered/)
    assert.equal(await metric(s, 'seedcast_tracker_swarms{transport="bt"}'), swarms)
  })

  test('a video deleted mid-swarm: the next announce and scrape are refused, its counts are gone', async () => {
    const d = hashes[3]!
    okReply(await announce(d, { peer: '-TB0001-d-leecher', port: 42001, event: 'started' }))
    await udp.announce({ infoHash: d, left: 0n, port: 42002, event: 2 })
    assert.deepEqual((await getVideo(s, ids[3]!)).swarm, { seeders: 1, leechers: 1, completed: 0 })
    const allowed = await metric(s, 'seedcast_tracker_allowed_torrents')
    const del = await fetch(`${s.url}/api/videos/${ids[3]}`, {
      method: 'DELETE',
      headers: { authorization: s.basicAuth },
    })
    assert.equal(del.status, 204)
    assert.match(failureOf(await announce(d, { peer: '-TB0001-d-leecher', port: 42001 })) ?? '', /unregistered/)
    assert.match(failureOf(await tget(`${s.url}/scrape?${sq(d)}`)) ?? '', /unregistered/)
    assert.match(await udpRefusal(udp.announce({ infoHash: d, port: 42002 })), /unregistered/)
    assert.match(await udpRefusal(udp.scrape([d])), /unregistered/)
    assert.deepEqual(s.services.tracker.counts(d), { seeders: 0, leechers: 0 })
    assert.equal(await metric(s, 'seedcast_tracker_allowed_torrents'), allowed - 1)
  })

  test('BitTorrent switched off via PUT /api/settings refuses announces and scrapes; on again, they work', async () => {
    const a = hashes[0]!
    const put = (on: boolean) =>
      fetch(`${s.url}/api/settings`, {
        method: 'PUT',
        headers: { authorization: s.basicAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ bittorrentEnabled: on, trackerUrls: [`${s.services.config.publicUrl}/announce`] }),
      })
    const disabled = await metric(s, 'seedcast_tracker_rejected_total{reason="disabled"}')
    assert.equal((await put(false)).status, 200)
    try {
      assert.match(failureOf(await announce(a, { event: 'started' })) ?? '', /switched off/)
      assert.match(failureOf(await tget(`${s.url}/scrape?${sq(a)}`)) ?? '', /switched off/)
      assert.match(await udpRefusal(udp.announce({ infoHash: a })), /switched off/)
      assert.match(await udpRefusal(udp.scrape([a])), /switched off/)
      assert.equal(await metric(s, 'seedcast_tracker_rejected_total{reason="disabled"}'), disabled + 4)
    } finally {
      assert.equal((await put(true)).status, 200)
    }
    okReply(await announce(a, { event: 'started' }))
    okReply(await tget(`${s.url}/scrape?${sq(a)}`))
    assert.ok((await udp.announce({ infoHash: a })).interval > 0)
  })

  test('a UDP connection id works only from the source port it was issued to', async () => {
    const other = await UdpTrackerClient.open('127.0.0.1', s.udpPort!)
    try {
      const id = await udp.connect()
      const dropped = s.services.tracker.metrics.udpDropped
      const tid = other.tid()
      const spoofed = await other.request(announcePacket(id, tid, { infoHash: hashes[0]!, port: 43001 }), tid, 500)
      assert.equal(spoofed, null, "no reply to an announce with another port's connection id")
      assert.equal(s.services.tracker.metrics.udpDropped, dropped + 1)
      const tid2 = udp.tid()
      const own = await udp.request(announcePacket(id, tid2, { infoHash: hashes[0]!, port: 43001 }), tid2, 2000)
      assert.equal(own?.readUInt32BE(0), 1, 'the same packet from the right port is answered')
    } finally {
      await other.close()
    }
  })

  test('a WebSocket peer is counted on the API; an unknown infohash is refused; /metrics counts every transport', async () => {
    const c = hashes[2]!
    const series = (kind: string, t: string) => metric(s, `seedcast_tracker_${kind}_total{transport="${t}"}`)
    const before = await Promise.all([
      series('announces', 'http'),
      series('announces', 'udp'),
      series('announces', 'ws'),
      series('scrapes', 'http'),
      series('scrapes', 'udp'),
    ])
    const ws = (hash: string, id: string) =>
      new Client({
        infoHash: hash,
        peerId: peerId(id),
        announce: [`ws://127.0.0.1:${s.port}/announce`],
        port: 6881,
        // numwant 0: no WebRTC offers, so no ICE sockets on other interfaces; loopback only.
        rtcConfig: { iceServers: [] },
        getAnnounceOpts: () => ({ numwant: 0 }),
      })
    const peer = ws(c, '-WS0001-browser')
    const stranger = ws('cd'.repeat(20), '-WS0001-stranger')
    try {
      const answered = new Promise<unknown>((resolve, reject) => {
        peer.once('update', resolve)
        peer.once('warning', reject)
      })
      const refused = new Promise<Error>((resolve, reject) => {
        stranger.once('warning', resolve)
        stranger.once('update', () => reject(new Error('an unknown infohash was answered')))
      })
      peer.start()
      stranger.start()
      await answered
      assert.match((await refused).message, /unregistered/)
      // WebSocket scrapes follow the same rules as HTTP and UDP ones.
      const scraped = new Promise<{ incomplete: number }>((resolve, reject) => {
        peer.once('scrape', resolve)
        peer.once('warning', reject)
      })
      peer.scrape()
      assert.equal((await scraped).incomplete, 1)
      // The package's client hides scrape failure reasons, so ask over a raw WebSocket.
      const wsScrape = (message: object) =>
        new Promise<Record<string, unknown>>((resolve, reject) => {
          const sock = new WebSocket(`ws://127.0.0.1:${s.port}/announce`)
          sock.onopen = () => sock.send(JSON.stringify({ action: 'scrape', ...message }))
          sock.onmessage = (ev) => {
            resolve(JSON.parse(String(ev.data)))
            sock.close()
          }
          sock.onerror = () => reject(new Error('websocket error'))
        })
      const binary = (hex: string) => Buffer.from(hex, 'hex').toString('latin1')
      assert.match(String((await wsScrape({ info_hash: binary('cd'.repeat(20)) }))['failure reason']), /unregistered/)
      assert.match(String((await wsScrape({}))['failure reason']), /full scrape/)
      const known = await wsScrape({ info_hash: binary(c) })
      assert.equal((known.files as Record<string, { incomplete: number }>)[binary(c)]?.incomplete, 1)
      assert.deepEqual(
        (await getVideo(s, ids[2]!)).swarm,
        { seeders: 0, leechers: 1, completed: 0 },
        'the ws peer is counted',
      )
      assert.equal(await metric(s, 'seedcast_tracker_peers{kind="ws"}'), 1)
      okReply(await announce(c, { peer: '-TB0001-m1', port: 44001 }))
      okReply(await announce(c, { peer: '-TB0001-m2', port: 44002 }))
      await udp.announce({ infoHash: c, port: 44003 })
      await udp.announce({ infoHash: c, port: 44003 })
      await udp.announce({ infoHash: c, port: 44003 })
      okReply(await tget(`${s.url}/scrape?${sq(c)}`))
      await udp.scrape([c])
      const afterAll = await Promise.all([
        series('announces', 'http'),
        series('announces', 'udp'),
        series('announces', 'ws'),
        series('scrapes', 'http'),
        series('scrapes', 'udp'),
      ])
      assert.deepEqual(
        afterAll.map((n, i) => n - before[i]!),
        [2, 3, 1, 1, 1],
        'announces http/udp/ws, scrapes http/udp',
      )
    } finally {
      await Promise.all([peer, stranger].map((x) => new Promise<void>((resolve) => x.destroy(() => resolve()))))
    }
    await waitUntil(async () => (await getVideo(s, ids[2]!)).swarm!.leechers === 3, 'the ws peer to leave on close')
  })

  test('peers expire after two missed intervals (plus a minute): counts drop', async () => {
    const c = hashes[2]!
    const tracker = s.services.tracker
    okReply(await announce(c, { peer: '-TB0001-fresh', port: 45001 }))
    const now = Date.now()
    const ttl = (2 * 120 + 60) * 1000
    assert.deepEqual(tracker.counts(c), { seeders: 0, leechers: 4 })
    tracker.sweep(now + ttl - 30_000)
    assert.deepEqual((await getVideo(s, ids[2]!)).swarm, { seeders: 0, leechers: 4, completed: 0 }, 'not yet')
    tracker.sweep(now + ttl + 1000)
    assert.deepEqual((await getVideo(s, ids[2]!)).swarm, { seeders: 0, leechers: 0, completed: 0 })
    const r = okReply(await tget(`${s.url}/scrape?${sq(...hashes.slice(0, 3))}`))
    for (const f of Object.values(r.files as BDict))
      assert.deepEqual({ ...(f as BDict), downloaded: 0 }, { complete: 0, downloaded: 0, incomplete: 0 })
    assert.equal(await metric(s, 'seedcast_tracker_peers{kind="leecher"}'), 0)
    assert.equal(await metric(s, 'seedcast_tracker_swarms{transport="bt"}'), 0)
  })
})

async function waitUntil(probe: () => Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('rate limit: 5 requests a minute per address', () => {
  for (const first of ['http', 'udp'] as const) {
    test(`the 6th ${first.toUpperCase()} request from 127.0.0.1 is refused with "rate limit"; the address is limited on both transports`, async () => {
      const s = await startTestServer({
        TRACKER_UDP_PORT: String(await freePortUdp()),
        TRACKER_RATE_LIMIT_PER_MINUTE: '5',
      })
      const udp = await UdpTrackerClient.open('127.0.0.1', s.udpPort!)
      try {
        const hash = (await uploadOk(s, { title: 'limited' }, { path: clip })).torrent!.infoHash
        // Announces and scrapes alike take from the address's bucket.
        const http = (i: number, scrape = i % 2 === 1) =>
          tget(
            `${s.url}/${scrape ? 'scrape?' + sq(hash) : 'announce?' + aq(hash, { peer: `-RL0001-${i}`, port: 46000 + i })}`,
          )
        await udp.connect() // connecting is free: it grants nothing
        for (let i = 0; i < 5; i++) {
          if (first === 'http') okReply(await http(i))
          else
            assert.ok(
              i % 2
                ? (await udp.scrape([hash])).length === 1
                : (await udp.announce({ infoHash: hash, port: 46000 + i })).interval > 0,
            )
        }
        const sixth =
          first === 'http'
            ? (failureOf(await http(5, false)) ?? 'answered')
            : await udpRefusal(udp.announce({ infoHash: hash, port: 46005 }))
        assert.match(sixth, /rate limit/)
        assert.match(
          first === 'http'
            ? await udpRefusal(udp.announce({ infoHash: hash }))
            : (failureOf(await http(6)) ?? 'answered'),
          /rate limit/,
          'one bucket per address, whatever the transport',
        )
        assert.match(failureOf(await tget(`${s.url}/scrape?${sq(hash)}`)) ?? '', /rate limit/)
        assert.equal(await metric(s, 'seedcast_tracker_rejected_total{reason="rate_limited"}'), 3)
        assert.equal(await metric(s, 'seedcast_tracker_rate_limited_addresses'), 1)
        assert.equal((await fetch(`${s.url}/healthz`)).status, 200, 'the site itself is not limited')
      } finally {
        await udp.close()
        await s.stop()
      }
    })
  }
})

async function hasIPv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false))
    srv.listen(0, '::1', () => srv.close(() => resolve(true)))
  })
}

test('IPv6: peers from ::1 come back as compact peers6 (HTTP) and 18-byte entries (UDP over IPv6)', async (t) => {
  if (!(await hasIPv6Loopback())) return t.skip('this machine has no IPv6 loopback (::1)')
  const s = await startTestServer({
    HOST: '::',
    TRACKER_UDP_PORT: String(await freePortUdp()),
    TRACKER_RATE_LIMIT_PER_MINUTE: '0',
  })
  const udp6 = await UdpTrackerClient.open('::1', s.udpPort!)
  const udp4 = await UdpTrackerClient.open('127.0.0.1', s.udpPort!)
  try {
    const hash = (await uploadOk(s, { title: 'six' }, { path: clip })).torrent!.infoHash
    const v6 = `http://[::1]:${s.port}`
    okReply(await tget(`${v6}/announce?${aq(hash, { peer: '-V60001-one', port: 47001, event: 'started' })}`))
    const two = okReply(
      await tget(`${v6}/announce?${aq(hash, { peer: '-V60001-two', port: 47002, event: 'started' })}`),
    )
    const loop6 = '::1' // RFC 5952, as the tracker and the seeder write it
    assert.deepEqual(compactPeers(two.peers6, 18), [{ ip: loop6, port: 47001 }], 'peers6 holds the other IPv6 peer')
    assert.deepEqual(compactPeers(two.peers, 6), [], 'no IPv4 peers yet')
    const four = okReply(
      await tget(`${s.url}/announce?${aq(hash, { peer: '-V40001-four', port: 47004, event: 'started' })}`),
    )
    assert.deepEqual(
      compactPeers(four.peers6, 18)
        .map((p) => `${p.ip}/${p.port}`)
        .sort(),
      [`${loop6}/47001`, `${loop6}/47002`],
    )
    const list = okReply(await tget(`${v6}/announce?${aq(hash, { peer: '-V60001-one', port: 47001, compact: 0 })}`))
    assert.deepEqual((list.peers as BDict[]).map((p) => `${(p.ip as Buffer).toString()}/${p.port}`).sort(), [
      '127.0.0.1/47004',
      '::1/47002',
    ])
    const viaUdp6 = await udp6.announce({ infoHash: hash, port: 47006 })
    assert.deepEqual(
      viaUdp6.peers.map((p) => `${p.ip}/${p.port}`).sort(),
      [`${loop6}/47001`, `${loop6}/47002`],
      'IPv6 UDP: 18-byte entries, IPv6 peers',
    )
    const viaUdp4 = await udp4.announce({ infoHash: hash, port: 47007 })
    assert.deepEqual(
      viaUdp4.peers.map((p) => `${p.ip}/${p.port}`),
      ['127.0.0.1/47004'],
      'IPv4 UDP (dual-stack socket): 6-byte entries, IPv4 peers',
    )
    assert.deepEqual(s.services.tracker.counts(hash), { seeders: 0, leechers: 5 })
  } finally {
    await udp6.close()
    await udp4.close()
    await s.stop()
  }
})
