// A forged cross-site form post is refused on every form, whatever the route: without the
// session's CSRF token (403), and with it but sent from another site as a browser would mark it
// (Origin, Sec-Fetch-Site: 403, the log-in form included). The routes come from the app itself,
// so a new form is covered as soon as it exists. Nothing the posts could change has changed.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, uploadOk, type VideoJson } from '../helpers/http.ts'
import { addUser, login, newToken, type TestUser } from '../helpers/accounts.ts'
import type { PageSession } from '../helpers/pageSession.ts'
import { listRoutes } from '../helpers/routes.ts'

let server: TestServer
let admin: PageSession
let uploader: TestUser
let video: VideoJson
let tokenId: number

const EVIL = 'http://evil.example'

/** A route's path with its parameters filled in with things that exist. */
function fill(route: string): string {
  return route
    .replace(/^\/videos\/:id/, `/videos/${video.id}`)
    .replace(/^\/admin\/users\/:id/, `/admin/users/${uploader.id}`)
    .replace(/^\/account\/tokens\/:id/, `/account/tokens/${tokenId}`)
    .replace(/^\/api\/videos\/:id/, `/api/videos/${video.id}`)
    .replace(/^\/api\/users\/:id/, `/api/users/${uploader.id}`)
    .replace(/^\/api\/tokens\/:id/, `/api/tokens/${tokenId}`)
}

// What any of the forms could change, read through the API.
async function snapshot(): Promise<string> {
  const auth = { authorization: server.basicAuth }
  const parts = await Promise.all(
    ['/api/settings', '/api/users', '/api/videos', '/api/tokens'].map(async (p) => {
      const res = await getJson(server.url + p, { headers: auth })
      return JSON.stringify(res.body, (k, v) =>
        k === 'updatedAt' || k === 'lastUsedAt' || k === 'offload' || k === 'swarm' ? undefined : v,
      )
    }),
  )
  return parts.join('\n')
}

const formPosts = () =>
  listRoutes(server.app)
    .filter((r) => r.startsWith('POST ') && !r.startsWith('POST /api/'))
    .map((r) => r.slice(5))

before(async () => {
  server = await startTestServer({ AUTH_MAX_FAILURES: '0' })
  const clip = await makeVideo({ seconds: 1 })
  video = await uploadOk(server, { title: 'Kept' }, { path: clip })
  uploader = await addUser(server, 'victim', 'uploader')
  tokenId = (await newToken(server, server.basicAuth)).id
  admin = await login(server, 'admin', (await import('../helpers/server.ts')).ADMIN_PASSWORD)
})

after(async () => {
  await server?.stop()
})

async function post(path: string, headers: Record<string, string>, form: Record<string, string>): Promise<Response> {
  const res = await fetch(server.url + path, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  })
  await res.arrayBuffer()
  return res
}

// Fields a forger would send to do harm on each kind of form.
const HARM = {
  title: 'Forged',
  description: 'forged',
  published: '0',
  name: 'forger',
  password: 'forged-password',
  role: 'admin',
  confirm: 'on',
  username: 'admin',
  bittorrentEnabled: '',
}

test('every form post without the CSRF token is refused (403), the admin logged in', async () => {
  const before = await snapshot()
  const routes = formPosts()
  assert.ok(routes.includes('/upload') && routes.includes('/admin/settings'), `forms found: ${routes.join(', ')}`)
  const wrong: string[] = []
  for (const route of routes.filter((r) => r !== '/login')) {
    for (const token of [undefined, 'not-the-token']) {
      const res = await post(fill(route), { cookie: admin.cookie }, { ...HARM, ...(token ? { _csrf: token } : {}) })
      if (res.status !== 403) wrong.push(`${route} with ${token ?? 'no token'}: ${res.status}`)
    }
  }
  assert.deepEqual(wrong, [])
  assert.equal(await snapshot(), before, 'nothing changed')
})

test('every form post from another site is refused (403), even with the token and for the log-in form', async () => {
  const before = await snapshot()
  const wrong: string[] = []
  for (const route of formPosts()) {
    const forged: Record<string, string>[] = [{ origin: EVIL }, { 'sec-fetch-site': 'cross-site' }, { origin: 'null' }]
    for (const headers of forged) {
      const res = await post(fill(route), { cookie: admin.cookie, ...headers }, { ...HARM, _csrf: admin.csrf })
      if (res.status !== 403) wrong.push(`${route} ${JSON.stringify(headers)}: ${res.status}`)
    }
  }
  assert.deepEqual(wrong, [])
  assert.equal(await snapshot(), before, 'nothing changed')
  // The same forms from the site itself still work: the log-in form logs in.
  const ok = await post(
    '/login',
    { origin: server.url, 'sec-fetch-site': 'same-origin' },
    { username: 'admin', password: (await import('../helpers/server.ts')).ADMIN_PASSWORD },
  )
  assert.equal(ok.status, 303)
})

test('state-changing API requests from another site are refused, even with credentials a browser may have cached', async () => {
  const before = await snapshot()
  const wrong: string[] = []
  const unsafe = listRoutes(server.app).filter((r) => /^(POST|PUT|PATCH|DELETE) \/api\//.test(r))
  assert.ok(unsafe.length >= 8, unsafe.join(', '))
  for (const r of unsafe) {
    const [method, route] = r.split(' ') as [string, string]
    const res = await fetch(server.url + fill(route), {
      method,
      headers: { authorization: server.basicAuth, origin: EVIL, 'content-type': 'application/json' },
      body: JSON.stringify({ title: 'Forged', name: 'forger', password: 'forged-password', role: 'admin' }),
    })
    await res.arrayBuffer()
    if (res.status !== 403) wrong.push(`${r}: ${res.status}`)
  }
  assert.deepEqual(wrong, [])
  assert.equal(await snapshot(), before, 'nothing changed')
})
