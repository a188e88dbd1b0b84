// The pages every logged-in user has: the header's links by role, the log-in form's refusals (a
// disabled account, a throttled address) shown on the form, and /account: changing one's own
// password (the other sessions end, this one stays) and API tokens (the secret shown once, listed
// without it, used, revoked).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { getJson } from '../helpers/http.ts'
import { PageSession, postLogin, unescapeHtml } from '../helpers/pageSession.ts'

const UPLOADER = { name: 'ursula', password: 'ursula-password-1' }

/** The hrefs of the header's links. */
const navLinks = (page: string) =>
  [...(/<nav>([\s\S]*?)<\/nav>/.exec(page)?.[1] ?? '').matchAll(/<a href="([^"]*)"/g)].map((m) => m[1])

describe('header and log-in form', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
    await server.services.accounts.createUser(UPLOADER.name, UPLOADER.password, 'uploader')
  })
  after(() => server?.stop())

  test('the header: anonymous sees Log in; an uploader their name, Upload, My account, Log out; an admin also Users, Settings, Offload', async () => {
    const anonymous = await (await fetch(`${server.url}/`)).text()
    assert.deepEqual(navLinks(anonymous), ['/', '/login'])
    assert.ok(!anonymous.includes('action="/logout"'))

    const uploader = await PageSession.logIn(server, UPLOADER.name, UPLOADER.password)
    const uploaderPage = (await uploader.get('/')).body
    assert.deepEqual(navLinks(uploaderPage), ['/', '/upload', '/account'])
    assert.match(uploaderPage, /id="current-user">ursula</)
    assert.match(
      uploaderPage,
      /<form method="post" action="\/logout"[^>]*>\s*<input type="hidden" name="_csrf" value="[^"]+">/,
    )

    const admin = await PageSession.logIn(server, 'admin', ADMIN_PASSWORD)
    assert.deepEqual(navLinks((await admin.get('/')).body), [
      '/',
      '/upload',
      '/account',
      '/admin/users',
      '/admin/settings',
      '/admin/offload',
    ])
    // The Log out button works (with its CSRF token) and ends the session.
    const out = await uploader.post('/logout')
    assert.equal(out.status, 303)
    assert.equal(await uploader.loggedIn(), false)
  })

  test('a disabled account gets its own message on the form (403), typed name kept, no cookie', async () => {
    const dora = await server.services.accounts.createUser('dora', 'dora-password-1', 'uploader')
    await server.services.accounts.updateUser(null, dora.id, { disabled: true })
    const res = await postLogin(server, 'dora', 'dora-password-1')
    assert.equal(res.status, 403)
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/)
    assert.match(res.body, /id="login-error">This account is disabled/)
    assert.match(res.body, /<form method="post" action="\/login"/)
    assert.match(res.body, /name="username" [^>]*value="dora"/)
    assert.equal(res.headers.getSetCookie().length, 0)
    // A wrong password for it is the usual answer: the page does not tell who is disabled.
    const wrong = await postLogin(server, 'dora', 'not-her-password')
    assert.equal(wrong.status, 401)
    assert.match(wrong.body, /Wrong user name or password/)
  })
})

describe('log-in form, throttled', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer({ AUTH_MAX_FAILURES: '3', AUTH_FAILURE_WINDOW_SECONDS: '600' })
  })
  after(() => server?.stop())

  test('after the wrong passwords an address may try, the form again with 429, the wait and Retry-After', async () => {
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) statuses.push((await postLogin(server, 'admin', `guess-${i}`)).status)
    assert.deepEqual(statuses, [401, 401, 401])
    const res = await postLogin(server, 'admin', ADMIN_PASSWORD)
    assert.equal(res.status, 429, 'even the right password waits')
    const wait = Number(res.headers.get('retry-after'))
    assert.ok(wait > 0, `Retry-After: ${res.headers.get('retry-after')}`)
    assert.match(
      res.body,
      /id="login-error">Too many wrong passwords or tokens from your address; try again in \d+ (seconds|minutes)/,
    )
    assert.match(res.body, /<form method="post" action="\/login"/)
    assert.match(res.body, /name="username" [^>]*value="admin"/)
    assert.equal(res.headers.getSetCookie().length, 0)
  })
})

describe('/account', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
    await server.services.accounts.createUser(UPLOADER.name, UPLOADER.password, 'uploader')
  })
  after(() => server?.stop())

  test('needs a login', async () => {
    const res = await fetch(`${server.url}/account`, { redirect: 'manual' })
    assert.equal(res.status, 303)
    assert.equal(res.headers.get('location'), '/login?next=%2Faccount')
    const post = await fetch(`${server.url}/account/tokens`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'name=x',
    })
    assert.equal(post.status, 303)
    assert.match(post.headers.get('location') ?? '', /^\/login/)
  })

  test('changing the password: refusals on the form; success ends the other sessions and keeps this one', async () => {
    const here = await PageSession.logIn(server, UPLOADER.name, UPLOADER.password)
    const elsewhere = await PageSession.logIn(server, UPLOADER.name, UPLOADER.password)
    const page = await here.get('/account')
    assert.equal(page.status, 200)
    for (const name of ['current', 'password', 'repeat']) assert.match(page.body, new RegExp(`name="${name}"`))

    const next = 'a-new-password-2'
    const wrongCurrent = await here.post('/account/password', { current: 'nope-nope', password: next, repeat: next })
    assert.equal(wrongCurrent.status, 401)
    assert.match(wrongCurrent.body, /id="password-error">The current password is wrong/)
    const differ = await here.post('/account/password', {
      current: UPLOADER.password,
      password: next,
      repeat: `${next}x`,
    })
    assert.equal(differ.status, 400)
    assert.match(differ.body, /id="password-error">The two new passwords differ/)
    const short = await here.post('/account/password', {
      current: UPLOADER.password,
      password: 'short',
      repeat: 'short',
    })
    assert.equal(short.status, 400)
    assert.match(short.body, /id="password-error">A password has at least 8 characters/)
    for (const refused of [wrongCurrent, differ, short]) assert.ok(!refused.body.includes(next), 'no password echoed')
    assert.equal(await elsewhere.loggedIn(), true, 'refusals change nothing')

    const forged = await here.post(
      '/account/password',
      { current: UPLOADER.password, password: next, repeat: next },
      { csrf: false },
    )
    assert.equal(forged.status, 403, 'no CSRF token, no change')

    const ok = await here.post('/account/password', { current: UPLOADER.password, password: next, repeat: next })
    assert.equal(ok.status, 303)
    assert.equal(ok.location, '/account?done=password')
    assert.equal(await here.loggedIn(), true, 'this session stays')
    assert.equal(await elsewhere.loggedIn(), false, 'the other session ended')
    assert.match((await here.get('/account?done=password')).body, /id="notice">Password changed/)
    assert.equal((await postLogin(server, UPLOADER.name, UPLOADER.password)).status, 401, 'the old password is gone')
    const again = await PageSession.logIn(server, UPLOADER.name, next)
    assert.equal(await again.loggedIn(), true)
    // The CSRF token of the kept session still works.
    const back = await here.post('/account/password', {
      current: next,
      password: UPLOADER.password,
      repeat: UPLOADER.password,
    })
    assert.equal(back.status, 303)
  })

  test('API tokens: the secret shown once, listed without it, used with Bearer, revoked', async () => {
    const me = await PageSession.logIn(server, UPLOADER.name, UPLOADER.password)
    const empty = await me.post('/account/tokens', { name: '   ' })
    assert.equal(empty.status, 400)
    assert.match(empty.body, /id="token-error">A token needs a name/)

    const made = await me.post('/account/tokens', { name: 'backup <script>' })
    assert.equal(made.status, 201)
    assert.equal(made.headers.get('cache-control'), 'no-store')
    const secret = /id="new-token">([^<]+)</.exec(made.body)?.[1] ?? ''
    assert.ok(secret.startsWith('sct_'), `the secret is on the page: ${secret}`)
    assert.match(made.body, /Copy it now/)
    assert.ok(made.body.includes('backup &lt;script&gt;'), 'the name is escaped')

    // Used by a script, with the user's rights.
    const bearer = { authorization: `Bearer ${unescapeHtml(secret)}` }
    const listed = await getJson(`${server.url}/api/tokens`, { headers: bearer })
    assert.equal(listed.status, 200)
    assert.deepEqual(
      listed.body.tokens.map((t: { name: string }) => t.name),
      ['backup <script>'],
    )

    const page = (await me.get('/account')).body
    assert.ok(!page.includes(secret), 'the secret is never shown again')
    const row = /<tr data-token-id="(\d+)">([\s\S]*?)<\/tr>/.exec(page)
    assert.ok(row, 'the token is listed')
    assert.match(row[2]!, /class="name">backup &lt;script&gt;</)
    assert.match(
      row[2]!,
      /<time datetime="[^"]+">[^<]+ UTC<\/time>[\s\S]*<time datetime="[^"]+">/,
      'created and last used',
    )

    const revoked = await me.post(`/account/tokens/${row[1]}/revoke`)
    assert.equal(revoked.status, 303)
    assert.equal(revoked.location, '/account?done=revoked')
    assert.equal((await getJson(`${server.url}/api/tokens`, { headers: bearer })).status, 401, 'revoked')
    assert.match((await me.get('/account')).body, /No tokens yet/)
    const again = await me.post(`/account/tokens/${row[1]}/revoke`)
    assert.equal(again.status, 404)
    assert.match(again.body, /id="token-error">No token/)
  })

  test("one cannot revoke another user's token", async () => {
    const admin = await PageSession.logIn(server, 'admin', ADMIN_PASSWORD)
    const made = await admin.post('/account/tokens', { name: 'admin script' })
    const secret = unescapeHtml(/id="new-token">([^<]+)</.exec(made.body)![1]!)
    const tokenId = /data-token-id="(\d+)"/.exec(made.body)![1]
    const uploader = await PageSession.logIn(server, UPLOADER.name, UPLOADER.password)
    assert.equal((await uploader.post(`/account/tokens/${tokenId}/revoke`)).status, 404)
    const still = await getJson(`${server.url}/api/users`, { headers: { authorization: `Bearer ${secret}` } })
    assert.equal(still.status, 200, 'the admin token still works')
  })
})
