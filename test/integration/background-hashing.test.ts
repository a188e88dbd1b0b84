// Torrents made in the background (an upload hashed again, or BitTorrent switched on later): the
// request that started it is answered without waiting, and a failure is recorded on the video
// and logged, not lost.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm, unlink } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, mediaDir, uploadOk, waitForVideo } from '../helpers/http.ts'

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

const putSettings = (body: object) =>
  getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

test('a torrent that cannot be made in the background marks its video failed and is logged', async () => {
  assert.equal((await putSettings({ bittorrentEnabled: false })).status, 200)
  const video = await uploadOk(server, { title: 'made while off' }, { path: clip })
  assert.deepEqual([video.status, video.torrent], ['ready', null])
  // The file vanishes behind the site's back: the hashing that switching BitTorrent on starts must fail.
  await unlink(path.join(mediaDir(server), decodeURIComponent(new URL(video.fileUrl).pathname.slice('/media/'.length))))

  const logged: string[] = []
  const original = console.error
  console.error = (...args: unknown[]) => {
    logged.push(args.map(String).join(' '))
  }
  try {
    const on = await putSettings({ bittorrentEnabled: true })
    assert.equal(on.status, 200)
    // Answered before the hashing ends: the job is shown under way.
    assert.ok(on.body.backfill, JSON.stringify(on.body))
    const failed = await waitForVideo(server, video.id, (v) => v.status === 'failed', 'the video marked failed')
    assert.equal(failed.torrent, null)
  } finally {
    console.error = original
  }
  assert.ok(
    logged.some((l) => l.includes('[torrent] hashing') && l.includes('failed')),
    logged.join('\n'),
  )
  const row = await getJson(`${server.url}/api/settings`, { headers: { authorization: server.basicAuth } })
  assert.equal(row.body.backfill, null, 'the job ends, failure included')
})
