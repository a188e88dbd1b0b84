// ACCEL_REDIRECT (behind nginx): media and web-seed GETs pass every check here and are answered
// with X-Accel-Redirect and no body, so nginx sends the bytes; what nginx is asked to send is
// counted as origin bytes; a private file is still refused here; under a web-seed cap the web
// seed is sent by the web app itself (the cap's fair share needs the bytes). The test with nginx
// itself is test/e2e/install-nginx.test.ts.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { sql } from '../helpers/database.ts'
import { getJson, uploadOk, webSeedUrl, type VideoJson } from '../helpers/http.ts'

let server: TestServer
let clip: string
let video: VideoJson
let mediaUrl: string
let fileName: string

before(async () => {
  server = await startTestServer({ ACCEL_REDIRECT: '/_internal/media/' })
  clip = await makeVideo({ seconds: 1 })
  video = await uploadOk(server, { title: 'Accel' }, { path: clip })
  mediaUrl = video.fileUrl.replace(server.services.config.publicUrl, server.url)
  fileName = decodeURIComponent(path.basename(new URL(mediaUrl).pathname))
})
after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

const settings = (body: object) =>
  getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: server.basicAuth },
    body: JSON.stringify(body),
  })

async function webSeedBytes(): Promise<number> {
  await server.services.offload.flush()
  const [row] = await sql<{ webSeedBytes: unknown }>(
    server,
    'SELECT "webSeedBytes" FROM "VideoOffload" WHERE "videoId" = ?',
    video.id,
  )
  return Number(row?.webSeedBytes ?? 0)
}

test('the player and the web seed get an X-Accel-Redirect to the file, no body; the asked range is counted', async () => {
  for (const url of [mediaUrl, webSeedUrl({ fileUrl: mediaUrl })]) {
    const res = await fetch(url, { headers: { range: 'bytes=0-99' } })
    assert.equal(res.status, 200, url)
    assert.equal(res.headers.get('x-accel-redirect'), `/_internal/media/${encodeURIComponent(fileName)}`)
    assert.equal(res.headers.get('content-type'), 'video/mp4')
    assert.equal(res.headers.get('access-control-allow-origin'), '*')
    assert.equal((await res.arrayBuffer()).byteLength, 0)
  }
  const counted = await webSeedBytes()
  assert.equal(counted, 100, 'the web seed counts the 100 bytes nginx was asked to send')
})

test('a private file is refused before any redirect; under a web-seed cap the web seed sends its bytes itself', async () => {
  assert.equal((await settings({ webSeedUploadCap: 10_000_000 })).status, 200)
  const seed = await fetch(webSeedUrl({ fileUrl: mediaUrl }), { headers: { range: 'bytes=0-99' } })
  assert.equal(seed.status, 206)
  assert.equal(seed.headers.get('x-accel-redirect'), null)
  assert.equal((await seed.arrayBuffer()).byteLength, 100)
  assert.ok((await fetch(mediaUrl)).headers.get('x-accel-redirect'), 'the player is never capped: nginx sends it')
  assert.equal((await settings({ webSeedUploadCap: 0 })).status, 200)

  const hidden = await getJson(`${server.url}/api/videos/${video.id}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json', authorization: server.basicAuth },
    body: JSON.stringify({ published: false }),
  })
  assert.equal(hidden.status, 200)
  const anonymous = await fetch(mediaUrl)
  assert.equal(anonymous.status, 404)
  assert.equal(anonymous.headers.get('x-accel-redirect'), null)
  const owner = await fetch(mediaUrl, { headers: { authorization: server.basicAuth } })
  assert.ok(owner.headers.get('x-accel-redirect'))
  assert.equal(owner.headers.get('cache-control'), 'private, no-cache')
})
