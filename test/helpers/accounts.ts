// Accounts for tests: users made through the API, a browser-like login (cookie + the CSRF token
// the pages embed), Basic headers and API tokens.
import assert from 'node:assert/strict'
import type { TestServer } from './server.ts'
import { getJson } from './http.ts'
import { PageSession } from './pageSession.ts'

export const basic = (name: string, password: string) =>
  `Basic ${Buffer.from(`${name}:${password}`).toString('base64')}`

export interface TestUser {
  id: number
  name: string
  password: string
  basic: string
}

/** Creates a user as the admin (POST /api/users). */
export async function addUser(server: TestServer, name: string, role: 'admin' | 'uploader'): Promise<TestUser> {
  const password = `pw-${name}-123456`
  const res = await getJson(`${server.url}/api/users`, {
    method: 'POST',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ name, password, role }),
  })
  assert.equal(res.status, 201, `POST /api/users ${name}: ${JSON.stringify(res.body)}`)
  return { id: res.body.id, name, password, basic: basic(name, password) }
}

/** Logs in through the form, as a browser does (the cookie, and the CSRF token the pages carry). */
export const login = (server: TestServer, name: string, password: string) => PageSession.logIn(server, name, password)

/** A new API token of the user (POST /api/tokens with their Basic credentials). */
export async function newToken(
  server: TestServer,
  auth: string,
  name = 'test',
): Promise<{ id: number; token: string }> {
  const res = await getJson(`${server.url}/api/tokens`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  })
  assert.equal(res.status, 201, `POST /api/tokens: ${JSON.stringify(res.body)}`)
  return { id: res.body.id, token: res.body.token }
}
