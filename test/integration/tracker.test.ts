// The embedded tracker at PUBLIC_URL/announce and /scrape: real announces for an uploaded video,
// swarm numbers on the API and the page, the stored completed count, and bencoded failures for
// unknown infohashes and malformed requests.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { announceQuery, binParam, getVideo, trackerGet, uploadOk, type VideoJson } from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'

let server: TestServer
let clip: string

before(async () => {
  server = await startTestServer()
  clip = await makeVideo({ seconds: 1 })
})
after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

const announce = (q: string) => trackerGet(`${server.url}/announce?${q}`)
const scrape = (q: string) => trackerGet(`${server.url}/scrape?${q}`)
const failure = (body: any): string | undefined =>
  body?.['failure reason'] ? Buffer.from(body['failure reason']).toString() : undefined

describe('announce and scrape for a site video', () => {
  let video: VideoJson
  let hash: string
  before(async () => {
    video = await uploadOk(server, { title: 'Swarm me' }, { path: clip })
    hash = video.torrent!.infoHash
  })

  test('the torrent announces to this tracker', async () => {
    assert.deepEqual(video.torrent!.trackers, [`${server.services.config.publicUrl}/announce`])
  })

  test('a leecher and a seeder announce; the counts show on the API and the page', async () => {
    const leech = await announce(
      announceQuery(hash, { peerId: '-LE0001-leecher-one', port: 51001, left: 1000, event: 'started' }),
    )
    assert.equal(leech.status, 200)
    assert.equal(failure(leech.body), undefined, failure(leech.body))
    assert.equal(typeof leech.body.interval, 'number')
    assert.ok(leech.body.interval > 0)
    assert.equal(leech.body.incomplete, 1)
    assert.equal(leech.body.complete, 0)

    const seed = await announce(
      announceQuery(hash, { peerId: '-SE0001-seeder-one!', port: 51002, left: 0, event: 'started' }),
    )
    assert.equal(failure(seed.body), undefined)
    assert.equal(seed.body.complete, 1)
    assert.equal(seed.body.incomplete, 1)
    // Compact peers: 6 bytes each; the seeder is told about the leecher.
    const peers = Buffer.from(seed.body.peers)
    assert.equal(peers.length % 6, 0)
    const ports = Array.from({ length: peers.length / 6 }, (_, i) => peers.readUInt16BE(i * 6 + 4))
    assert.ok(ports.includes(51001), `peers: ${ports}`)

    const v = await getVideo(server, video.id)
    assert.equal(v.swarm!.seeders, 1)
    assert.equal(v.swarm!.leechers, 1)
    const page = await (await fetch(`${server.url}/videos/${video.id}`)).text()
    assert.match(page, /id="seeders">1</)
    assert.match(page, /id="leechers">1</)

    const s = await scrape(`info_hash=${binParam(Buffer.from(hash, 'hex'))}`)
    assert.equal(s.status, 200)
    assert.equal(failure(s.body), undefined)
    const files = s.body.files as Record<string, any>
    const entry =
      Object.entries(files).find(([k]) => Buffer.from(k, 'latin1').toString('hex') === hash)?.[1] ??
      Object.values(files)[0]
    assert.equal(Object.keys(files).length, 1)
    assert.equal(entry.complete, 1)
    assert.equal(entry.incomplete, 1)
  })

  test('a completed event is counted once per peer and stored', async () => {
    const q = announceQuery(hash, { peerId: '-LE0001-leecher-one', port: 51001, left: 0, event: 'completed' })
    const done = await announce(q)
    assert.equal(failure(done.body), undefined)
    const v = await getVideo(server, video.id)
    assert.equal(v.swarm!.completed, 1)
    assert.equal(v.swarm!.seeders, 2)
    assert.equal(v.swarm!.leechers, 0)
    await announce(q) // the same peer again
    assert.equal((await getVideo(server, video.id)).swarm!.completed, 1)
    assert.deepEqual(await sql(server, 'SELECT completed FROM "Torrent" WHERE "infoHash" = ?', hash), [
      { completed: 1 },
    ])
    const page = await (await fetch(`${server.url}/videos/${video.id}`)).text()
    assert.match(page, /id="completed">1</)
  })

  test('a stopped event removes the peer', async () => {
    await announce(announceQuery(hash, { peerId: '-SE0001-seeder-one!', port: 51002, left: 0, event: 'stopped' }))
    await announce(announceQuery(hash, { peerId: '-LE0001-leecher-one', port: 51001, left: 0, event: 'stopped' }))
    const v = await getVideo(server, video.id)
    assert.equal(v.swarm!.seeders, 0)
    assert.equal(v.swarm!.leechers, 0)
    assert.equal(v.swarm!.completed, 1, 'completed downloads stay counted')
  })
})

describe('refusals', () => {
  test('an unknown infohash gets a bencoded failure reason and is not tracked', async () => {
    const unknown = 'ab'.repeat(20)
    const res = await announce(announceQuery(unknown, { left: 10, event: 'started' }))
    assert.equal(res.status, 200)
    assert.ok(failure(res.body), 'failure reason')
    assert.equal(res.body.peers, undefined)
    const again = await announce(announceQuery(unknown, { left: 10 }))
    assert.ok(failure(again.body))
    const s = await scrape(`info_hash=${binParam(Buffer.from(unknown, 'hex'))}`)
    assert.ok(failure(s.body), `scrape of an unknown infohash: ${JSON.stringify(s.body)}`)
  })

  test('malformed announce and scrape parameters get a bencoded failure reason', async () => {
    const v = await uploadOk(server, { title: 'Malformed' }, { path: clip })
    const good = announceQuery(v.torrent!.infoHash)
    const peer = binParam(Buffer.from('-XX0001-abcdefghijkl'))
    const hash = binParam(Buffer.from(v.torrent!.infoHash, 'hex'))
    const bad = [
      '',
      'info_hash=short',
      good.replace(/info_hash=[^&]+/, 'info_hash=' + hash.slice(0, -3)),
      `info_hash=${hash}&port=6881`,
      `info_hash=${hash}&peer_id=short&port=6881`,
      `info_hash=${hash}&peer_id=${peer}`,
      `info_hash=${hash}&peer_id=${peer}&port=0`,
      `info_hash=${hash}&peer_id=${peer}&port=70000`,
      `info_hash=${hash}&peer_id=${peer}&port=abc`,
      'info_hash=%ZZ%ZZ&peer_id=%&port=1',
      'info_hash[]=x&info_hash[]=y',
    ]
    for (const q of bad) {
      const res = await announce(q)
      assert.equal(res.status, 200, q)
      assert.ok(failure(res.body), `announce?${q} → ${JSON.stringify(res.body)}`)
    }
    for (const q of ['info_hash=short', `info_hash=${hash}&info_hash=xyz`]) {
      const res = await scrape(q)
      assert.ok(failure(res.body), `scrape?${q}`)
    }
    // Still working afterwards.
    const ok = await announce(good)
    assert.equal(failure(ok.body), undefined)
  })
})
