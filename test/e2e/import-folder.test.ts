// The import folder (IMPORT_DIR) on a real server: a dropped file is published and aria2c
// downloads it byte for byte from the web seed; a file still being written, or kept under a
// temporary dot-name as rsync does, is not taken until it is complete; non-media is left where
// it is with one log line, and not tried again until it changes.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { appendFile, copyFile, open, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { runAria2c } from '../helpers/aria2.ts'
import { getJson, waitFor, type VideoJson } from '../helpers/http.ts'
import { workDir } from '../helpers/seededSite.ts'

const SETTLE_SECONDS = 1
const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function siteWithImportFolder(t: import('node:test').TestContext, settleSeconds = SETTLE_SECONDS) {
  const importDir = await workDir(t, 'seedcast-import-')
  const server = await startTestServer({ IMPORT_DIR: importDir, IMPORT_SETTLE_SECONDS: String(settleSeconds) })
  t.after(async () => {
    await server.stop()
    if ((t as { passed?: boolean }).passed === false) t.diagnostic(server.logs.join('\n'))
  })
  return { server, importDir }
}

async function videoTitled(server: TestServer, title: string): Promise<VideoJson | undefined> {
  const res = await getJson<{ videos: VideoJson[] }>(`${server.url}/api/videos?limit=100`, {
    headers: { authorization: server.basicAuth },
  })
  return res.body.videos.find((v) => v.title === title)
}

const readyVideo = (server: TestServer, title: string) =>
  waitFor(
    async () => {
      const v = await videoTitled(server, title)
      return v?.status === 'ready' ? v : undefined
    },
    `video "${title}" to be published and ready`,
    30_000,
  )

test('a file dropped into the import folder is published as the admin, and aria2c downloads it byte for byte', {
  timeout: 120_000,
}, async (t) => {
  const { server, importDir } = await siteWithImportFolder(t)
  const clip = await makeVideo({ seconds: 20, size: '640x360', noise: 10 })
  const original = await readFile(clip)
  await copyFile(clip, path.join(importDir, 'Summer_holiday.2026.mp4'))

  const video = await readyVideo(server, 'Summer holiday 2026')
  assert.equal(video.owner?.name, 'admin', 'the first admin owns it')
  assert.equal(video.published, true)
  assert.equal(video.size, original.length)
  assert.ok(video.torrent, 'it has a torrent')
  assert.deepEqual(await readdir(importDir), [], 'the file left the import folder')
  assert.ok(server.logs.some((l) => l.startsWith('[import] took') && l.includes('Summer_holiday.2026.mp4')))

  const dir = await workDir(t, 'seedcast-import-aria2-')
  const run = await runAria2c({ source: video.torrent.torrentUrl, dir, logFile: path.join(dir, 'aria2c.log') })
  assert.equal(run.code, 0, run.output.slice(-2000))
  const name = decodeURIComponent(path.basename(new URL(video.fileUrl).pathname))
  const downloaded = await readFile(path.join(dir, name))
  assert.equal(sha256(downloaded), sha256(original), 'aria2c got the dropped file byte for byte')
})

test('a file still being written is not taken until it has stopped growing', { timeout: 120_000 }, async (t) => {
  // The folder is looked at every 0.75 s; the writer pauses 1.2 s, so the same size is seen
  // twice in a row, and only the 3 s settle interval (2.5 times a pause) keeps it from being taken.
  const { server, importDir } = await siteWithImportFolder(t, 3)
  const clip = await makeVideo({ seconds: 6, noise: 20 })
  const original = await readFile(clip)
  const target = path.join(importDir, 'slow_upload.mp4')
  // Written in 10 pieces, 1.2 s apart (12 s in all, four settle intervals): like a slow FTP upload
  // that stalls now and then. The site is asked meanwhile, without holding the writer up.
  const handle = await open(target, 'wx')
  let writing = true
  const step = Math.ceil(original.length / 10)
  const writer = (async () => {
    for (let off = 0; off < original.length; off += step) {
      await handle.write(original.subarray(off, off + step))
      await sleep(1200)
    }
    await handle.close()
    writing = false
  })()
  while (writing) {
    assert.equal(await videoTitled(server, 'slow upload'), undefined, 'taken while still being written')
    await sleep(200)
  }
  await writer
  const video = await readyVideo(server, 'slow upload')
  assert.equal(video.size, original.length, 'the whole file was taken')
  const served = Buffer.from(await (await fetch(video.fileUrl)).arrayBuffer())
  assert.equal(sha256(served), sha256(original))
})

test("rsync's temporary dot-file is ignored; the file is taken once renamed to its name", {
  timeout: 60_000,
}, async (t) => {
  const { server, importDir } = await siteWithImportFolder(t)
  const clip = await makeVideo({ seconds: 1 })
  // rsync writes into `.<name>.<random>` in the target folder and renames it when complete.
  const temp = path.join(importDir, '.concert.mp4.Xq3v9Z')
  await copyFile(clip, temp)
  await sleep(SETTLE_SECONDS * 3000)
  assert.equal(await videoTitled(server, 'concert'), undefined, 'a dot-file is never taken')
  assert.ok((await stat(temp)).isFile(), 'and is left alone')
  await rename(temp, path.join(importDir, 'concert.mp4'))
  const video = await readyVideo(server, 'concert')
  assert.equal(video.size, (await stat(clip)).size)
})

test('non-media is left where it is, logged once, and looked at again only once it changes', {
  timeout: 60_000,
}, async (t) => {
  const { server, importDir } = await siteWithImportFolder(t)
  const notes = path.join(importDir, 'notes.mp4')
  await writeFile(notes, 'not a video at all, whatever its name says\n')
  const refusals = () =>
    server.logs.filter(
      (l) => l.includes(`[import] left ${notes} where it is`) && l.includes('not a known audio or video'),
    )
  await waitFor(async () => refusals().length === 1, 'the refusal to be logged', 15_000)
  // Several more looks at the folder (a few per settle interval): no new attempt, no new line.
  await sleep(SETTLE_SECONDS * 4000)
  assert.equal(refusals().length, 1, refusals().join('\n'))
  assert.equal(await readFile(notes, 'utf8'), 'not a video at all, whatever its name says\n', 'left as it was')
  const { videos } = (await getJson(`${server.url}/api/videos`, { headers: { authorization: server.basicAuth } })).body
  assert.deepEqual(videos, [])
  // Changed: it is looked at again (and refused again).
  await appendFile(notes, 'more text\n')
  await waitFor(async () => refusals().length === 2, 'a second look once it changed', 15_000)
})
