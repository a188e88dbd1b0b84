// Personal API tokens: created (shown once), used as `Authorization: Bearer` with their user's
// rights, listed without the secret, revoked (then 401); a disabled user's token is 403, a removed
// user's 401; wrong tokens are throttled per address like wrong passwords. And the two kinds of
// credentials stay apart: Basic or Bearer give no page login, a login cookie gives no API rights.
// A password change ends the user's login sessions (an admin's reset: all; their own: the others).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo, uploadForm } from '../helpers/media.ts'
import { apiUpload, getJson } from '../helpers/http.ts'
import { countRows, sql } from '../helpers/database.ts'
import { addUser, basic, newToken, type TestUser } from '../helpers/accounts.ts'
import { PageSession } from '../helpers/pageSession.ts'

let server: TestServer
let clip: string

before(async () => {
  // No per-address limit here: this file's own wrong tokens would otherwise add up; the throttle
  // has a site of its own below.
  server = await startTestServer({ AUTH_MAX_FAILURES: '0' })
  clip = await makeVideo({ seconds: 1 })
})

after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

const bearer = (token: string) => `Bearer ${token}`
const call = (s: TestServer, method: string, url: string, auth: string | null, body?: unknown) =>
  getJson(`${s.url}${url}`, {
    method,
    headers: {
      ...(auth ? { authorization: auth } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })

describe('tokens', () => {
  let ed: TestUser

  before(async () => {
    ed = await addUser(server, 'token-editor', 'uploader')
  })

  test('POST /api/tokens: 201 {id, name, token}; the secret is shown once and never stored', async () => {
    const res = await call(server, 'POST', '/api/tokens', ed.basic, { name: '  deploy script  ' })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.equal(typeof res.body.id, 'number')
    assert.equal(res.body.name, 'deploy script')
    assert.match(res.body.token, /^sct_[A-Za-z0-9_-]{20,}$/)
    const stored = JSON.stringify(await sql(server, 'SELECT * FROM "ApiToken" WHERE "id" = ?', res.body.id))
    assert.ok(!stored.includes(res.body.token), 'the database holds a hash, not the token')
    assert.ok(!stored.includes(res.body.token.slice(4)), 'nor the token without its prefix')
    for (const body of [
      {},
      { name: '' },
      { name: '   ' },
      { name: 'x'.repeat(101) },
      { name: 5 },
      { name: 'a', x: 1 },
    ]) {
      const bad = await call(server, 'POST', '/api/tokens', ed.basic, body)
      assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(bad.body)}`)
    }
    assert.equal((await call(server, 'POST', '/api/tokens', null, { name: 'anon' })).status, 401)
  })

  test("used as Bearer: the user's rights (an uploader uploads, is refused settings and users; an admin is not)", async () => {
    const { token } = await newToken(server, ed.basic)
    const up = await apiUpload(server, { title: 'by token' }, { path: clip }, bearer(token))
    assert.equal(up.status, 201, JSON.stringify(up.body))
    assert.deepEqual(up.body.owner, { id: ed.id, name: ed.name })
    assert.equal((await call(server, 'GET', '/api/settings', bearer(token))).status, 403)
    assert.equal((await call(server, 'PUT', '/api/settings', bearer(token), { webSeedEnabled: false })).status, 403)
    assert.equal((await call(server, 'GET', '/api/users', bearer(token))).status, 403)
    assert.equal(
      (await call(server, 'PATCH', `/api/videos/${up.body.id}`, bearer(token), { title: 'mine' })).status,
      200,
    )
    assert.equal((await call(server, 'DELETE', `/api/videos/${up.body.id}`, bearer(token))).status, 204)

    const admin = await newToken(server, server.basicAuth, 'admin script')
    assert.equal((await call(server, 'GET', '/api/settings', bearer(admin.token))).status, 200)
    assert.equal((await call(server, 'GET', '/api/users', bearer(admin.token))).status, 200)
    // The scheme's name is case-insensitive (RFC 9110).
    assert.equal((await call(server, 'GET', '/api/users', `bearer ${admin.token}`)).status, 200)
  })

  test("GET /api/tokens lists the caller's own tokens without the secret or its hash", async () => {
    const mine = await newToken(server, ed.basic, 'listed')
    await call(server, 'GET', '/api/tokens', bearer(mine.token)) // a use, for lastUsedAt
    const other = await addUser(server, 'token-other', 'uploader')
    const theirs = await newToken(server, other.basic, 'not yours')
    const res = await call(server, 'GET', '/api/tokens', ed.basic)
    assert.equal(res.status, 200)
    const listed = res.body.tokens.find((t: any) => t.id === mine.id)
    assert.equal(listed.name, 'listed')
    assert.equal(typeof listed.createdAt, 'string')
    assert.equal(typeof listed.lastUsedAt, 'string', 'its last use is shown')
    assert.equal(
      res.body.tokens.some((t: any) => t.id === theirs.id),
      false,
      "another user's token is not listed",
    )
    const text = JSON.stringify(res.body)
    assert.doesNotMatch(text, /"token"|tokenHash|sct_/)
    for (const t of res.body.tokens) assert.deepEqual(Object.keys(t).sort(), ['createdAt', 'id', 'lastUsedAt', 'name'])
    assert.equal(text.includes(mine.token), false)
    assert.equal((await call(server, 'GET', '/api/tokens', null)).status, 401)
  })

  test("DELETE /api/tokens/:id: 204, then the token is 401; another user's token is 404 and keeps working", async () => {
    const a = await newToken(server, ed.basic, 'to revoke')
    const b = await newToken(server, ed.basic, 'to keep')
    assert.equal((await call(server, 'GET', '/api/tokens', bearer(a.token))).status, 200)
    const other = await addUser(server, 'revoker', 'uploader')
    const notTheirs = await call(server, 'DELETE', `/api/tokens/${a.id}`, other.basic)
    assert.equal(notTheirs.status, 404)
    assert.equal(notTheirs.body.error.code, 'token_not_found')
    assert.equal((await call(server, 'GET', '/api/tokens', bearer(a.token))).status, 200)
    // A token can revoke itself.
    assert.equal((await call(server, 'DELETE', `/api/tokens/${a.id}`, bearer(a.token))).status, 204)
    const gone = await call(server, 'GET', '/api/tokens', bearer(a.token))
    assert.equal(gone.status, 401)
    assert.equal(gone.body.error.code, 'unauthorized')
    assert.equal((await apiUpload(server, { title: 'x' }, { path: clip }, bearer(a.token))).status, 401)
    assert.equal((await call(server, 'DELETE', `/api/tokens/${a.id}`, ed.basic)).status, 404)
    assert.equal((await call(server, 'GET', '/api/tokens', bearer(b.token))).status, 200, 'the other token stays')
    assert.equal((await call(server, 'DELETE', '/api/tokens/abc', ed.basic)).status, 404)
  })

  test('made-up and malformed tokens are 401', async () => {
    for (const header of [
      'Bearer sct_madeupmadeupmadeupmadeupmadeup',
      'Bearer not-even-prefixed',
      'Bearer ',
      'Token abc',
      `Bearer ${'sct_'.padEnd(5000, 'a')}`,
    ]) {
      const res = await call(server, 'GET', '/api/tokens', header)
      assert.equal(res.status, 401, header.slice(0, 40))
      assert.equal(res.body.error.code, 'unauthorized')
    }
  })

  test("a disabled user's token is 403 account_disabled, and works again when enabled; a removed user's is 401", async () => {
    const u = await addUser(server, 'token-disabled', 'uploader')
    const { token } = await newToken(server, u.basic)
    assert.equal((await call(server, 'PATCH', `/api/users/${u.id}`, server.basicAuth, { disabled: true })).status, 200)
    const res = await call(server, 'GET', '/api/tokens', bearer(token))
    assert.equal(res.status, 403)
    assert.equal(res.body.error.code, 'account_disabled')
    assert.equal((await apiUpload(server, { title: 'x' }, { path: clip }, bearer(token))).status, 403)
    assert.equal((await call(server, 'PATCH', `/api/users/${u.id}`, server.basicAuth, { disabled: false })).status, 200)
    assert.equal((await call(server, 'GET', '/api/tokens', bearer(token))).status, 200)
    assert.equal((await call(server, 'DELETE', `/api/users/${u.id}`, server.basicAuth)).status, 204)
    const removed = await call(server, 'GET', '/api/tokens', bearer(token))
    assert.equal(removed.status, 401)
    assert.equal(removed.body.error.code, 'unauthorized')
  })
})

describe('a password change ends login sessions', () => {
  test("an admin's reset (PATCH /api/users/:id {password}) ends all of them", async () => {
    const u = await addUser(server, 'reset-me', 'uploader')
    const [c1, c2] = [
      await PageSession.logIn(server, u.name, u.password),
      await PageSession.logIn(server, u.name, u.password),
    ]
    assert.equal(await c1.loggedIn(), true)
    assert.equal(await c2.loggedIn(), true)
    const res = await call(server, 'PATCH', `/api/users/${u.id}`, server.basicAuth, { password: 'reset-by-admin' })
    assert.equal(res.status, 200)
    assert.equal(await c1.loggedIn(), false)
    assert.equal(await c2.loggedIn(), false)
  })

  test("the user's own change ends their other sessions and keeps the one they changed it in", async () => {
    const u = await addUser(server, 'own-change', 'uploader')
    const here = await PageSession.logIn(server, u.name, u.password)
    const elsewhere = await PageSession.logIn(server, u.name, u.password)
    const session = await server.services.auth.findSession(here.cookie.slice('seedcast_session='.length))
    assert.ok(session)
    assert.equal(await server.services.auth.changeOwnPassword('test', session, 'wrong-current', 'own-new-pass'), false)
    assert.equal(await elsewhere.loggedIn(), true, 'a wrong current password changes nothing')
    assert.equal(await server.services.auth.changeOwnPassword('test', session, u.password, 'own-new-pass'), true)
    assert.equal(await here.loggedIn(), true, 'the session it was changed in stays')
    assert.equal(await elsewhere.loggedIn(), false, 'the other session ended')
    assert.equal((await call(server, 'GET', '/api/tokens', u.basic)).status, 401)
    assert.equal((await call(server, 'GET', '/api/tokens', basic(u.name, 'own-new-pass'))).status, 200)
  })
})

describe('credentials stay apart', () => {
  test('Basic or Bearer on a page route is no login', async () => {
    const u = await addUser(server, 'header-pages', 'uploader')
    const { token } = await newToken(server, u.basic)
    for (const auth of [u.basic, server.basicAuth, bearer(token)]) {
      const page = await fetch(`${server.url}/upload`, { headers: { authorization: auth }, redirect: 'manual' })
      assert.equal(page.status, 303, auth.slice(0, 12))
      assert.match(page.headers.get('location') ?? '', /^\/login/)
      const before = await countRows(server, 'Video')
      const post = await fetch(`${server.url}/upload`, {
        method: 'POST',
        headers: { authorization: auth },
        body: await uploadForm({ title: 'via header' }, { path: clip }),
        redirect: 'manual',
      })
      assert.ok(post.status === 303 || post.status === 403, `POST /upload refused (${post.status})`)
      if (post.status === 303) assert.match(post.headers.get('location') ?? '', /^\/login/)
      assert.equal(await countRows(server, 'Video'), before, 'nothing uploaded')
    }
  })

  test('a login cookie on the API is no caller', async () => {
    const admin = await PageSession.logIn(server, 'admin', ADMIN_PASSWORD)
    assert.equal(await admin.loggedIn(), true)
    const { cookie } = admin
    const before = await countRows(server, 'Video')
    const up = await getJson(`${server.url}/api/videos`, {
      method: 'POST',
      headers: { cookie },
      body: await uploadForm({ title: 'via cookie' }, { path: clip }),
    })
    assert.equal(up.status, 401)
    assert.equal(await countRows(server, 'Video'), before)
    for (const [method, url] of [
      ['GET', '/api/tokens'],
      ['GET', '/api/users'],
      ['GET', '/api/settings'],
    ] as const) {
      const res = await getJson(`${server.url}${url}`, { method, headers: { cookie } })
      assert.equal(res.status, 401, `${method} ${url}`)
    }
    const made = await getJson(`${server.url}/api/tokens`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'via cookie' }),
    })
    assert.equal(made.status, 401)
  })
})

describe('wrong tokens are throttled per address, with wrong passwords', () => {
  let site: TestServer
  before(async () => {
    site = await startTestServer({ AUTH_MAX_FAILURES: '3', AUTH_FAILURE_WINDOW_SECONDS: '600' })
  })
  after(() => site?.stop())

  test('right tokens cost nothing; after 3 wrong tokens or passwords the address gets 429 with Retry-After', async () => {
    const { token } = await newToken(site, site.basicAuth)
    for (let i = 0; i < 6; i++) assert.equal((await call(site, 'GET', '/api/tokens', bearer(token))).status, 200)
    const wrong = bearer('sct_wrongwrongwrongwrongwrongwrong')
    assert.equal((await call(site, 'GET', '/api/tokens', wrong)).status, 401)
    assert.equal((await call(site, 'GET', '/api/tokens', basic('admin', 'not-the-password'))).status, 401)
    assert.equal((await call(site, 'GET', '/api/tokens', wrong)).status, 401)
    for (const auth of [wrong, bearer(token), site.basicAuth]) {
      const res = await call(site, 'GET', '/api/tokens', auth)
      assert.equal(res.status, 429, auth.slice(0, 12))
      assert.equal(res.body.error.code, 'too_many_attempts')
      assert.match(res.body.error.message, /too many wrong passwords or tokens/i)
      assert.match(res.body.error.message, /try again in/)
      const retry = Number(res.headers.get('retry-after'))
      assert.ok(Number.isInteger(retry) && retry > 0 && retry <= 600, `Retry-After ${res.headers.get('retry-after')}`)
    }
    // Anonymous reads are not affected.
    assert.equal((await getJson(`${site.url}/api/videos`)).status, 200)
  })
})
