// The two upload caps as settings (seederUploadCap, webSeedUploadCap: bytes per second, 0 = none):
// defaults, validation naming the field, the audit, the settings page; the web seed's own URL
// (/seed/) under its cap while /media/ is not; and torrents made before /seed/ existed (web seed
// /media/, in the file and its record) moved to /seed/ by the rewrite at the next start, with the
// old URL still serving. The rates themselves are measured with real clients in
// test/e2e/upload-caps.test.ts.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { mp4Header, smallMedia } from '../../bench/lib/media.ts'
import { decodeTorrent, retrackTorrent } from '../../src/bittorrent/metainfo.ts'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { getJson, mediaDir, uploadOk, waitFor, webSeedUrl, type VideoJson } from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'

let server: TestServer
let clipDir: string
let clip: string
let clipBytes: Buffer
const FILE_BYTES = 3 * 1024 * 1024

before(async () => {
  server = await startTestServer()
  clipBytes = smallMedia(await mp4Header(), FILE_BYTES)
  clipDir = await mkdtemp(path.join(tmpdir(), 'seedcast-caps-'))
  clip = path.join(clipDir, 'caps-clip.mp4')
  await writeFile(clip, clipBytes)
})
after(async () => {
  await server?.stop()
  if (clipDir) await rm(clipDir, { recursive: true, force: true })
})

const auth = () => ({ authorization: server.basicAuth })
const local = (url: string) => url.replace(server.services.config.publicUrl, server.url)
const storedName = (v: VideoJson) => decodeURIComponent(path.basename(new URL(v.fileUrl).pathname))

async function put(body: unknown) {
  return getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}
const caps = async () => {
  const { seederUploadCap, webSeedUploadCap } = (await getJson(`${server.url}/api/settings`, { headers: auth() })).body
  return { seederUploadCap, webSeedUploadCap }
}

describe('the caps as settings', () => {
  test('0 (no cap) by default; any subset can be set; bad values are a 400 naming the field', async () => {
    assert.deepEqual(await caps(), { seederUploadCap: 0, webSeedUploadCap: 0 })
    const set = await put({ seederUploadCap: 2_000_000 })
    assert.equal(set.status, 200, JSON.stringify(set.body))
    assert.deepEqual(await caps(), { seederUploadCap: 2_000_000, webSeedUploadCap: 0 })
    const bad: [string, unknown][] = [
      ['seederUploadCap', -1],
      ['seederUploadCap', 1.5],
      ['seederUploadCap', '2000000'],
      ['seederUploadCap', null],
      ['webSeedUploadCap', 1e12],
      ['webSeedUploadCap', true],
      ['webSeedUploadCap', [1]],
    ]
    for (const [field, value] of bad) {
      const res = await put({ webSeedUploadCap: 5, [field]: value })
      assert.equal(res.status, 400, `${field}=${JSON.stringify(value)} → ${res.status}`)
      assert.equal(res.body.error.code, 'invalid_settings')
      assert.match(res.body.error.message, new RegExp(`^${field}: must be a whole number of bytes per second`))
      assert.deepEqual(await caps(), { seederUploadCap: 2_000_000, webSeedUploadCap: 0 }, 'nothing changed')
    }
    const audit = await getJson(`${server.url}/api/settings/audit?limit=1`, { headers: auth() })
    assert.deepEqual(
      { ...audit.body.entries[0], at: undefined },
      { at: undefined, actor: 'admin', field: 'seederUploadCap', from: 0, to: 2_000_000 },
    )
    assert.equal((await put({ seederUploadCap: 0 })).status, 200)
  })

  test('the settings page shows, saves and refuses them beside their field', async () => {
    const login = await fetch(`${server.url}/login`, {
      redirect: 'manual',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'admin', password: ADMIN_PASSWORD }).toString(),
    })
    const cookie = login.headers
      .getSetCookie()
      .find((c) => c.startsWith('seedcast_session='))!
      .split(';')[0]!
    const page = async () => (await fetch(`${server.url}/admin/settings`, { headers: { cookie } })).text()
    const form = async (fields: Record<string, string>) => {
      const token = /name="_csrf" value="([^"]+)"/.exec(await page())![1]!
      const body = new URLSearchParams({ _csrf: token, bittorrentEnabled: 'on', siteTracker: 'on', ...fields })
      return fetch(`${server.url}/admin/settings`, {
        redirect: 'manual',
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: body.toString(),
      })
    }
    assert.match(await page(), /name="seederUploadCap"[^>]*value="0"/)
    const saved = await form({ webSeedEnabled: 'on', seederUploadCap: '3 000 000', webSeedUploadCap: '1500000' })
    assert.equal(saved.status, 303)
    assert.deepEqual(await caps(), { seederUploadCap: 3_000_000, webSeedUploadCap: 1_500_000 })
    const html = await page()
    assert.match(html, /name="webSeedUploadCap"[^>]*value="1500000"/)
    assert.match(html, /1\.5 MB\/s/)

    const refused = await form({ webSeedEnabled: 'on', seederUploadCap: '2 MB/s', webSeedUploadCap: '0' })
    assert.equal(refused.status, 400)
    const text = await refused.text()
    assert.match(text, /id="seederUploadCap-error">must be a whole number of bytes per second/)
    assert.match(text, /name="seederUploadCap"[^>]*value="2 MB\/s"/, 'what was typed stays in the form')
    assert.deepEqual(await caps(), { seederUploadCap: 3_000_000, webSeedUploadCap: 1_500_000 }, 'nothing saved')
    assert.equal((await put({ seederUploadCap: 0, webSeedUploadCap: 0 })).status, 200)
  })
})

describe('the web seed on its own URL', () => {
  test('/seed/ is under webSeedUploadCap, /media/ is not; both serve the same bytes', async () => {
    const v = await uploadOk(server, { title: 'capped web seed' }, { path: clip })
    assert.deepEqual(v.torrent!.webSeeds, [webSeedUrl(v)])
    const torrent = decodeTorrent(await readFile(path.join(mediaDir(server), `${storedName(v)}.torrent`)))
    assert.deepEqual(torrent.webSeeds, [webSeedUrl(v)], 'url-list of the new torrent')
    assert.equal((await put({ webSeedUploadCap: 1_000_000 })).status, 200)
    const timed = async (url: string) => {
      const started = performance.now()
      const res = await fetch(url, { headers: { range: 'bytes=1000-2000999' } })
      assert.equal(res.status, 206)
      const body = Buffer.from(await res.arrayBuffer())
      return { body, seconds: (performance.now() - started) / 1000 }
    }
    const seed = await timed(local(webSeedUrl(v)))
    const play = await timed(local(v.fileUrl))
    assert.deepEqual(seed.body, clipBytes.subarray(1000, 2_001_000))
    assert.deepEqual(play.body, clipBytes.subarray(1000, 2_001_000))
    // 2 MB at 1 MB/s, less the bucket's 50 ms of burst.
    assert.ok(seed.seconds >= 1.6 && seed.seconds < 4, `/seed/ took ${seed.seconds.toFixed(2)} s for 2 MB at 1 MB/s`)
    assert.ok(play.seconds < 1, `/media/ took ${play.seconds.toFixed(2)} s`)
    assert.equal((await put({ webSeedUploadCap: 0 })).status, 200)
  })

  test('a torrent made with the old web seed (/media/) is rewritten to /seed/ at the next start; /media/ still serves', async () => {
    const v = await uploadOk(server, { title: 'made before /seed/' }, { path: clip })
    const file = path.join(mediaDir(server), `${storedName(v)}.torrent`)
    const made = await readFile(file)
    // As the site before /seed/ left it: the player's URL as web seed, in the file and its record.
    const old = [v.fileUrl]
    await writeFile(file, retrackTorrent(made, { trackers: v.torrent!.trackers, webSeeds: old, comment: v.pageUrl }))
    await sql(server, 'UPDATE "Torrent" SET "webSeeds" = ? WHERE "videoId" = ?', JSON.stringify(old), v.id)
    assert.deepEqual(decodeTorrent(await readFile(file)).webSeeds, old)

    // A user's copy of that old .torrent: its web seed must keep working.
    const oldTorrent = await readFile(file)

    const storage = server.storageDir
    await server.stop({ keepStorage: true })
    server = await startTestServer({ PORT: String(server.port) }, storage)
    await waitFor(
      async () => (await getJson(`${server.url}/api/settings`, { headers: auth() })).body.rewrite === null,
      'the start-up rewrite to finish',
    )
    const rewritten = decodeTorrent(await readFile(file))
    assert.deepEqual(rewritten.webSeeds, [webSeedUrl(v)], 'the file now names /seed/')
    assert.equal(rewritten.infoHash, v.torrent!.infoHash, 'same infohash')
    const [record] = await sql(server, 'SELECT "webSeeds" FROM "Torrent" WHERE "videoId" = ?', v.id)
    assert.equal(record.webSeeds, JSON.stringify([webSeedUrl(v)]), 'and so does its record')
    assert.ok(
      server.logs.some((l) => /rewrote \d+ torrent file/.test(l)),
      server.logs.join('\n'),
    )
    const served = decodeTorrent(Buffer.from(await (await fetch(local(v.torrent!.torrentUrl))).arrayBuffer()))
    assert.deepEqual(served.webSeeds, [webSeedUrl(v)])

    const oldSeed = decodeTorrent(oldTorrent).webSeeds[0]!
    const res = await fetch(local(oldSeed), { headers: { range: 'bytes=0-99' } })
    assert.equal(res.status, 206)
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), clipBytes.subarray(0, 100))
  })
})
