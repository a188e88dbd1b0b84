// A changed password ends the sessions the old one opened: someone who logged in with a leaked
// password stays logged in no longer once the admin changes it (ADMIN_PASSWORD at the next start,
// or AuthService.setPassword). Before, sessions lived on for their 14 days.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { sql } from '../helpers/database.ts'

async function logIn(server: TestServer, password = ADMIN_PASSWORD): Promise<string> {
  const res = await fetch(`${server.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `username=admin&password=${encodeURIComponent(password)}&next=%2F`,
  })
  assert.equal(res.status, 303, 'logged in')
  const cookie = /seedcast_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0]
  assert.ok(cookie)
  return cookie
}

/** Whether the cookie still opens a page that needs a login. */
async function loggedIn(server: TestServer, cookie: string): Promise<boolean> {
  const res = await fetch(`${server.url}/upload`, { headers: { cookie }, redirect: 'manual' })
  if (res.status === 200) return true
  assert.equal(res.status, 303)
  assert.match(res.headers.get('location') ?? '', /^\/login/)
  return false
}

test('a new ADMIN_PASSWORD at start ends every session of the admin', async () => {
  let server = await startTestServer()
  const cookie = await logIn(server)
  assert.equal(await loggedIn(server, cookie), true)
  await server.stop({ keepStorage: true })
  // Same password again: nothing changes, the session lives on.
  server = await startTestServer({}, server.storageDir)
  assert.equal(await loggedIn(server, cookie), true, 'an unchanged password keeps the session')
  await server.stop({ keepStorage: true })
  server = await startTestServer({ ADMIN_PASSWORD: 'a-brand-new-password' }, server.storageDir)
  try {
    assert.equal(await loggedIn(server, cookie), false, 'the old session is gone')
    assert.equal((await sql(server, 'SELECT COUNT(*) AS n FROM "Session"'))[0].n, 0)
    const fresh = await logIn(server, 'a-brand-new-password')
    assert.equal(await loggedIn(server, fresh), true)
  } finally {
    await server.stop()
  }
})

test('AuthService.setPassword ends every session of that user', async () => {
  const server = await startTestServer()
  try {
    const [a, b] = [await logIn(server), await logIn(server)]
    assert.equal(await loggedIn(server, a), true)
    assert.equal(await loggedIn(server, b), true)
    const admin = (await sql(server, `SELECT id FROM "User" WHERE username = 'admin'`))[0]
    await server.services.auth.setPassword(admin.id, 'another-good-password')
    assert.equal(await loggedIn(server, a), false)
    assert.equal(await loggedIn(server, b), false)
    const fresh = await logIn(server, 'another-good-password')
    assert.equal(await loggedIn(server, fresh), true)
  } finally {
    await server.stop()
  }
})
