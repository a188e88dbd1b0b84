// A restart with a new PUBLIC_URL moves every torrent to it: the .torrent files (announce,
// url-list, comment) are rewritten in place with the same infohash, the settings' own tracker
// URL moves, magnets and pages follow, and aria2c downloads through the new tracker and web seed
// (the old address is dead, so nothing else could have served it).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { freePort, makeStorageDir, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, uploadOk, useTorrentFormat, waitFor, type VideoJson } from '../helpers/http.ts'
import { runAria2c } from '../helpers/aria2.ts'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const stored = (v: VideoJson) => decodeURIComponent(path.basename(new URL(v.fileUrl).pathname))

test('a restart with a new PUBLIC_URL leaves every .torrent, magnet and page on it; aria2c downloads through the new tracker and web seed', {
  timeout: 180_000,
}, async (t) => {
  const dir = await makeStorageDir()
  const clip = await makeVideo({ seconds: 3, noise: 20 })
  const work = await mkdtemp(path.join(tmpdir(), 'seedcast-url-aria2-'))
  let server: TestServer | undefined
  t.after(async () => {
    await server?.stop()
    await rm(dir, { recursive: true, force: true })
    await rm(path.dirname(clip), { recursive: true, force: true })
    await rm(work, { recursive: true, force: true })
  })
  const external = 'udp://tracker.example.org:1337/announce'
  server = await startTestServer({}, dir)
  await useTorrentFormat(server, 'v1') // aria2c: v1 torrents only (see useTorrentFormat)
  const oldBase = server.services.config.publicUrl
  const put = await getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: server.basicAuth },
    body: JSON.stringify({ trackerUrls: [`${oldBase}/announce`, external] }),
  })
  assert.equal(put.status, 200)
  const videos = [
    await uploadOk(server, { title: 'one' }, { path: clip }),
    await uploadOk(server, { title: 'two' }, { path: clip }),
  ]
  await server.stop({ keepStorage: true })
  server = undefined

  // Another port, another host name: nothing of the old URL may be left anywhere.
  const port = await freePort()
  const newBase = `http://localhost:${port}`
  server = await startTestServer({ PORT: String(port), PUBLIC_URL: newBase }, dir)
  assert.ok(
    server.logs.some((l) => l.includes(`PUBLIC_URL changed from ${oldBase} to ${newBase}`)),
    server.logs.join('\n'),
  )
  const settings = async () =>
    (await getJson(`${server!.url}/api/settings`, { headers: { authorization: server!.basicAuth } })).body
  assert.deepEqual(
    (await settings()).trackerUrls,
    [`${newBase}/announce`, external],
    "the site's own tracker moved, the other stayed",
  )
  await waitFor(async () => (await settings()).rewrite === null, 'the rewrite to finish')

  for (const before of videos) {
    const v: VideoJson = (await getJson<VideoJson>(`${server.url}/api/videos/${before.id}`)).body
    const fileUrl = `${newBase}/media/${encodeURIComponent(stored(before))}`
    assert.equal(v.fileUrl, fileUrl)
    const disk = decodeTorrent(await readFile(path.join(dir, 'media', `${stored(before)}.torrent`)))
    assert.equal(disk.infoHash, before.torrent!.infoHash)
    assert.deepEqual(disk.trackers, [`${newBase}/announce`, external])
    assert.deepEqual(disk.webSeeds, [`${newBase}/seed/${encodeURIComponent(stored(before))}`])
    assert.equal(disk.comment, `${newBase}/videos/${before.id}`)
    assert.ok(!v.torrent!.magnet.includes(encodeURIComponent(oldBase)), v.torrent!.magnet)
    assert.ok(v.torrent!.magnet.includes(encodeURIComponent(`${newBase}/announce`)))
    const html = await (await fetch(`${server.url}/videos/${before.id}`)).text()
    assert.ok(!html.includes(oldBase) && !html.includes(encodeURIComponent(oldBase)), 'the page names no old URL')
    assert.ok(html.includes(encodeURIComponent(`${newBase}/announce`)))
  }
  // A second start on the same URL has nothing to rewrite.
  const logsBefore = server.logs.length
  await server.stop({ keepStorage: true })
  server = await startTestServer({ PORT: String(port), PUBLIC_URL: newBase }, dir)
  assert.ok(!server.logs.slice(logsBefore).some((l) => l.includes('PUBLIC_URL changed')))

  // aria2c with the .torrent as served: the new tracker (it announces there) and the new web seed.
  const dl = path.join(work, 'dl')
  await mkdir(dl)
  const run = await runAria2c({
    source: `${newBase}/videos/${videos[0]!.id}/torrent`,
    dir: dl,
    logFile: path.join(work, 'aria2c.log'),
    timeoutMs: 60_000,
  })
  assert.equal(run.code, 0, run.output.slice(-2000))
  assert.equal(sha256(await readFile(path.join(dl, stored(videos[0]!)))), sha256(await readFile(clip)))
  assert.ok(run.announces.length >= 1, "aria2c announced to the site's tracker")
  assert.match(
    run.log,
    new RegExp(`GET /seed/${stored(videos[0]!).replace(/[.]/g, '\\.')}`),
    'aria2c fetched from the web seed',
  )
  assert.match(run.log, new RegExp(`localhost:${port}`))
})
