// The admin's BitTorrent settings reach every torrent the site has, each step checked everywhere:
// on disk (the .torrent files, parsed), in the site's tracker (HTTP and UDP announces), in the
// seeder (aria2c downloading from it alone, or unable to when off), in the API and on the page.
// On -> tracker URLs changed (to an independent opentracker) -> web seed off -> off -> on; the
// infohashes never change.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { decodeTorrent, stripWebSeeds, type DecodedTorrent } from '../../src/bittorrent/metainfo.ts'
import { freePortUdp, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import {
  announceQuery,
  getJson,
  trackerGet,
  btext,
  uploadOk,
  waitFor,
  webSeedUrl,
  type VideoJson,
} from '../helpers/http.ts'
import { runAria2c } from '../helpers/aria2.ts'
import { UdpTrackerClient } from '../helpers/udpTracker.ts'
import { startOpentracker } from '../helpers/opentracker.ts'
import {
  aria2cFromSeeder,
  health,
  peerHandshake,
  seederReady,
  startSeededServer,
  uploadClip,
  workDir,
  type Upload,
} from '../helpers/seededSite.ts'

type Site = TestServer & { seederPort: number }

const onDisk = async (s: Site, u: Upload): Promise<DecodedTorrent> =>
  decodeTorrent(await readFile(path.join(s.storageDir, 'media', `${u.fileName}.torrent`)))

async function put(s: Site, body: unknown): Promise<any> {
  const res = await getJson(`${s.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: s.basicAuth },
    body: JSON.stringify(body),
  })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body
}

const rewriteDone = (s: Site) =>
  waitFor(
    async () =>
      (await getJson(`${s.url}/api/settings`, { headers: { authorization: s.basicAuth } })).body.rewrite === null,
    'the .torrent rewrite to finish',
  )

/** Site tracker over HTTP and UDP: true when both accept the announce, false when both refuse. */
async function siteTrackerAccepts(s: Site, udp: UdpTrackerClient, infoHash: string): Promise<boolean> {
  const http = await trackerGet(`${s.url}/announce?${announceQuery(infoHash, { left: 1000, port: 9 })}`)
  const httpOk = http.body['failure reason'] === undefined
  const udpOk = await udp.announce({ infoHash, port: 9 }).then(
    () => true,
    () => false,
  )
  assert.equal(
    httpOk,
    udpOk,
    `HTTP ${httpOk ? 'accepted' : `refused (${btext(http.body['failure reason'])})`} but UDP ${udpOk ? 'accepted' : 'refused'}`,
  )
  // Leave no fake peer behind for the swarm counts.
  await trackerGet(`${s.url}/announce?${announceQuery(infoHash, { left: 1000, port: 9, event: 'stopped' })}`)
  return httpOk
}

async function api(s: Site, u: Upload): Promise<VideoJson> {
  const res = await getJson<VideoJson>(`${s.url}/api/videos/${u.video.id}`)
  assert.equal(res.status, 200)
  return res.body
}

async function page(s: Site, u: Upload): Promise<string> {
  const res = await fetch(`${s.url}/videos/${u.video.id}`)
  assert.equal(res.status, 200)
  return res.text()
}

const served = async (s: Site, u: Upload) => {
  // As a script or client asks for it (a browser gets the error as a page).
  const res = await fetch(`${s.url}/videos/${u.video.id}/torrent`, {
    headers: { accept: 'application/x-bittorrent, application/json' },
  })
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') }
}

/** What a visitor sees with BitTorrent on: links, magnet with these trackers and web seeds, counts. */
async function checkShown(s: Site, u: Upload, trackers: string[], webSeeds: string[]) {
  const v = await api(s, u)
  assert.ok(v.torrent && v.swarm, 'the API shows the torrent and its swarm')
  assert.equal(v.torrent.infoHash, u.video.torrent!.infoHash)
  assert.deepEqual(v.torrent.trackers, trackers)
  assert.deepEqual(v.torrent.webSeeds, webSeeds)
  const magnet = new URLSearchParams(v.torrent.magnet.slice('magnet:?'.length))
  assert.deepEqual(magnet.getAll('tr'), trackers)
  assert.deepEqual(magnet.getAll('ws'), webSeeds)
  const html = await page(s, u)
  assert.match(html, /id="torrent-link"/)
  assert.match(html, /id="magnet-link"/)
  assert.match(html, /id="seeders"/)
  for (const tr of trackers) assert.ok(html.includes(encodeURIComponent(tr)), `the page's magnet names ${tr}`)
  const file = await served(s, u)
  assert.equal(file.status, 200)
  const t = decodeTorrent(file.body)
  assert.equal(t.infoHash, u.video.torrent!.infoHash)
  assert.deepEqual(t.trackers, trackers)
  assert.deepEqual(t.webSeeds, webSeeds)
}

async function checkDisk(s: Site, uploads: Upload[], trackers: string[], webSeeds: (u: Upload) => string[]) {
  for (const u of uploads) {
    const t = await onDisk(s, u)
    assert.equal(t.infoHash, u.video.torrent!.infoHash, 'the infohash never changes')
    assert.deepEqual(t.trackers, trackers, `${u.fileName}.torrent announce list`)
    assert.deepEqual(t.webSeeds, webSeeds(u), `${u.fileName}.torrent url-list`)
  }
}

test('on -> tracker URLs changed -> web seed off -> off -> on: disk, tracker, seeder, API and page follow; infohashes stay', {
  timeout: 420_000,
}, async (t: TestContext) => {
  const udpPort = await freePortUdp()
  const site = await startSeededServer(t, { TRACKER_UDP_PORT: String(udpPort) })
  await seederReady(site)
  const udp = await UdpTrackerClient.open('127.0.0.1', site.udpPort!)
  t.after(() => udp.socket.close())
  const a = await uploadClip(t, site, { title: 'first' })
  const b = await uploadClip(t, site, { title: 'second', seconds: 4 })
  const all = [a, b]
  const own = [`${site.services.config.publicUrl}/announce`]
  const webSeedOf = (u: Upload) => [webSeedUrl(u.video)]
  const ot = await startOpentracker(all.map((u) => u.video.torrent!.infoHash))
  t.after(() => ot.stop())

  // 1. On, as made: the site's tracker and web seed.
  await checkDisk(site, all, own, webSeedOf)
  for (const u of all) {
    assert.equal(await siteTrackerAccepts(site, udp, u.video.torrent!.infoHash), true)
    await checkShown(site, u, own, webSeedOf(u))
  }
  await aria2cFromSeeder(t, site, a, stripWebSeeds((await served(site, a)).body))

  // 2. Tracker URLs changed: only the independent tracker. The API follows at once, the files
  // after the background rewrite, and the seeder announces there (the client knows no other).
  const trackers = [ot.announceUrl]
  const reply = await put(site, { trackerUrls: trackers })
  assert.ok(reply.rewrite, 'the PUT answer shows the rewrite under way')
  await checkShown(site, a, trackers, webSeedOf(a))
  await rewriteDone(site)
  await checkDisk(site, all, trackers, webSeedOf)
  for (const u of all)
    assert.equal(
      await siteTrackerAccepts(site, udp, u.video.torrent!.infoHash),
      true,
      'the site still tracks its own torrents',
    )
  const otSeeded = (u: Upload) => async () => (await ot.scrape(u.video.torrent!.infoHash)).complete >= 1
  await aria2cFromSeeder(t, site, b, stripWebSeeds((await served(site, b)).body), { seederListed: otSeeded(b) })

  // 3. Web seed off: no url-list anywhere; the .torrent as served downloads from the seeder alone.
  await put(site, { webSeedEnabled: false })
  for (const u of all) await checkShown(site, u, trackers, [])
  await rewriteDone(site)
  await checkDisk(site, all, trackers, () => [])
  const plain = (await served(site, a)).body
  await aria2cFromSeeder(t, site, a, plain, { seederListed: otSeeded(a) })

  // 4. Off: nothing shown, no .torrent, the tracker refuses, the seeder stops within 5 s and
  // tells the other tracker `stopped`; nothing is deleted.
  const offAt = Date.now()
  await put(site, { bittorrentEnabled: false })
  await waitFor(
    async () => {
      for (const u of all)
        if ((await peerHandshake(site.seederPort, u.video.torrent!.infoHash)) !== 'refused') return false
      return true
    },
    'the seeder to stop serving every torrent',
    5_000,
  )
  await waitFor(
    async () => (await health(site)).seeding === 0,
    'the seeder to report 0 torrents',
    5_000 - (Date.now() - offAt),
  )
  t.diagnostic(`seeder stopped ${Date.now() - offAt} ms after the switch`)
  await waitFor(
    async () =>
      (await ot.scrape(a.video.torrent!.infoHash)).complete === 0 &&
      (await ot.scrape(b.video.torrent!.infoHash)).complete === 0,
    "the seeder's `stopped` to reach opentracker",
    5_000,
  )
  for (const u of all) {
    assert.equal(await siteTrackerAccepts(site, udp, u.video.torrent!.infoHash), false)
    const v = await api(site, u)
    assert.equal(v.torrent, null)
    assert.equal(v.swarm, null)
    const html = await page(site, u)
    assert.doesNotMatch(html, /id="torrent-link"|id="magnet-link"|magnet:\?|id="seeders"/)
    assert.match(html, /switched off/)
    const file = await served(site, u)
    assert.equal(file.status, 404)
    assert.equal(JSON.parse(file.body.toString()).error.code, 'bittorrent_off')
    assert.equal((await getJson(`${site.url}/api/videos/${u.video.id}/swarm`)).status, 404)
  }
  const list = (await getJson<{ videos: VideoJson[] }>(`${site.url}/api/videos`)).body.videos
  assert.ok(list.length >= 2 && list.every((v) => v.torrent === null && v.swarm === null), 'the list shows no torrents')
  assert.doesNotMatch(await (await fetch(`${site.url}/`)).text(), /seeding/)
  await checkDisk(site, all, trackers, () => []) // still there, untouched
  const cClip = await makeVideo({ seconds: 2 })
  t.after(() => rm(path.dirname(cClip), { recursive: true, force: true }))
  const c = await uploadOk(site, { title: 'made while off' }, { path: cClip })
  assert.equal(c.torrent, null)
  // A real client with the torrent it had cannot download now.
  const dir = await workDir(t, 'seedcast-off-aria2-')
  await mkdir(path.join(dir, 'dl'))
  await writeFile(path.join(dir, 'a.torrent'), plain)
  const offRun = await runAria2c({
    source: path.join(dir, 'a.torrent'),
    dir: path.join(dir, 'dl'),
    logFile: path.join(dir, 'aria2c.log'),
    timeoutMs: 10_000,
  })
  assert.equal(offRun.timedOut || offRun.code !== 0, true, 'aria2c did not finish')
  assert.notEqual(
    await readFile(path.join(dir, 'dl', a.fileName)).then(
      (d) => d.equals(a.original),
      () => false,
    ),
    true,
    'no complete copy',
  )

  // 5. On again: everything back within 5 s; the video uploaded while off gets its torrent.
  const onAt = Date.now()
  const on = await put(site, { bittorrentEnabled: true })
  assert.ok(on.backfill, 'the PUT answer shows the backfill under way')
  await waitFor(
    async () => {
      for (const u of all)
        if ((await peerHandshake(site.seederPort, u.video.torrent!.infoHash)) !== 'answered') return false
      return true
    },
    'the seeder to serve every torrent again',
    5_000,
  )
  t.diagnostic(`seeder back ${Date.now() - onAt} ms after the switch`)
  for (const u of all) {
    assert.equal(await siteTrackerAccepts(site, udp, u.video.torrent!.infoHash), true)
    await checkShown(site, u, trackers, [])
  }
  await checkDisk(site, all, trackers, () => [])
  const madeOff = await waitFor(async () => {
    const v = (await getJson<VideoJson>(`${site.url}/api/videos/${c.id}`)).body
    return v.torrent ? v : null
  }, 'the backfilled torrent')
  assert.deepEqual(madeOff.torrent!.trackers, trackers)
  assert.deepEqual(madeOff.torrent!.webSeeds, [])
  await aria2cFromSeeder(t, site, a, (await served(site, a)).body, { seederListed: otSeeded(a) })
  await rm(dir, { recursive: true, force: true })
})
