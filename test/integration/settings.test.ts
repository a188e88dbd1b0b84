// GET/PUT /api/settings: admin only, validated as a whole (a bad value changes nothing), tracker
// URLs used by new torrents, and BitTorrent switched off (no torrents) and on again (backfilled).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import {
  announceQuery,
  binParam,
  getJson,
  lsMedia,
  mediaDir,
  trackerGet,
  uploadOk,
  waitFor,
  waitForVideo,
  type VideoJson,
  webSeedUrl,
} from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'

let server: TestServer
let clip: string
interface SettingsBody {
  bittorrentEnabled: boolean
  trackerUrls: string[]
  webSeedEnabled: boolean
  privateTorrents: boolean
  seederUploadCap: number
  webSeedUploadCap: number
  p2pPlayback: 'on' | 'opt-in'
  torrentFormat: 'v1' | 'hybrid' | 'v2'
}
let defaults: SettingsBody

const siteDefaults = (): SettingsBody => ({
  bittorrentEnabled: true,
  trackerUrls: [`${server.services.config.publicUrl}/announce`],
  webSeedEnabled: true,
  privateTorrents: false,
  seederUploadCap: 0,
  webSeedUploadCap: 0,
  p2pPlayback: 'on',
  torrentFormat: 'hybrid',
})

before(async () => {
  server = await startTestServer()
  clip = await makeVideo({ seconds: 1 })
  defaults = siteDefaults()
})
after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

const getSettings = (auth: string | null = server.basicAuth) =>
  getJson(`${server.url}/api/settings`, { headers: auth ? { authorization: auth } : {} })

const putSettings = (body: unknown, auth: string | null = server.basicAuth) =>
  getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

/** The writable fields of a GET or PUT answer (the rest is read-only: site tracker, job progress). */
function writable(body: any): SettingsBody {
  const { siteTrackerUrl, backfill, rewrite, ...rest } = body
  assert.equal(siteTrackerUrl, `${server.services.config.publicUrl}/announce`)
  assert.ok(backfill === null || typeof backfill.total === 'number')
  assert.ok(rewrite === null || typeof rewrite.total === 'number')
  return rest
}

async function putOk(body: unknown) {
  const res = await putSettings(body)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return writable(res.body)
}

const current = async () => writable((await getSettings()).body)
/** Waits for the background rewrite of .torrent files to finish. */
const rewriteDone = () =>
  waitFor(async () => (await getSettings()).body.rewrite === null, 'the torrent rewrite to finish')

const storedName = (v: VideoJson) => decodeURIComponent(new URL(v.fileUrl).pathname.slice('/media/'.length))
const failure = (body: any): string | undefined =>
  body?.['failure reason'] ? Buffer.from(body['failure reason']).toString() : undefined

describe('GET/PUT /api/settings', () => {
  test('admin only', async () => {
    assert.equal((await getSettings(null)).status, 401)
    assert.equal((await putSettings(defaults, null)).status, 401)
    const wrong = 'Basic ' + Buffer.from('admin:wrong-password').toString('base64')
    assert.equal((await getSettings(wrong)).status, 401)
    assert.equal((await putSettings({ ...defaults, bittorrentEnabled: false }, wrong)).status, 401)
    assert.deepEqual(await current(), defaults)
  })

  test('defaults: BitTorrent on, PUBLIC_URL/announce', async () => {
    await putOk(defaults)
    const res = await getSettings()
    assert.equal(res.status, 200)
    assert.deepEqual(writable(res.body), defaults)
  })

  test('a bad value is 400 and changes nothing', async () => {
    await putOk(defaults)
    const good = 'https://tracker.example/announce'
    const bad: unknown[] = [
      { bittorrentEnabled: 'yes', trackerUrls: [good] },
      { bittorrentEnabled: 1, trackerUrls: [good] },
      { bittorrentEnabled: false, trackerUrls: ['ftp://tracker.example/announce'] },
      { bittorrentEnabled: false, trackerUrls: [good, 'file:///etc/passwd'] },
      { bittorrentEnabled: false, trackerUrls: [good, 'javascript:alert(1)'] },
      { bittorrentEnabled: false, trackerUrls: ['not a url'] },
      { bittorrentEnabled: false, trackerUrls: ['http://'] },
      { bittorrentEnabled: false, trackerUrls: ['http://exa mple.com/announce'] },
      { bittorrentEnabled: false, trackerUrls: [''] },
      { bittorrentEnabled: false, trackerUrls: [42] },
      { bittorrentEnabled: false, trackerUrls: good },
      { bittorrentEnabled: false, trackerUrls: [] },
      { bittorrentEnabled: false, trackerUrls: null },
      { bittorrentEnabled: false, color: 'blue' },
      { webSeedEnabled: 'off' },
      { privateTorrents: null },
      { seederUploadCap: -1 },
      { seederUploadCap: 1.5 },
      { seederUploadCap: '2000000' },
      { webSeedUploadCap: null },
      { webSeedUploadCap: 1e12 },
      { p2pPlayback: 'off' },
      { p2pPlayback: true },
      { torrentFormat: 'v3' },
      { torrentFormat: null },
      '{"bittorrentEnabled": false, "trackerUrls": [',
      '[]',
      'null',
    ]
    for (const body of bad) {
      const res = await putSettings(body)
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`)
      assert.equal(typeof res.body.error.code, 'string')
      assert.equal(typeof res.body.error.message, 'string')
      assert.deepEqual(await current(), defaults, `unchanged after ${JSON.stringify(body)}`)
    }
    // Still on: a new upload gets a torrent with the default tracker.
    const v = await uploadOk(server, { title: 'after bad settings' }, { path: clip })
    assert.deepEqual(v.torrent?.trackers, defaults.trackerUrls)
  })

  test('http, https, udp, ws and wss tracker URLs are accepted, used by new torrents, and kept in order', async () => {
    await putOk(defaults)
    const old = await uploadOk(server, { title: 'before the change' }, { path: clip })
    const oldTorrent = await readFile(path.join(mediaDir(server), `${storedName(old)}.torrent`))

    const trackerUrls = [
      'udp://tracker.example:6969/announce',
      `${server.services.config.publicUrl}/announce`,
      'https://tracker.example/announce',
      'wss://tracker.example/ws',
      'ws://127.0.0.1:8000',
    ]
    const saved = await putOk({ trackerUrls })
    assert.deepEqual(saved, { ...defaults, trackerUrls })
    assert.deepEqual(await current(), saved)

    const v = await uploadOk(server, { title: 'after the change' }, { path: clip })
    assert.deepEqual(v.torrent!.trackers, trackerUrls)
    const t = decodeTorrent(await readFile(path.join(mediaDir(server), `${storedName(v)}.torrent`)))
    assert.deepEqual(t.trackers, trackerUrls)
    const magnet = new URLSearchParams(v.torrent!.magnet.slice('magnet:?'.length))
    assert.deepEqual(magnet.getAll('tr'), trackerUrls)

    // The existing torrent follows: the API at once, the file after the background rewrite, and
    // its infohash (the info dict) is the same.
    assert.deepEqual((await getJson(`${server.url}/api/videos/${old.id}`)).body.torrent.trackers, trackerUrls)
    await rewriteDone()
    const rewritten = await readFile(path.join(mediaDir(server), `${storedName(old)}.torrent`))
    assert.notDeepEqual(rewritten, oldTorrent)
    const before = decodeTorrent(oldTorrent)
    const after = decodeTorrent(rewritten)
    assert.deepEqual(after.trackers, trackerUrls)
    assert.equal(after.infoHash, before.infoHash)
    assert.equal(after.infoHash, old.torrent!.infoHash)
    assert.deepEqual(after.webSeeds, before.webSeeds)
    await putOk(defaults)
    await rewriteDone()
  })

  test('PUT takes any subset of the fields; the others keep their values', async () => {
    await putOk(defaults)
    assert.deepEqual(await putOk({ webSeedEnabled: false }), { ...defaults, webSeedEnabled: false })
    assert.deepEqual(await putOk({ privateTorrents: true }), {
      ...defaults,
      webSeedEnabled: false,
      privateTorrents: true,
    })
    assert.deepEqual(await putOk({}), { ...defaults, webSeedEnabled: false, privateTorrents: true })
    // A GET body sent back as it is (read-only fields included) is accepted.
    const echoed = await putSettings((await getSettings()).body)
    assert.equal(echoed.status, 200, JSON.stringify(echoed.body))
    const unknown = await putSettings({ webSeedEnabled: true, trackerURLs: ['http://x.example/announce'] })
    assert.equal(unknown.status, 400)
    assert.match(unknown.body.error.message, /trackerURLs: unknown setting/)
    assert.deepEqual(await current(), { ...defaults, webSeedEnabled: false, privateTorrents: true })
    await putOk(defaults)
    await rewriteDone()
  })

  test('the private flag goes into new torrents only, inside the info dict', async () => {
    await putOk(defaults)
    const before = await uploadOk(server, { title: 'public one' }, { path: clip })
    await putOk({ privateTorrents: true })
    const priv = await uploadOk(server, { title: 'private one' }, { path: clip })
    const readT = async (v: VideoJson) =>
      decodeTorrent(await readFile(path.join(mediaDir(server), `${storedName(v)}.torrent`)))
    assert.equal((await readT(priv)).private, true)
    const old = await readT(before)
    assert.equal(old.private, false)
    assert.equal(old.infoHash, before.torrent!.infoHash)
    await putOk(defaults)
  })

  test('every change is in the audit list, newest first, with who and from what to what', async () => {
    await putOk(defaults)
    await putOk({ webSeedEnabled: false, trackerUrls: ['udp://tracker.example:1/announce'] })
    const changedFrom = Date.now()
    await putOk({ webSeedEnabled: true })
    const changedBy = Date.now()
    const res = await getJson(`${server.url}/api/settings/audit?limit=3`, {
      headers: { authorization: server.basicAuth },
    })
    assert.equal(res.status, 200)
    const [last, ...earlier] = res.body.entries
    assert.deepEqual(
      { ...last, at: undefined },
      { at: undefined, actor: 'admin', field: 'webSeedEnabled', from: false, to: true },
    )
    assert.ok(Date.parse(last.at) >= changedFrom && Date.parse(last.at) <= changedBy, `${last.at} not within the PUT`)
    const fields = earlier.map((e: any) => e.field).sort()
    assert.deepEqual(fields, ['trackerUrls', 'webSeedEnabled'])
    const trackers = earlier.find((e: any) => e.field === 'trackerUrls')
    assert.deepEqual(trackers.from, defaults.trackerUrls)
    assert.deepEqual(trackers.to, ['udp://tracker.example:1/announce'])
    assert.equal((await getJson(`${server.url}/api/settings/audit`)).status, 401)
    assert.equal(
      (await getJson(`${server.url}/api/settings/audit?limit=0`, { headers: { authorization: server.basicAuth } }))
        .status,
      400,
    )
    await putOk(defaults)
    await rewriteDone()
  })

  test('settings survive a restart', async () => {
    const dir = server.storageDir
    const trackerUrls = ['https://tracker.example/announce']
    const caps = { seederUploadCap: 2_000_000, webSeedUploadCap: 3_500_000 }
    await putOk({
      bittorrentEnabled: true,
      trackerUrls,
      webSeedEnabled: false,
      privateTorrents: true,
      p2pPlayback: 'opt-in',
      torrentFormat: 'v2',
      ...caps,
    })
    await server.stop({ keepStorage: true })
    server = await startTestServer({ PORT: String(server.port) }, dir)
    assert.deepEqual(await current(), {
      bittorrentEnabled: true,
      trackerUrls,
      webSeedEnabled: false,
      privateTorrents: true,
      p2pPlayback: 'opt-in',
      torrentFormat: 'v2',
      ...caps,
    })
    defaults = siteDefaults()
    await putOk(defaults)
    await rewriteDone()
  })
})

describe('BitTorrent switched off, then on', () => {
  test('uploads while off are ready without a torrent; switching on backfills them', async () => {
    await putOk(defaults)
    const earlier = await uploadOk(server, { title: 'made while on' }, { path: clip })
    const earlierHash = earlier.torrent!.infoHash

    await putOk({ ...defaults, bittorrentEnabled: false })
    const v = await uploadOk(server, { title: 'made while off' }, { path: clip })
    assert.equal(v.status, 'ready')
    assert.equal(v.torrent, null)
    const name = storedName(v)
    assert.deepEqual(
      (await lsMedia(mediaDir(server))).filter((n) => n.startsWith(name)),
      [name],
      'no .torrent file',
    )
    assert.equal((await fetch(`${server.url}/videos/${v.id}/torrent`)).status, 404)
    const page = await (await fetch(`${server.url}/videos/${v.id}`)).text()
    assert.match(page, /switched off/)
    assert.ok(!page.includes('Download .torrent'))
    // The file itself still plays.
    const file = await fetch(v.fileUrl.replace(server.services.config.publicUrl, server.url), {
      headers: { range: 'bytes=0-9' },
    })
    assert.equal(file.status, 206)
    await file.arrayBuffer()

    // The tracker does not track while off.
    const off = await trackerGet(`${server.url}/announce?${announceQuery(earlierHash)}`)
    assert.ok(failure(off.body), 'announce refused while off')
    const offScrape = await trackerGet(`${server.url}/scrape?info_hash=${binParam(Buffer.from(earlierHash, 'hex'))}`)
    assert.ok(failure(offScrape.body), 'scrape refused while off')

    // New tracker URLs set together with switching on are the ones the backfilled torrent gets.
    const trackerUrls = [`${server.services.config.publicUrl}/announce`, 'udp://tracker.example:1337/announce']
    await putOk({ bittorrentEnabled: true, trackerUrls })
    const done = await waitForVideo(
      server,
      v.id,
      (x) => x.status === 'ready' && x.torrent !== null,
      'backfilled torrent',
    )
    assert.deepEqual(done.torrent!.trackers, trackerUrls)
    const torrentFile = path.join(mediaDir(server), `${name}.torrent`)
    await stat(torrentFile)
    const t = decodeTorrent(await readFile(torrentFile))
    assert.equal(t.infoHash, done.torrent!.infoHash)
    assert.equal(t.name, name)
    assert.deepEqual(t.webSeeds, [webSeedUrl(v)])
    assert.equal(t.comment, v.pageUrl)
    const res = await fetch(`${server.url}/videos/${v.id}/torrent`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type')!, /^application\/x-bittorrent/)
    await res.arrayBuffer()

    // Both torrents are tracked again; the earlier one kept its infohash.
    for (const hash of [earlierHash, done.torrent!.infoHash]) {
      const on = await trackerGet(`${server.url}/announce?${announceQuery(hash)}`)
      assert.equal(failure(on.body), undefined, hash)
    }
    assert.equal((await getJson(`${server.url}/api/videos/${earlier.id}`)).body.torrent.infoHash, earlierHash)
    await putOk(defaults)
  })
})

describe('deleting while a torrent is being backfilled', () => {
  test('leaves no .torrent, record or allow-list entry behind', async (t) => {
    // A site of its own whose hashing pauses 100 ms after each piece (the server's test hook):
    // the delete lands mid-hash, seen so in the API.
    const slow = await startTestServer({}, undefined, { hashPieceDelayMs: 100 })
    t.after(() => slow.stop())
    const auth = { authorization: slow.basicAuth, 'content-type': 'application/json' }
    const put = async (body: object) =>
      assert.equal(
        (await fetch(`${slow.url}/api/settings`, { method: 'PUT', headers: auth, body: JSON.stringify(body) })).status,
        200,
      )
    await put({ bittorrentEnabled: false })
    const grainy = await makeVideo({ seconds: 3, noise: 20 })
    t.after(() => rm(path.dirname(grainy), { recursive: true, force: true }))
    const v = await uploadOk(slow, { title: 'deleted mid-hash' }, { path: grainy })
    await put({ bittorrentEnabled: true }) // starts hashing it in the workers
    const partway = await waitFor(
      async () => {
        const h = (await getJson(`${slow.url}/api/videos/${v.id}`, { headers: auth })).body.hashing
        return h && h.done > 0 && h.done < h.total ? h : undefined
      },
      'the hashing to be under way',
      20_000,
    )
    const del = await fetch(`${slow.url}/api/videos/${v.id}`, { method: 'DELETE', headers: auth })
    assert.equal(del.status, 204, JSON.stringify(partway))
    assert.equal((await getJson(`${slow.url}/api/videos/${v.id}`)).status, 404)
    const backfill = async () => (await getJson(`${slow.url}/api/settings`, { headers: auth })).body.backfill
    await waitFor(async () => (await backfill()) === null, 'the backfill to end', 30_000)
    assert.deepEqual(
      (await lsMedia(mediaDir(slow))).filter((n) => n.startsWith(storedName(v))),
      [],
    )
    assert.deepEqual(await sql(slow, 'SELECT id FROM "Torrent" WHERE "videoId" = ?', v.id), [])
    // The server is still up and still makes torrents.
    const later = await uploadOk(slow, { title: 'after the race' }, { path: clip })
    assert.ok(later.torrent)
  })
})
