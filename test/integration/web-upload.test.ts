// Uploading through the web form: log in (cookie seedcast_session), the form with its CSRF token
// in the action, the upload redirecting to the video page, and the refusals: no login, wrong CSRF.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo, uploadForm } from '../helpers/media.ts'
import { getJson, incomingDir, ls, lsMedia, mediaDir, waitForVideo } from '../helpers/http.ts'
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

const noFollow = { redirect: 'manual' } as const

async function login(username = 'admin', password = ADMIN_PASSWORD, next = '/upload'): Promise<Response> {
  return fetch(`${server.url}/login`, {
    ...noFollow,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password, next }).toString(),
  })
}

/** Logs in and returns the Cookie header value for the session. */
async function sessionCookie(): Promise<string> {
  const res = await login()
  assert.equal(res.status, 303)
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('seedcast_session='))
  assert.ok(cookie, 'seedcast_session is set')
  return cookie.split(';')[0]!
}

async function csrfFromForm(cookie: string): Promise<{ action: string; token: string }> {
  const res = await fetch(`${server.url}/upload`, { ...noFollow, headers: { cookie } })
  assert.equal(res.status, 200)
  const page = await res.text()
  const form = /<form\s[^>]*enctype="multipart\/form-data"[^>]*>/.exec(page)?.[0]
  assert.ok(form, 'a multipart form')
  const action = /action="([^"]*)"/.exec(form)![1]!.replace(/&amp;/g, '&')
  const token = /^\/upload\?_csrf=([^&]+)$/.exec(action)?.[1]
  assert.ok(token, `action is /upload?_csrf=TOKEN, got ${action}`)
  for (const field of ['title', 'description', 'file']) assert.match(page, new RegExp(`name="${field}"`), field)
  return { action, token: decodeURIComponent(token) }
}

async function assertNothingStored(videosBefore: number, mediaBefore: string[]) {
  assert.equal(await countRows(server, 'Video'), videosBefore)
  assert.deepEqual(await lsMedia(mediaDir(server)), mediaBefore)
  assert.deepEqual(await ls(incomingDir(server)), [])
}

describe('login', () => {
  test('GET /login shows the form', async () => {
    const res = await fetch(`${server.url}/login?next=/upload`)
    assert.equal(res.status, 200)
    const page = await res.text()
    assert.match(page, /<form method="post" action="\/login"/)
    assert.match(page, /name="username"/)
    assert.match(page, /name="password"/)
    assert.match(page, /name="next" value="\/upload"/)
  })

  test('a wrong password is refused and sets no cookie', async () => {
    const res = await login('admin', 'wrong-password')
    assert.equal(res.status, 401)
    assert.equal(res.headers.getSetCookie().length, 0)
    assert.match(await res.text(), /Wrong user name or password/)
    const unknownUser = await login('mallory', ADMIN_PASSWORD)
    assert.equal(unknownUser.status, 401)
  })

  test('the right password sets an HttpOnly seedcast_session cookie and redirects (303) to next', async () => {
    const res = await login()
    assert.equal(res.status, 303)
    assert.equal(res.headers.get('location'), '/upload')
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('seedcast_session='))
    assert.ok(cookie)
    assert.match(cookie, /HttpOnly/i)
    assert.match(cookie, /SameSite=Lax/i)
    assert.match(cookie, /Path=\//)
  })

  test('next cannot send the browser to another site', async () => {
    for (const next of [
      '//evil.example/',
      'https://evil.example/',
      '/\\evil.example/',
      '\\\\evil.example',
      'javascript:alert(1)',
      '/%2F%2Fevil.example',
    ]) {
      const res = await login('admin', ADMIN_PASSWORD, next)
      assert.equal(res.status, 303)
      const location = res.headers.get('location')!
      const resolved = new URL(location, server.url)
      assert.equal(resolved.origin, new URL(server.url).origin, `${next} → ${location}`)
    }
  })
})

describe('upload form', () => {
  test('without a login, GET and POST /upload redirect to /login and store nothing', async () => {
    const get = await fetch(`${server.url}/upload`, noFollow)
    assert.equal(get.status, 303)
    assert.equal(get.headers.get('location'), '/login?next=%2Fupload')

    const videos = await countRows(server, 'Video')
    const media = await lsMedia(mediaDir(server))
    const post = await fetch(`${server.url}/upload?_csrf=whatever`, {
      ...noFollow,
      method: 'POST',
      body: await uploadForm({ title: 'anon' }, { path: clip }),
    })
    assert.equal(post.status, 303)
    assert.match(post.headers.get('location')!, /^\/login/)
    const forged = await fetch(`${server.url}/upload`, {
      ...noFollow,
      method: 'POST',
      headers: { cookie: 'seedcast_session=forged' },
      body: await uploadForm({ title: 'forged' }, { path: clip }),
    })
    assert.equal(forged.status, 303)
    assert.match(forged.headers.get('location')!, /^\/login/)
    await assertNothingStored(videos, media)
  })

  test('a session cookie does not authorise the Basic-auth API', async () => {
    const cookie = await sessionCookie()
    const res = await getJson(`${server.url}/api/videos`, {
      method: 'POST',
      headers: { cookie },
      body: await uploadForm({ title: 'x' }, { path: clip }),
    })
    assert.equal(res.status, 401)
  })

  test('logged in: the form posts the file and redirects (303) to the new video page', async () => {
    const cookie = await sessionCookie()
    const { action } = await csrfFromForm(cookie)
    const res = await fetch(`${server.url}${action}`, {
      ...noFollow,
      method: 'POST',
      headers: { cookie },
      body: await uploadForm({ title: 'From the form', description: 'Sent by a browser' }, { path: clip }),
    })
    assert.equal(res.status, 303, await res.clone().text())
    const location = res.headers.get('location')!
    const id = /^\/videos\/([A-Za-z0-9]+)$/.exec(location)?.[1]
    assert.ok(id, `redirects to /videos/:id, got ${location}`)
    const v = await waitForVideo(server, id, (x) => x.status === 'ready')
    assert.equal(v.title, 'From the form')
    assert.equal(v.description, 'Sent by a browser')
    assert.ok(v.torrent)
    const page = await (await fetch(`${server.url}${location}`)).text()
    assert.match(page, /<h1>From the form<\/h1>/)
  })

  test('a wrong or missing CSRF token is 403 and stores nothing', async () => {
    const cookie = await sessionCookie()
    const { token } = await csrfFromForm(cookie)
    const videos = await countRows(server, 'Video')
    const media = await lsMedia(mediaDir(server))
    for (const query of [`?_csrf=${encodeURIComponent(token)}x`, '?_csrf=', '']) {
      const res = await fetch(`${server.url}/upload${query}`, {
        ...noFollow,
        method: 'POST',
        headers: { cookie },
        body: await uploadForm({ title: 'csrf' }, { path: clip }),
      })
      assert.equal(res.status, 403, query)
      await res.text()
    }
    // Another session's token does not work either.
    const other = await csrfFromForm(await sessionCookie())
    const cross = await fetch(`${server.url}${other.action}`, {
      ...noFollow,
      method: 'POST',
      headers: { cookie },
      body: await uploadForm({ title: 'csrf' }, { path: clip }),
    })
    assert.equal(cross.status, 403)
    await assertNothingStored(videos, media)
  })

  test('a rejected file shows the form again with the error and keeps nothing', async () => {
    const cookie = await sessionCookie()
    const { action } = await csrfFromForm(cookie)
    const fake = path.join(path.dirname(clip), 'notes.mp4')
    await writeFile(fake, 'just some text, not a video\n'.repeat(500))
    const videos = await countRows(server, 'Video')
    const media = await lsMedia(mediaDir(server))
    const res = await fetch(`${server.url}${action}`, {
      ...noFollow,
      method: 'POST',
      headers: { cookie },
      body: await uploadForm({ title: '<i>kept</i>' }, { path: fake }),
    })
    assert.equal(res.status, 415)
    const page = await res.text()
    assert.match(page, /role="alert"/)
    assert.match(page, /enctype="multipart\/form-data"/)
    assert.ok(!page.includes('<i>kept</i>'), 'the kept title is escaped')
    const missingTitle = await fetch(`${server.url}${action}`, {
      ...noFollow,
      method: 'POST',
      headers: { cookie },
      body: await uploadForm({ title: '' }, { path: clip }),
    })
    assert.equal(missingTitle.status, 400)
    await missingTitle.text()
    await assertNothingStored(videos, media)
  })

  test('logging out ends the session', async () => {
    const cookie = await sessionCookie()
    const home = await (await fetch(`${server.url}/`, { headers: { cookie } })).text()
    const token = /name="_csrf" value="([^"]+)"/.exec(home)?.[1]
    assert.ok(token, 'the logout form carries the CSRF token')
    const out = await fetch(`${server.url}/logout`, {
      ...noFollow,
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: `_csrf=${encodeURIComponent(token)}`,
    })
    assert.equal(out.status, 303)
    const again = await fetch(`${server.url}/upload`, { ...noFollow, headers: { cookie } })
    assert.equal(again.status, 303)
    assert.match(again.headers.get('location')!, /^\/login/)
  })
})
