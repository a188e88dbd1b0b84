// The routes' validators: each refuses a bad parameter with a 400 naming it before the handler
// runs, and a refused upload leaves nothing in storage (the validator removes the stored file).
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo, uploadForm } from '../helpers/media.ts'
import { apiUpload, getJson, incomingDir, ls, lsMedia, mediaDir } from '../helpers/http.ts'
import { countRows } from '../helpers/database.ts'

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

async function sessionCookie(): Promise<string> {
  const res = await fetch(`${server.url}/login`, {
    redirect: 'manual',
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: 'admin', password: ADMIN_PASSWORD }).toString(),
  })
  assert.equal(res.status, 303)
  return res.headers
    .getSetCookie()
    .find((c) => c.startsWith('seedcast_session='))!
    .split(';')[0]!
}

async function assertNothingStored(videosBefore: number) {
  assert.equal(await countRows(server, 'Video'), videosBefore)
  assert.deepEqual(await lsMedia(mediaDir(server)), [])
  assert.deepEqual(await ls(incomingDir(server)), [])
}

test('query validators: 400 bad_request naming the parameter, JSON on the API', async () => {
  for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=2.5', 'limit=', 'limit=5&limit=6']) {
    const res = await getJson(`${server.url}/api/videos?${q}`)
    assert.equal(res.status, 400, q)
    assert.deepEqual(res.body.error, { code: 'bad_request', message: 'limit must be a whole number from 1 to 100' }, q)
  }
  for (const q of ['cursor=garbage', 'cursor=a&cursor=b']) {
    const res = await getJson(`${server.url}/api/videos?${q}`)
    assert.deepEqual(
      [res.status, res.body.error.code, res.body.error.message],
      [400, 'bad_request', 'cursor is not one this API gave out'],
      q,
    )
  }
  assert.equal((await getJson(`${server.url}/api/videos?limit=100`)).status, 200)
  const audit = await getJson(`${server.url}/api/settings/audit?limit=501`, {
    headers: { authorization: server.basicAuth },
  })
  assert.deepEqual([audit.status, audit.body.error.message], [400, 'limit must be a whole number from 1 to 500'])
  const range = await getJson(`${server.url}/api/videos/whatever/swarm/history?range=7d`)
  assert.deepEqual([range.status, range.body.error.message], [400, 'range must be one of: 24h, 30d'])
})

test('page validators: a bad page link is a 400 page; a repeated one is ignored as before', async () => {
  const bad = await fetch(`${server.url}/?after=garbage`, { headers: { accept: 'text/html' } })
  assert.equal(bad.status, 400)
  assert.match(await bad.text(), /That page link is not valid/)
  assert.equal((await fetch(`${server.url}/?after=a&after=b`, { headers: { accept: 'text/html' } })).status, 200)
  assert.equal((await fetch(`${server.url}/videos/whatever/swarm.svg?range=1y`)).status, 400)
})

test('an API upload refused by its validator keeps nothing: description too long', async () => {
  const videos = await countRows(server, 'Video')
  const res = await apiUpload(server, { title: 'fine', description: 'x'.repeat(10_001) }, { path: clip })
  assert.equal(res.status, 400)
  assert.equal(res.body.error.code, 'invalid_description')
  await assertNothingStored(videos)
})

test('a form upload refused by its validator shows the form again and keeps nothing', async () => {
  const cookie = await sessionCookie()
  const page = await (await fetch(`${server.url}/upload`, { headers: { cookie } })).text()
  const action = /action="([^"]*_csrf=[^"]*)"/.exec(page)![1]!.replace(/&amp;/g, '&')
  const videos = await countRows(server, 'Video')
  for (const [fields, reason] of [
    [{ title: '  ' }, /A title is required/],
    [{ title: 't', description: 'd'.repeat(10_001) }, /longer than 10,000/],
  ] as const) {
    const res = await fetch(`${server.url}${action}`, {
      redirect: 'manual',
      method: 'POST',
      headers: { cookie },
      body: await uploadForm(fields, { path: clip }),
    })
    assert.equal(res.status, 400)
    const html = await res.text()
    assert.match(html, reason)
    assert.match(html, /enctype="multipart\/form-data"/, 'the form again')
    await assertNothingStored(videos)
  }
  const noFile = await fetch(`${server.url}${action}`, {
    redirect: 'manual',
    method: 'POST',
    headers: { cookie },
    body: await uploadForm({ title: 'no file' }),
  })
  assert.equal(noFile.status, 400)
  assert.match(await noFile.text(), /Choose a file to upload/)
})

test('form bodies of the wrong shape are refused or read as absent, never a 500', async () => {
  const twice = 'username=admin&username=admin&password=x'
  const login = await fetch(`${server.url}/login`, {
    redirect: 'manual',
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: twice,
  })
  assert.equal(login.status, 401)
  const cookie = await sessionCookie()
  const page = await (await fetch(`${server.url}/admin/settings`, { headers: { cookie } })).text()
  const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1]
  assert.ok(token, 'the settings form carries its CSRF token')
  const body = `_csrf=${encodeURIComponent(token)}&bittorrentEnabled=on&otherTrackers=a&otherTrackers=b`
  const save = await fetch(`${server.url}/admin/settings`, {
    redirect: 'manual',
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body,
  })
  assert.equal(save.status, 400)
})
