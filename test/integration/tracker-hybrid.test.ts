// A hybrid torrent (BEP 52) has two infohashes: v1 clients announce its SHA-1, v2 clients its
// SHA-256 truncated to 20 bytes (libtorrent 2 announces under both: tracker-hybrid-libtorrent.test.ts).
// The site's tracker treats them as one swarm: one peer list, one set of counts, a completion
// counted once per peer, offload bytes against one baseline, a scrape by either hash, the same
// refusals. Here over raw HTTP, UDP and WebSocket announces.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { freePortUdp, type TestServer } from '../helpers/server.ts'
import { announceQuery, getJson, waitFor, type VideoJson } from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'
import { UdpTrackerClient } from '../helpers/udpTracker.ts'
import { dropAllWs, metrics, openWs, randomId, wsAnnounce } from '../helpers/wsTracker.ts'
import {
  announceTo,
  failure,
  peerPorts as ports,
  scrapeFiles,
  scrapeOf,
  startHybridSite,
  storedCompleted,
  swarmOf,
  type HybridSite,
  type HybridTorrent,
} from '../helpers/hybridTorrent.ts'

let site: HybridSite
let server: TestServer
let rawVideo: VideoJson
let raw: HybridTorrent

before(async () => {
  site = await startHybridSite(['Hybrid, raw announces', 'Hybrid, another'], {
    TRACKER_UDP_PORT: String(await freePortUdp()),
  })
  server = site.server
  rawVideo = site.videos[0]!
  raw = site.hybrids[0]!
})
after(async () => {
  dropAllWs()
  await site?.stop()
})

const announce = (q: string) => announceTo(server, q)
const scrape = (hashes: string[]) => scrapeOf(server, hashes)
const swarm = (video: VideoJson) => swarmOf(server, video)
const stored = (video: VideoJson) => storedCompleted(server, video)

describe('raw announces by either infohash of a hybrid torrent', () => {
  const leecher = { peerId: '-LE0001-hybrid-leech', port: 52001 }
  const seeder = { peerId: '-SE0001-hybrid-seed!', port: 52002 }

  test('the torrent is stored as a hybrid, and its two hashes differ', async () => {
    const [row] = await sql(
      server,
      'SELECT "infoHash", "infoHashV2", "format" FROM "Torrent" WHERE "videoId" = ?',
      rawVideo.id,
    )
    assert.deepEqual(row, { infoHash: raw.infoHash, infoHashV2: raw.infoHashV2, format: 'hybrid' })
    assert.notEqual(raw.infoHash, raw.truncatedV2)
  })

  test('HTTP: a v1 leecher and a v2 seeder are one swarm, each handed the other', async () => {
    const a = await announce(announceQuery(raw.infoHash, { ...leecher, left: 1000, event: 'started' }))
    assert.equal(failure(a.body), undefined, failure(a.body))
    assert.deepEqual([a.body.complete, a.body.incomplete], [0, 1])

    const b = await announce(announceQuery(raw.truncatedV2, { ...seeder, left: 0, event: 'started' }))
    assert.equal(failure(b.body), undefined, failure(b.body))
    assert.deepEqual([b.body.complete, b.body.incomplete], [1, 1])
    assert.deepEqual(ports(b.body), [leecher.port], 'the v2 seeder is given the v1 leecher')

    const again = await announce(announceQuery(raw.infoHash, { ...leecher, left: 1000 }))
    assert.deepEqual(ports(again.body), [seeder.port], 'the v1 leecher is given the v2 seeder')

    // The seeder announces under v1 too (as libtorrent does): still one peer.
    const both = await announce(announceQuery(raw.infoHash, { ...seeder, left: 0, event: 'started' }))
    assert.deepEqual([both.body.complete, both.body.incomplete], [1, 1])
    assert.deepEqual(await swarm(rawVideo), { seeders: 1, leechers: 1 })

    // A scrape by either hash, or both: the one swarm's counts, under the hash asked for.
    const files = scrapeFiles((await scrape([raw.infoHash, raw.truncatedV2])).body)
    const counts = { complete: 1, incomplete: 1, downloaded: 0 }
    assert.deepEqual(files, { [raw.infoHash]: counts, [raw.truncatedV2]: counts })
    assert.deepEqual(scrapeFiles((await scrape([raw.truncatedV2])).body), { [raw.truncatedV2]: counts })
  })

  test('a completion reported under both hashes is counted once, and stored once', async () => {
    const done = await announce(announceQuery(raw.infoHash, { ...leecher, left: 0, event: 'completed' }))
    assert.equal(failure(done.body), undefined)
    assert.equal(done.body.downloaded, 1)
    const twice = await announce(announceQuery(raw.truncatedV2, { ...leecher, left: 0, event: 'completed' }))
    assert.equal(failure(twice.body), undefined)
    assert.equal(twice.body.downloaded, 1)
    assert.deepEqual(await swarm(rawVideo), { seeders: 2, leechers: 0 })
    await waitFor(async () => (await stored(rawVideo)) === 1, 'the completion stored')
    // Another announce: the tracker's own count after both completions (its reply's `downloaded`).
    const after = await announce(announceQuery(raw.truncatedV2, { ...leecher, left: 0 }))
    assert.equal(after.body.downloaded, 1)
    assert.equal(await stored(rawVideo), 1)
  })

  test('UDP: announces and scrapes by the v2 hash reach the same swarm', async () => {
    const udp = await UdpTrackerClient.open('127.0.0.1', server.udpPort!)
    try {
      const viaV2 = await udp.announce({ infoHash: raw.truncatedV2, left: 5000n, port: 52003, numwant: 50 })
      assert.deepEqual([viaV2.seeders, viaV2.leechers], [2, 1])
      assert.deepEqual(viaV2.peers.map((p) => p.port).sort(), [leecher.port, seeder.port])
      const viaV1 = await udp.announce({ infoHash: raw.infoHash, left: 5000n, port: 52003, event: 0 })
      assert.deepEqual([viaV1.seeders, viaV1.leechers], [2, 1], 'the same peer under the other hash')
      const entry = { seeders: 2, leechers: 1, completed: 1 }
      assert.deepEqual(await udp.scrape([raw.truncatedV2, raw.infoHash]), [entry, entry])
      assert.deepEqual(await swarm(rawVideo), { seeders: 2, leechers: 1 })
      // Stopped under the hash it did not start with: gone from the one swarm.
      await udp.announce({ infoHash: raw.truncatedV2, left: 5000n, port: 52003, event: 3 })
      assert.deepEqual(await swarm(rawVideo), { seeders: 2, leechers: 0 })
    } finally {
      await udp.close()
    }
  })

  test('an unknown v2 hash is refused like any unregistered hash', async () => {
    const unknown = randomBytes(32).toString('hex').slice(0, 40)
    const res = await announce(announceQuery(unknown, { left: 10, event: 'started' }))
    assert.match(failure(res.body) ?? '', /unregistered/)
    assert.match(failure((await scrape([unknown])).body) ?? '', /unregistered/)
    const udp = await UdpTrackerClient.open('127.0.0.1', server.udpPort!)
    try {
      await assert.rejects(udp.announce({ infoHash: unknown }), /unregistered/)
    } finally {
      await udp.close()
    }
  })

  test('unpublishing refuses both hashes; publishing again tracks both', async () => {
    const patch = (published: boolean) =>
      getJson(`${server.url}/api/videos/${rawVideo.id}`, {
        method: 'PATCH',
        headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ published }),
      })
    assert.equal((await patch(false)).status, 200)
    for (const hash of [raw.infoHash, raw.truncatedV2]) {
      const res = await announce(announceQuery(hash, { ...seeder, left: 0 }))
      assert.match(failure(res.body) ?? '', /unregistered/, hash)
      assert.match(failure((await scrape([hash])).body) ?? '', /unregistered/, hash)
    }
    assert.equal((await patch(true)).status, 200)
    const v1 = await announce(announceQuery(raw.infoHash, { ...leecher, left: 100, event: 'started' }))
    assert.equal(failure(v1.body), undefined)
    const v2 = await announce(announceQuery(raw.truncatedV2, { ...seeder, left: 0, event: 'started' }))
    assert.equal(failure(v2.body), undefined)
    assert.deepEqual(ports(v2.body), [leecher.port])
    assert.deepEqual(await swarm(rawVideo), { seeders: 1, leechers: 1 })
  })

  test('with BitTorrent switched off both hashes are refused', async () => {
    const put = (bittorrentEnabled: boolean) =>
      getJson(`${server.url}/api/settings`, {
        method: 'PUT',
        headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ bittorrentEnabled }),
      })
    assert.equal((await put(false)).status, 200)
    try {
      for (const hash of [raw.infoHash, raw.truncatedV2]) {
        const res = await announce(announceQuery(hash, { ...seeder, left: 0 }))
        assert.match(failure(res.body) ?? '', /switched off/, hash)
      }
    } finally {
      assert.equal((await put(true)).status, 200)
    }
    const v2 = await announce(announceQuery(raw.truncatedV2, { ...seeder, left: 0 }))
    assert.equal(failure(v2.body), undefined)
  })

  test('WebSocket: a browser peer by the v2 hash is counted in the one swarm, its completion once', async () => {
    // (WebTorrent is v1-only; the package keeps such a peer in a signalling swarm of its own hash.)
    const ws = await openWs(server.port)
    try {
      const peerId = randomId()
      const start = await wsAnnounce(ws, { infoHash: raw.truncatedV2, peerId, event: 'started', left: 1000 })
      assert.equal(start['failure reason'], undefined, JSON.stringify(start))
      assert.deepEqual(await swarm(rawVideo), { seeders: 1, leechers: 2 })
      const before = await stored(rawVideo)
      await wsAnnounce(ws, { infoHash: raw.truncatedV2, peerId, event: 'completed', left: 0 })
      await waitFor(async () => (await stored(rawVideo)) === before + 1, "the browser peer's completion stored")
      assert.deepEqual(await swarm(rawVideo), { seeders: 2, leechers: 1 })
      const files = scrapeFiles((await scrape([raw.infoHash, raw.truncatedV2])).body)
      assert.deepEqual(files[raw.infoHash], files[raw.truncatedV2])
      assert.equal(files[raw.infoHash]!.downloaded, before + 1)
    } finally {
      dropAllWs()
    }
    // Two torrents on the allow list, however many hashes they answer to.
    assert.equal((await metrics(server)).get('seedcast_tracker_allowed_torrents'), 2)
  })

  test("a peer's downloaded bytes by either hash go to the video's offload tally once", async () => {
    const offloaded = async (): Promise<number> => {
      await server.services.offload.flush()
      const [row] = await sql(server, 'SELECT "downloadedBytes" FROM "VideoOffload" WHERE "videoId" = ?', rawVideo.id)
      return Number(row?.downloadedBytes ?? 0)
    }
    assert.ok(rawVideo.size > 1500, 'the counts are not clamped to the file size')
    const before = await offloaded()
    const peer = { peerId: '-OF0001-hybrid-bytes', port: 52004 }
    const q = (hash: string, downloaded: number, event?: string) =>
      announceQuery(hash, { ...peer, left: 100, event }).replace('downloaded=0', `downloaded=${downloaded}`)
    // One baseline whichever hash it announces by: +1000 then +500 (separate swarms would see a
    // stranger's first announce under the v2 hash and count only the +500).
    for (const [hash, downloaded, event] of [
      [raw.infoHash, 0, 'started'],
      [raw.truncatedV2, 1000, undefined],
      [raw.truncatedV2, 1500, undefined],
      [raw.infoHash, 1500, 'stopped'],
    ] as const)
      assert.equal(failure((await announce(q(hash, downloaded, event))).body), undefined)
    assert.equal((await offloaded()) - before, 1500)
  })
})
