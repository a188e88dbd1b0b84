// Accounts as a test drives them: users made through the API (as the admin), their Basic headers,
// log-ins through the form (a session cookie) and whether a cookie still opens a page.
import assert from 'node:assert/strict'
import type { TestServer } from './server.ts'
import { getJson } from './http.ts'

export const basic = (name: string, password: string) =>
  `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`

export interface TestUser {
  id: number
  name: string
  password: string
  /** Authorization header value (HTTP Basic). */
  auth: string
}

/** POST /api/users as the admin; asserts 201. */
export async function addUser(
  server: TestServer,
  name: string,
  role: 'admin' | 'uploader' = 'uploader',
  password = `${name}-password-1`,
): Promise<TestUser> {
  const res = await getJson(`${server.url}/api/users`, {
    method: 'POST',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ name, password, role }),
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return { id: res.body.id, name, password, auth: basic(name, password) }
}

/** Logs in through the form; returns the `seedcast_session=…` cookie. */
export async function logIn(server: TestServer, name: string, password: string): Promise<string> {
  const res = await fetch(`${server.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: name, password, next: '/' }).toString(),
  })
  assert.equal(res.status, 303, `${name} logged in`)
  const cookie = /seedcast_session=[^;]+/.exec(res.headers.get('set-cookie') ?? '')?.[0]
  assert.ok(cookie, 'a session cookie')
  return cookie
}

/** Whether the cookie still opens the upload page (which needs a login). */
export async function loggedIn(server: TestServer, cookie: string): Promise<boolean> {
  const res = await fetch(`${server.url}/upload`, { headers: { cookie }, redirect: 'manual' })
  if (res.status === 200) return true
  assert.equal(res.status, 303)
  assert.match(res.headers.get('location') ?? '', /^\/login/)
  return false
}
