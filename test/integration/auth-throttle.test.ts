// Log-in and token use are throttled per address (src/auth/failureThrottle.ts through
// AuthService.reserveAttempt): wrong API tokens (Bearer), wrong Basic passwords and wrong log-in
// form passwords draw on one bucket of AUTH_MAX_FAILURES per address. Once it is empty the API
// answers 429 JSON and the log-in page 429 HTML, both with Retry-After and the wait in words;
// other addresses are served as before. A right answer gives its attempt back, so a script using
// its token all day never runs the bucket down.
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { basic as basicAs, newToken } from '../helpers/accounts.ts'
import { requestFrom, type AddressedResponse } from '../helpers/fromAddress.ts'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'

const MAX_FAILURES = 3
const WINDOW_SECONDS = 600

let server: TestServer
let token: string

const basic = (password: string) => basicAs('admin', password)

/** GET /api/tokens (any account) from `address` with this Authorization header. */
const api = (address: string, authorization: string) =>
  requestFrom(address, `${server.url}/api/tokens`, { headers: { authorization } })

/** The log-in form, posted by a browser from `address`. */
const login = (address: string, password: string) =>
  requestFrom(address, `${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    body: new URLSearchParams({ username: 'admin', password, next: '/' }).toString(),
  })

// As src/errors.ts words it: the client is told how long, in the unit a person would use.
const waitInWords = (seconds: number) => (seconds < 90 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`)

/** The throttle's answer: 429, Retry-After within one refill (the window over the bucket), and returns it. */
function assertThrottled(res: AddressedResponse, label: string): number {
  assert.equal(res.status, 429, `${label}: ${res.status} ${res.body}`)
  const wait = Number(res.headers['retry-after'])
  assert.ok(
    Number.isInteger(wait) && wait > 0 && wait <= WINDOW_SECONDS / MAX_FAILURES,
    `${label}: Retry-After ${wait}`,
  )
  return wait
}

before(async () => {
  server = await startTestServer({
    AUTH_MAX_FAILURES: String(MAX_FAILURES),
    AUTH_FAILURE_WINDOW_SECONDS: String(WINDOW_SECONDS),
  })
  token = (await newToken(server, server.basicAuth, 'throttle test')).token
})
after(async () => {
  await server?.stop()
})

test('wrong tokens and wrong passwords (Bearer, Basic, log-in form) from one address share one bucket; then the API answers 429 JSON and the log-in page 429, both with Retry-After and the wait', async () => {
  const attacker = '127.0.0.2'
  assert.equal((await api(attacker, 'Bearer sct_not-a-real-token')).status, 401)
  assert.equal((await api(attacker, basic('wrong-password'))).status, 401)
  assert.equal((await login(attacker, 'wrong-password')).status, 401)

  const refused = await api(attacker, 'Bearer sct_another-guess')
  const wait = assertThrottled(refused, 'API')
  assert.match(String(refused.headers['content-type']), /^application\/json/)
  const { error } = JSON.parse(refused.body.toString())
  assert.equal(error.code, 'too_many_attempts')
  assert.equal(error.message, `Too many wrong passwords or tokens from your address; try again in ${waitInWords(wait)}`)
  // A token that does not even look like one counts the same.
  assertThrottled(await api(attacker, 'Bearer garbage'), 'API, malformed token')
  assertThrottled(await api(attacker, basic('wrong-again')), 'API, Basic')

  const page = await login(attacker, 'wrong-again')
  const pageWait = assertThrottled(page, 'log-in page')
  assert.match(String(page.headers['content-type']), /^text\/html/)
  const html = page.body.toString()
  assert.ok(html.includes('Too many wrong passwords or tokens from your address'), html)
  assert.ok(html.includes(`try again in ${waitInWords(pageWait)}`), html)
  assert.match(html, /<form method="post" action="\/login"/, 'shown on the log-in form, to try again later')
})

test('throttled means throttled: AuthService takes an attempt before checking, so after the bucket is empty even the right token, the right Basic password and the right log-in are refused with 429; another address is served', async () => {
  const attacker = '127.0.0.3'
  for (let i = 0; i < MAX_FAILURES; i++) assert.equal((await api(attacker, `Bearer sct_guess-${i}`)).status, 401)
  assertThrottled(await api(attacker, `Bearer ${token}`), 'right token')
  assertThrottled(await api(attacker, server.basicAuth), 'right Basic password')
  assertThrottled(await login(attacker, ADMIN_PASSWORD), 'right log-in')

  const other = '127.0.0.4'
  assert.equal((await api(other, `Bearer ${token}`)).status, 200, 'the token works from another address')
  assert.equal((await api(other, server.basicAuth)).status, 200)
  const loggedIn = await login(other, ADMIN_PASSWORD)
  assert.equal(loggedIn.status, 303)
  assert.match(String(loggedIn.headers['set-cookie']), /seedcast_session=/)
  assert.equal((await api(other, 'Bearer sct_wrong')).status, 401, 'with a bucket of its own')
})

test('right tokens and passwords give their attempt back: many of them leave the bucket full, and exactly AUTH_MAX_FAILURES wrong ones empty it', async () => {
  const script = '127.0.0.5'
  for (let i = 0; i < 4 * MAX_FAILURES; i++) {
    assert.equal((await api(script, `Bearer ${token}`)).status, 200)
    assert.equal((await api(script, server.basicAuth)).status, 200)
  }
  assert.equal((await login(script, ADMIN_PASSWORD)).status, 303)
  for (let i = 0; i < MAX_FAILURES; i++) assert.equal((await api(script, basic(`wrong-${i}`))).status, 401)
  assertThrottled(await api(script, `Bearer ${token}`), 'after exactly AUTH_MAX_FAILURES wrong ones')
})
