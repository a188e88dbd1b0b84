// While a video's torrent is hashed in the background (here: a file from the import folder), its
// page and its API object show how far the hashing is, in pieces; once the torrent is made both
// drop it. The hashing is the real one, slowed by the server's test hook (a pause per piece).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { copyFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, waitFor, type VideoJson } from '../helpers/http.ts'
import { workDir } from '../helpers/seededSite.ts'

test('the video page shows the hashing progress while the torrent is made', { timeout: 120_000 }, async (t) => {
  const importDir = await workDir(t, 'seedcast-progress-')
  // 170-odd pieces of 16 KiB, 40 ms each, two workers: some 3-4 s of hashing.
  const server = await startTestServer({ IMPORT_DIR: importDir, IMPORT_SETTLE_SECONDS: '0.5' }, undefined, {
    hashPieceDelayMs: 40,
  })
  t.after(() => server.stop())
  const clip = await makeVideo({ seconds: 6, noise: 20 })
  await copyFile(clip, path.join(importDir, 'progress.mp4'))

  const auth = { headers: { authorization: server.basicAuth } }
  const processing = await waitFor(
    async () => {
      const list = await getJson<{ videos: VideoJson[] }>(`${server.url}/api/videos`, auth)
      return list.body.videos.find((v) => v.title === 'progress' && v.status === 'processing')
    },
    'the imported video, processing',
    30_000,
  )
  // Seen part-way on the page (the page a browser reloads every 3 s) and in the API.
  const seen = await waitFor(
    async () => {
      const html = await (await fetch(`${server.url}/videos/${processing.id}`, auth)).text()
      const m = /<progress value="(\d+)" max="(\d+)"><\/progress>\s*(\d+) of (\d+) pieces hashed/.exec(html)
      if (!m) return undefined
      const [done, total] = [Number(m[1]), Number(m[2])]
      return done > 0 && done < total ? { done, total } : undefined
    },
    'the page to show the hashing part-way',
    30_000,
  )
  assert.ok(seen.total > 100, JSON.stringify(seen))
  const api = (await getJson<VideoJson>(`${server.url}/api/videos/${processing.id}`, auth)).body
  assert.equal(api.status, 'processing')
  assert.ok(
    api.hashing && api.hashing.done >= seen.done && api.hashing.total === seen.total,
    JSON.stringify(api.hashing),
  )

  const ready = await waitFor(
    async () => {
      const v = (await getJson<VideoJson>(`${server.url}/api/videos/${processing.id}`, auth)).body
      return v.status === 'ready' ? v : undefined
    },
    'the torrent to be made',
    60_000,
  )
  assert.equal(ready.hashing, null)
  assert.ok(ready.torrent)
  const html = await (await fetch(`${server.url}/videos/${processing.id}`, auth)).text()
  assert.doesNotMatch(html, /pieces hashed/)
})
