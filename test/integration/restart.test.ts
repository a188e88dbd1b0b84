// Restart loses nothing: the start-up check finishes torrents whose hashing was interrupted,
// rewrites a missing .torrent with the same infohash, sets files without a record aside in
// orphans/, removes cut-off uploads and stray .torrent files, and marks records whose file is
// gone as failed — and reports what it did. A second restart then finds nothing to do.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile, readFile, rm, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { makeStorageDir, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import {
  announceQuery,
  getJson,
  getVideo,
  incomingDir,
  ls,
  lsMedia,
  mediaDir,
  orphansDir,
  trackerGet,
  uploadOk,
  waitForVideo,
  type VideoJson,
} from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'

let clip: string
let dir: string
let server: TestServer | undefined

before(async () => {
  clip = await makeVideo({ seconds: 2 })
  dir = await makeStorageDir()
})
after(async () => {
  await server?.stop()
  await rm(dir, { recursive: true, force: true })
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

const storedName = (v: VideoJson) => decodeURIComponent(new URL(v.fileUrl).pathname.slice('/media/'.length))
const failure = (body: any): string | undefined =>
  body?.['failure reason'] ? Buffer.from(body['failure reason']).toString() : undefined

test('a restart finishes interrupted hashing, sets orphans aside, removes leftovers, marks missing files failed', async () => {
  // 1. A site with four videos.
  server = await startTestServer({}, dir)
  const interrupted = await uploadOk(server, { title: 'Hashing was interrupted' }, { path: clip })
  const torrentLost = await uploadOk(server, { title: 'Only the .torrent was lost' }, { path: clip })
  const vanished = await uploadOk(server, { title: 'File vanished' }, { path: clip })
  const untouched = await uploadOk(server, { title: 'Untouched' }, { path: clip })
  const media = mediaDir(server)
  const port = server.port
  const torrentBytes = await readFile(path.join(media, `${storedName(interrupted)}.torrent`))
  await server.stop({ keepStorage: true })
  server = undefined

  // 2. What a crash leaves behind.
  await unlink(path.join(media, `${storedName(interrupted)}.torrent`))
  const db = path.join(dir, 'seedcast.db')
  await sql(db, 'UPDATE "Video" SET status = ? WHERE id = ?', 'processing', interrupted.id)
  await sql(db, 'DELETE FROM "Torrent" WHERE "videoId" = ?', interrupted.id)
  await unlink(path.join(media, `${storedName(torrentLost)}.torrent`))
  await unlink(path.join(media, storedName(vanished)))
  await copyFile(clip, path.join(media, 'orphan-clip.mp4'))
  await writeFile(path.join(media, 'ghost-abc.mp4.torrent'), 'd4:infod4:name5:ghostee')
  await writeFile(path.join(media, `.${storedName(untouched)}.torrent.tmp`), 'half a torrent')
  await writeFile(path.join(dir, 'incoming', '1700000000000-deadbeef.part'), Buffer.alloc(5000, 1))

  // 3. Start again on the same storage (and port, so PUBLIC_URL and the torrents' URLs stay the same).
  server = await startTestServer({ PORT: String(port) }, dir)
  const s = server

  const resumed = await waitForVideo(
    s,
    interrupted.id,
    (v) => v.status === 'ready' && v.torrent !== null,
    'resumed torrent',
  )
  assert.equal(resumed.torrent!.infoHash, interrupted.torrent!.infoHash, 'same infohash as before the crash')
  const rewritten = await readFile(path.join(media, `${storedName(interrupted)}.torrent`))
  assert.equal(decodeTorrent(rewritten).infoHash, interrupted.torrent!.infoHash)
  assert.deepEqual(decodeTorrent(rewritten), decodeTorrent(torrentBytes))

  const restored = await waitForVideo(
    s,
    torrentLost.id,
    (v) => v.status === 'ready' && v.torrent !== null,
    'rewritten .torrent',
  )
  assert.equal(restored.torrent!.infoHash, torrentLost.torrent!.infoHash)
  assert.equal(
    decodeTorrent(await readFile(path.join(media, `${storedName(torrentLost)}.torrent`))).infoHash,
    torrentLost.torrent!.infoHash,
  )
  const served = await fetch(`${s.url}/videos/${torrentLost.id}/torrent`)
  assert.equal(served.status, 200)
  await served.arrayBuffer()

  // The record whose file is gone is failed, not served, not offered as a torrent.
  const failed = await getVideo(s, vanished.id)
  assert.equal(failed.status, 'failed')
  assert.equal(failed.torrent, null)
  assert.equal((await fetch(`${s.url}/videos/${vanished.id}/torrent`)).status, 404)
  const failedPage = await fetch(`${s.url}/videos/${vanished.id}`)
  assert.equal(failedPage.status, 200)
  assert.match(await failedPage.text(), /id="status">failed</)

  // Untouched stays as it was.
  const same = await getVideo(s, untouched.id)
  assert.equal(same.status, 'ready')
  assert.equal(same.torrent!.infoHash, untouched.torrent!.infoHash)

  // Files: orphan set aside (not deleted), leftovers gone.
  const orphans = await ls(orphansDir(s))
  assert.equal(orphans.length, 1, `orphans/: ${orphans}`)
  assert.ok(orphans[0]!.endsWith('orphan-clip.mp4'), orphans[0])
  assert.deepEqual(await readFile(path.join(orphansDir(s), orphans[0]!)), await readFile(clip))
  assert.deepEqual(await ls(incomingDir(s)), [])
  const expected = [interrupted, torrentLost, untouched].flatMap((v) => [storedName(v), `${storedName(v)}.torrent`])
  expected.push(`${storedName(vanished)}.torrent`)
  assert.deepEqual(await lsMedia(media), expected.sort())

  // The tracker knows the resumed torrents again.
  for (const v of [interrupted, torrentLost, untouched]) {
    const res = await trackerGet(`${s.url}/announce?${announceQuery(v.torrent!.infoHash)}`)
    assert.equal(failure(res.body), undefined, v.title)
  }

  // Nothing lost from the list.
  const list = await getJson(`${s.url}/api/videos?limit=100`)
  assert.deepEqual(
    list.body.videos.map((v: VideoJson) => v.id).sort(),
    [interrupted.id, torrentLost.id, vanished.id, untouched.id].sort(),
  )

  // The start-up check said what it did.
  const report = s.logs.filter((l) => l.startsWith('[start-up check]')).join('\n')
  assert.match(report, /cut-off upload/)
  assert.match(report, /orphan-clip\.mp4/)
  assert.match(report, /ghost-abc\.mp4\.torrent/)
  assert.match(report, new RegExp(storedName(vanished).replace(/\./g, '\\.')))
  assert.match(report, new RegExp(`resumed[^\\n]*${storedName(interrupted).replace(/\./g, '\\.')}`))

  // 4. A second restart finds everything in order.
  await s.stop({ keepStorage: true })
  server = undefined
  server = await startTestServer({ PORT: String(port) }, dir)
  assert.deepEqual(
    server.logs.filter((l) => l.startsWith('[start-up check]') && !/marked failed/.test(l)),
    [],
  )
  assert.equal((await ls(orphansDir(server))).length, 1)
  for (const v of [interrupted, torrentLost, untouched]) {
    const again = await getVideo(server, v.id)
    assert.equal(again.status, 'ready', v.title)
    assert.equal(again.torrent!.infoHash, v.torrent!.infoHash)
  }
  assert.equal((await getVideo(server, vanished.id)).status, 'failed')
})

test('a video left processing while BitTorrent is off is ready after a restart, and gets its torrent when switched on', async () => {
  const own = await makeStorageDir()
  let s: TestServer | undefined
  try {
    s = await startTestServer({}, own)
    const port = s.port
    const v = await uploadOk(s, { title: 'Interrupted, then switched off' }, { path: clip })
    const put = (srv: TestServer, on: boolean) =>
      fetch(`${srv.url}/api/settings`, {
        method: 'PUT',
        headers: { authorization: srv.basicAuth, 'content-type': 'application/json' },
        body: JSON.stringify({ bittorrentEnabled: on, trackerUrls: [`${srv.services.config.publicUrl}/announce`] }),
      })
    assert.equal((await put(s, false)).status, 200)
    await s.stop({ keepStorage: true })
    s = undefined

    await unlink(path.join(own, 'media', `${storedName(v)}.torrent`))
    const db = path.join(own, 'seedcast.db')
    await sql(db, 'UPDATE "Video" SET status = ? WHERE id = ?', 'processing', v.id)
    await sql(db, 'DELETE FROM "Torrent" WHERE "videoId" = ?', v.id)

    s = await startTestServer({ PORT: String(port) }, own)
    const off = await getVideo(s, v.id)
    assert.equal(off.status, 'ready', 'playable while BitTorrent is off')
    assert.equal(off.torrent, null)
    assert.deepEqual(await lsMedia(path.join(own, 'media')), [storedName(v)])

    assert.equal((await put(s, true)).status, 200)
    const on = await waitForVideo(s, v.id, (x) => x.status === 'ready' && x.torrent !== null, 'backfilled torrent')
    assert.equal(on.torrent!.infoHash, v.torrent!.infoHash, 'same file, same name, same trackers: same infohash')
  } finally {
    if (s) await s.stop()
    await rm(own, { recursive: true, force: true })
  }
})
