// Who may use which route: every route of the app (pages, API, files), tried as anonymous, a
// video's owner (an uploader), another uploader, an admin and a disabled user, against the status
// expected for each. The table is checked against the app's own route list, so a route added
// without an entry here fails this test. API routes are tried with Basic and with tokens; then
// with the credentials crossed (a cookie on the API, Basic on the pages), which must count for
// nothing.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo, uploadForm } from '../helpers/media.ts'
import { announceQuery, bdecode, getJson, waitFor, type VideoJson } from '../helpers/http.ts'
import { addUser, login, newToken, type TestUser } from '../helpers/accounts.ts'
import type { PageSession } from '../helpers/pageSession.ts'
import { listRoutes } from '../helpers/routes.ts'

const PERSONAS = ['anonymous', 'owner', 'other', 'admin', 'disabled'] as const
type Persona = (typeof PERSONAS)[number]
/** A status; 'login': a 303 to the log-in form; 'tracked'/'refused': a tracker's answer. */
type Expect = number | 'login' | 'tracked' | 'refused'
type Expected = Record<Persona, Expect>

interface Req {
  method: string
  path: string
  json?: unknown
  form?: Record<string, string>
  multipart?: FormData
  /** A tus request: these headers (the page's also get the CSRF token as X-CSRF-Token), and a raw body. */
  tus?: { headers: Record<string, string>; body?: Buffer }
}
interface Case {
  name: string
  make: (p: Persona) => Promise<Req> | Req
  expect: Expected
}

let server: TestServer
let clip: string
const users = {} as Record<Exclude<Persona, 'anonymous'>, TestUser>
const sessions = {} as Record<Exclude<Persona, 'anonymous'>, PageSession>
const tokens = {} as Record<Exclude<Persona, 'anonymous'>, string>
let published: VideoJson
let hidden: VideoJson

const all = (status: Expect): Expected => ({
  anonymous: status,
  owner: status,
  other: status,
  admin: status,
  disabled: status,
})
/** Pages: the disabled user's session ended when they were disabled, so they are anonymous there. */
const page = (anonymous: Expect, owner: Expect, other: Expect, admin: Expect): Expected => ({
  anonymous,
  owner,
  other,
  admin,
  disabled: anonymous,
})
/** API: a disabled user's credentials are refused (403) wherever they are sent. */
const api = (anonymous: Expect, owner: Expect, other: Expect, admin: Expect): Expected => ({
  anonymous,
  owner,
  other,
  admin,
  disabled: 403,
})
const adminPage = (ok: Expect) => page('login', 403, 403, ok)
const adminApi = (ok: Expect) => api(401, 403, 403, ok)
const signedInApi = (ok: Expect) => api(401, ok, ok, ok)

const get = (path: string): Req => ({ method: 'GET', path })
const fileName = (v: VideoJson) => new URL(v.fileUrl).pathname.split('/').pop()!
let freshCount = 0
const freshUser = async () => addUser(server, `fresh${++freshCount}`, 'uploader')

/** A new video of the owner's. */
async function ownerUpload(): Promise<VideoJson> {
  const res = await getJson(`${server.url}/api/videos`, {
    method: 'POST',
    headers: { authorization: users.owner.basic },
    body: await uploadForm({ title: 'fresh' }, { path: clip }),
  })
  assert.equal(res.status, 201)
  return res.body
}

/** A release's extra file, as the multipart field "files". */
function extraForm(name = 'subs.srt'): FormData {
  const form = new FormData()
  form.append('files', new Blob(['1\n00:00:00,000 --> 00:00:01,000\nHi\n']), name)
  return form
}

/** Adds subs.srt to a video as its owner: the video as it is then (a new torrent, the old one retired). */
async function addSubtitle(v: VideoJson): Promise<VideoJson> {
  const res = await getJson(`${server.url}/api/videos/${v.id}/files`, {
    method: 'POST',
    headers: { authorization: users.owner.basic },
    body: extraForm(),
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return res.body
}
const folderOf = (v: VideoJson) => fileName(v).replace(/\.[^.]*$/, '')

/** A new unfinished resumable upload of the owner's: its path under `base` (/api/uploads or /uploads). */
async function ownerTusUpload(base: string): Promise<string> {
  const res = await fetch(`${server.url}/api/uploads`, {
    method: 'POST',
    headers: { authorization: users.owner.basic, 'tus-resumable': '1.0.0', 'upload-length': '100000' },
  })
  assert.equal(res.status, 201)
  return `${base}/${res.headers.get('location')!.split('/').pop()}`
}
const tusHeaders = (extra: Record<string, string> = {}) => ({ 'tus-resumable': '1.0.0', ...extra })
/** The resumable-upload routes under `base`; `who` is page() or api() for its statuses. */
const tusCases = (base: string, who: typeof page, anonymous: Expect): Record<string, Case[]> => ({
  [`OPTIONS ${base}`]: [
    {
      name: 'discovery',
      make: () => ({ method: 'OPTIONS', path: base, tus: { headers: {} } }),
      expect: who(204, 204, 204, 204),
    },
  ],
  [`POST ${base}`]: [
    {
      name: 'create',
      make: () => ({ method: 'POST', path: base, tus: { headers: tusHeaders({ 'upload-length': '100000' }) } }),
      expect: who(anonymous, 201, 201, 201),
    },
  ],
  [`HEAD ${base}/:id`]: [
    {
      name: "the owner's upload",
      make: async () => ({ method: 'HEAD', path: await ownerTusUpload(base), tus: { headers: tusHeaders() } }),
      expect: who(anonymous, 200, 404, 404),
    },
  ],
  [`PATCH ${base}/:id`]: [
    {
      name: "the owner's upload",
      make: async () => ({
        method: 'PATCH',
        path: await ownerTusUpload(base),
        tus: {
          headers: tusHeaders({ 'upload-offset': '0', 'content-type': 'application/offset+octet-stream' }),
          body: clipHead,
        },
      }),
      expect: who(anonymous, 204, 404, 404),
    },
  ],
  [`DELETE ${base}/:id`]: [
    {
      name: "the owner's upload",
      make: async () => ({ method: 'DELETE', path: await ownerTusUpload(base), tus: { headers: tusHeaders() } }),
      expect: who(anonymous, 204, 404, 404),
    },
  ],
})
let clipHead: Buffer

const videoCases = (path: (v: VideoJson) => string, pub: Expected, priv: Expected): Case[] => [
  { name: 'published video', make: () => get(path(published)), expect: pub },
  { name: 'private video', make: () => get(path(hidden)), expect: priv },
]

const MATRIX: Record<string, Case[]> = {
  // ---- public pages and files
  'GET /': [{ name: 'home', make: () => get('/'), expect: all(200) }],
  'GET /login': [{ name: 'form', make: () => get('/login'), expect: all(200) }],
  'GET /healthz': [{ name: 'health', make: () => get('/healthz'), expect: all(200) }],
  'GET /metrics': [{ name: 'metrics', make: () => get('/metrics'), expect: all(200) }],
  // The player's WebTorrent build and its service worker (src/web/vendorAssets.ts).
  'GET /static/vendor/webtorrent.min.js': [
    { name: 'client', make: () => get('/static/vendor/webtorrent.min.js'), expect: all(200) },
  ],
  'GET /static/vendor/webtorrent-sw.js': [
    { name: 'worker', make: () => get('/static/vendor/webtorrent-sw.js'), expect: all(200) },
  ],
  'GET /static/vendor/tus.min.js': [
    { name: "the upload page's tus client", make: () => get('/static/vendor/tus.min.js'), expect: all(200) },
  ],
  'GET /videos/:id': videoCases((v) => `/videos/${v.id}`, all(200), page(404, 200, 404, 200)),
  'GET /videos/:id/swarm.svg': videoCases((v) => `/videos/${v.id}/swarm.svg`, all(200), page(404, 200, 404, 200)),
  'GET /videos/:id/torrent': videoCases((v) => `/videos/${v.id}/torrent`, all(200), page(404, 200, 404, 200)),
  // The poster frame follows its file (before() waits until both have one).
  'GET /videos/:id/thumbnail': videoCases((v) => `/videos/${v.id}/thumbnail`, all(200), page(404, 200, 404, 200)),
  'GET /media/:fileName': videoCases((v) => `/media/${fileName(v)}`, all(200), page(404, 200, 404, 200)),
  // The web seed serves BitTorrent clients, never a private video (its torrent is not seeded either).
  'GET /seed/:fileName': videoCases((v) => `/seed/${fileName(v)}`, all(200), all(404)),
  // A release's extra files (before() gave both videos subs.srt), and the web seed's pad files.
  'GET /media/:folder/:name': videoCases((v) => `/media/${folderOf(v)}/subs.srt`, all(200), page(404, 200, 404, 200)),
  'GET /seed/:folder/:name': videoCases((v) => `/seed/${folderOf(v)}/subs.srt`, all(200), all(404)),
  'GET /seed/:folder/.pad/:length': videoCases((v) => `/seed/${folderOf(v)}/.pad/100`, all(200), all(404)),
  // Feeds and sharing list and show published videos only, to everyone alike.
  'GET /feed.rss': [{ name: 'feed', make: () => get('/feed.rss'), expect: all(200) }],
  'GET /feed.atom': [{ name: 'feed', make: () => get('/feed.atom'), expect: all(200) }],
  'GET /oembed': videoCases((v) => `/oembed?url=${encodeURIComponent(v.pageUrl)}`, all(200), all(404)),
  'GET /videos/:id/embed': videoCases((v) => `/videos/${v.id}/embed`, all(200), page(404, 200, 404, 200)),
  // ---- logging in and out
  'POST /login': [
    {
      name: 'own credentials',
      make: (p) => ({
        method: 'POST',
        path: '/login',
        form: p === 'anonymous' ? { username: 'nobody', password: 'wrong-password' } : loginForm(p),
      }),
      expect: { anonymous: 401, owner: 303, other: 303, admin: 303, disabled: 403 },
    },
  ],
  'POST /logout': [
    { name: 'logout', make: () => ({ method: 'POST', path: '/logout', form: {} }), expect: page(403, 303, 303, 303) },
  ],
  // ---- uploading
  'GET /upload': [{ name: 'form', make: () => get('/upload'), expect: page('login', 200, 200, 200) }],
  'POST /upload': [
    {
      name: 'a clip',
      make: async () => ({
        method: 'POST',
        path: '/upload',
        multipart: await uploadForm({ title: 'form' }, { path: clip }),
      }),
      expect: page('login', 303, 303, 303),
    },
  ],
  // Resumable uploads: the API's (Authorization) and the upload page's (session and CSRF header);
  // an unfinished upload is only its creator's, admins included.
  ...tusCases('/api/uploads', api, 401),
  ...tusCases('/uploads', page, 401),
  'POST /api/videos': [
    {
      name: 'a clip',
      make: async () => ({
        method: 'POST',
        path: '/api/videos',
        multipart: await uploadForm({ title: 'api' }, { path: clip }),
      }),
      expect: signedInApi(201),
    },
  ],
  // ---- the video API
  'GET /api/videos': [{ name: 'list', make: () => get('/api/videos'), expect: api(200, 200, 200, 200) }],
  'GET /api/videos/:id': videoCases((v) => `/api/videos/${v.id}`, api(200, 200, 200, 200), api(404, 200, 404, 200)),
  'GET /api/videos/:id/swarm': videoCases(
    (v) => `/api/videos/${v.id}/swarm`,
    api(200, 200, 200, 200),
    api(404, 200, 404, 200),
  ),
  'GET /api/videos/:id/swarm/history': videoCases(
    (v) => `/api/videos/${v.id}/swarm/history`,
    api(200, 200, 200, 200),
    api(404, 200, 404, 200),
  ),
  'PATCH /api/videos/:id': [
    {
      name: 'published video',
      make: () => ({ method: 'PATCH', path: `/api/videos/${published.id}`, json: { title: 'Published clip' } }),
      expect: api(401, 200, 403, 200),
    },
    {
      name: 'private video',
      make: () => ({ method: 'PATCH', path: `/api/videos/${hidden.id}`, json: { description: 'still private' } }),
      expect: api(401, 200, 404, 200),
    },
  ],
  'DELETE /api/videos/:id': [
    {
      name: "the owner's video",
      make: async () => ({ method: 'DELETE', path: `/api/videos/${(await ownerUpload()).id}` }),
      expect: api(401, 204, 403, 204),
    },
  ],
  // ---- a release's files: its owner's and the admins'; stopping an old torrent's seeding is the admins'
  'POST /api/videos/:id/files': [
    {
      name: "the owner's video",
      make: async () => ({
        method: 'POST',
        path: `/api/videos/${(await ownerUpload()).id}/files`,
        multipart: extraForm(),
      }),
      expect: api(401, 201, 403, 201),
    },
  ],
  'DELETE /api/videos/:id/files/:name': [
    {
      name: "the owner's extra file",
      make: async () => ({
        method: 'DELETE',
        path: `/api/videos/${(await addSubtitle(await ownerUpload())).id}/files/subs.srt`,
      }),
      expect: api(401, 200, 403, 200),
    },
  ],
  'DELETE /api/videos/:id/torrents/:infoHash': [
    {
      name: "the owner's previous torrent",
      make: async () => {
        const v = await addSubtitle(await ownerUpload())
        return { method: 'DELETE', path: `/api/videos/${v.id}/torrents/${v.previousTorrents[0]!.infoHash}` }
      },
      expect: api(401, 403, 403, 204),
    },
  ],
  'POST /videos/:id/files': [
    {
      name: "the owner's video",
      make: async () => ({ method: 'POST', path: `/videos/${(await ownerUpload()).id}/files`, multipart: extraForm() }),
      expect: page('login', 303, 403, 303),
    },
  ],
  'POST /videos/:id/files/:name/remove': [
    {
      name: "the owner's extra file",
      make: async () => ({
        method: 'POST',
        path: `/videos/${(await addSubtitle(await ownerUpload())).id}/files/subs.srt/remove`,
        form: {},
      }),
      expect: page('login', 303, 403, 303),
    },
  ],
  'POST /videos/:id/torrents/:infoHash/remove': [
    {
      name: "the owner's previous torrent",
      make: async () => {
        const v = await addSubtitle(await ownerUpload())
        return { method: 'POST', path: `/videos/${v.id}/torrents/${v.previousTorrents[0]!.infoHash}/remove`, form: {} }
      },
      expect: page('login', 403, 403, 303),
    },
  ],
  // ---- the admin's
  'GET /admin/settings': [{ name: 'page', make: () => get('/admin/settings'), expect: adminPage(200) }],
  'GET /admin/settings/progress': [
    { name: 'json', make: () => get('/admin/settings/progress'), expect: adminPage(200) },
  ],
  'POST /admin/settings': [
    {
      name: 'unchanged settings',
      make: () => ({
        method: 'POST',
        path: '/admin/settings',
        form: {
          bittorrentEnabled: 'on',
          siteTracker: 'on',
          webSeedEnabled: 'on',
          seederUploadCap: '0',
          webSeedUploadCap: '0',
        },
      }),
      expect: adminPage(303),
    },
  ],
  'GET /admin/offload': [{ name: 'page', make: () => get('/admin/offload'), expect: adminPage(200) }],
  'GET /api/settings': [{ name: 'read', make: () => get('/api/settings'), expect: adminApi(200) }],
  'PUT /api/settings': [
    { name: 'no change', make: () => ({ method: 'PUT', path: '/api/settings', json: {} }), expect: adminApi(200) },
  ],
  'GET /api/settings/audit': [{ name: 'read', make: () => get('/api/settings/audit'), expect: adminApi(200) }],
  'GET /api/offload': [{ name: 'read', make: () => get('/api/offload'), expect: adminApi(200) }],
  'GET /api/users': [{ name: 'list', make: () => get('/api/users'), expect: adminApi(200) }],
  'GET /api/users/:id': [
    { name: 'another user', make: () => get(`/api/users/${users.other.id}`), expect: adminApi(200) },
  ],
  'POST /api/users': [
    {
      name: 'a new uploader',
      make: () => ({
        method: 'POST',
        path: '/api/users',
        json: { name: `new${++freshCount}`, password: 'a-long-password', role: 'uploader' },
      }),
      expect: adminApi(201),
    },
  ],
  'PATCH /api/users/:id': [
    {
      name: 'make an uploader an admin',
      make: async () => ({ method: 'PATCH', path: `/api/users/${(await freshUser()).id}`, json: { role: 'admin' } }),
      expect: adminApi(200),
    },
  ],
  'DELETE /api/users/:id': [
    {
      name: 'remove an uploader',
      make: async () => ({ method: 'DELETE', path: `/api/users/${(await freshUser()).id}` }),
      expect: adminApi(204),
    },
  ],
  'GET /admin/users': [{ name: 'page', make: () => get('/admin/users'), expect: adminPage(200) }],
  'POST /admin/users': [
    {
      name: 'add an uploader',
      make: () => ({
        method: 'POST',
        path: '/admin/users',
        form: { name: `page${++freshCount}`, password: 'a-long-password', role: 'uploader' },
      }),
      expect: adminPage(303),
    },
  ],
  ...Object.fromEntries(
    (
      [
        ['role', { role: 'admin' }],
        ['disable', {}],
        ['enable', {}],
        ['password', { password: 'another-long-password' }],
        ['remove', {}],
      ] as const
    ).map(([action, form]) => [
      `POST /admin/users/:id/${action}`,
      [
        {
          name: `${action} of an uploader`,
          make: async () => ({ method: 'POST', path: `/admin/users/${(await freshUser()).id}/${action}`, form }),
          expect: adminPage(303),
        },
      ],
    ]),
  ),
  'GET /admin/users/:id/remove': [
    {
      name: 'confirmation',
      make: async () => get(`/admin/users/${(await freshUser()).id}/remove`),
      expect: adminPage(200),
    },
  ],
  // ---- managing videos on the pages
  'GET /videos/:id/edit': videoCases(
    (v) => `/videos/${v.id}/edit`,
    page('login', 200, 403, 200),
    page('login', 200, 404, 200),
  ),
  'POST /videos/:id/edit': [
    {
      name: 'published video',
      make: () => ({
        method: 'POST',
        path: `/videos/${published.id}/edit`,
        form: { title: 'Published clip', description: '' },
      }),
      expect: page('login', 303, 403, 303),
    },
    {
      name: 'private video',
      make: () => ({
        method: 'POST',
        path: `/videos/${hidden.id}/edit`,
        form: { title: 'Private clip', description: '' },
      }),
      expect: page('login', 303, 404, 303),
    },
  ],
  'POST /videos/:id/publish': [
    {
      name: "the owner's private video",
      make: async () => {
        const v = await ownerUpload()
        await setPublished(v, false)
        return { method: 'POST', path: `/videos/${v.id}/publish`, form: {} }
      },
      expect: page('login', 303, 404, 303),
    },
  ],
  'POST /videos/:id/unpublish': [
    {
      name: "the owner's video",
      make: async () => ({ method: 'POST', path: `/videos/${(await ownerUpload()).id}/unpublish`, form: {} }),
      expect: page('login', 303, 403, 303),
    },
  ],
  'GET /videos/:id/delete': videoCases(
    (v) => `/videos/${v.id}/delete`,
    page('login', 200, 403, 200),
    page('login', 200, 404, 200),
  ),
  'POST /videos/:id/delete': [
    {
      name: "the owner's video",
      make: async () => ({ method: 'POST', path: `/videos/${(await ownerUpload()).id}/delete`, form: {} }),
      expect: page('login', 303, 403, 303),
    },
  ],
  // ---- one's own account
  'GET /account': [{ name: 'page', make: () => get('/account'), expect: page('login', 200, 200, 200) }],
  'POST /account/password': [
    {
      name: 'the same password again',
      make: (p) => {
        const pw = users[p === 'anonymous' || p === 'disabled' ? 'owner' : p].password
        return { method: 'POST', path: '/account/password', form: { current: pw, password: pw, repeat: pw } }
      },
      expect: page('login', 303, 303, 303),
    },
  ],
  'POST /account/tokens': [
    {
      name: 'new',
      make: () => ({ method: 'POST', path: '/account/tokens', form: { name: 'page' } }),
      expect: page('login', 201, 201, 201),
    },
  ],
  'POST /account/tokens/:id/revoke': [
    {
      name: 'own token',
      make: async (p) => {
        const owner = p === 'anonymous' || p === 'disabled' ? 'owner' : p
        return {
          method: 'POST',
          path: `/account/tokens/${(await newToken(server, users[owner].basic)).id}/revoke`,
          form: {},
        }
      },
      expect: page('login', 303, 303, 303),
    },
  ],
  // ---- everyone's own tokens
  'GET /api/tokens': [{ name: 'own', make: () => get('/api/tokens'), expect: signedInApi(200) }],
  'POST /api/tokens': [
    {
      name: 'new',
      make: () => ({ method: 'POST', path: '/api/tokens', json: { name: 'ci' } }),
      expect: signedInApi(201),
    },
  ],
  'DELETE /api/tokens/:id': [
    {
      name: 'own token',
      make: async (p) => {
        const owner = p === 'anonymous' || p === 'disabled' ? 'owner' : p
        return { method: 'DELETE', path: `/api/tokens/${(await newToken(server, users[owner].basic)).id}` }
      },
      expect: signedInApi(204),
    },
  ],
}

// Answered before Express (src/server.ts): the tracker knows no one, and tracks no private video.
const OUTSIDE_EXPRESS: Record<string, Case[]> = {
  'GET /announce': [
    {
      name: 'published video',
      make: () => get(`/announce?${announceQuery(infoHash(published))}`),
      expect: all('tracked'),
    },
    { name: 'private video', make: () => get(`/announce?${announceQuery(infoHash(hidden))}`), expect: all('refused') },
  ],
}

function infoHash(v: VideoJson): string {
  // A private video's torrent is not in its API object for everyone, but the test made it.
  const hash = infoHashes.get(v.id)
  assert.ok(hash, `infohash of ${v.id}`)
  return hash
}
const infoHashes = new Map<string, string>()

async function setPublished(v: VideoJson, published: boolean): Promise<void> {
  const res = await getJson(`${server.url}/api/videos/${v.id}`, {
    method: 'PATCH',
    headers: { authorization: users.owner.basic, 'content-type': 'application/json' },
    body: JSON.stringify({ published }),
  })
  assert.equal(res.status, 200)
}

function loginForm(p: Exclude<Persona, 'anonymous'>): Record<string, string> {
  return { username: users[p].name, password: users[p].password, next: '/' }
}

type Credentials = 'normal' | 'token' | 'crossed'

async function send(r: Req, p: Persona, how: Credentials): Promise<Response> {
  const isApi = r.path.startsWith('/api/')
  const isFile = /^\/(media|seed)\/|^\/videos\/[^/]+\/(torrent|thumbnail)$/.test(r.path)
  const headers: Record<string, string> = {}
  let path = r.path
  let body: BodyInit | undefined
  if (p !== 'anonymous') {
    // Pages and files get the login cookie; the API gets Basic or a token. Crossed: the other way round.
    const cookieKind = isApi ? how === 'crossed' : how !== 'crossed' || isFile
    if (cookieKind) headers.cookie = sessions[p].cookie
    else headers.authorization = how === 'token' ? `Bearer ${tokens[p]}` : users[p].basic
  }
  const csrf = p !== 'anonymous' && headers.cookie && r.path !== '/login' ? sessions[p].csrf : undefined
  if (r.json !== undefined) {
    headers['content-type'] = 'application/json'
    body = JSON.stringify(r.json)
  } else if (r.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded'
    body = new URLSearchParams({ ...r.form, ...(csrf ? { _csrf: csrf } : {}) }).toString()
  } else if (r.multipart) {
    body = r.multipart
    if (csrf) path += `?_csrf=${encodeURIComponent(csrf)}`
  } else if (r.tus) {
    Object.assign(headers, r.tus.headers)
    if (csrf) headers['x-csrf-token'] = csrf
    body = r.tus.body && new Uint8Array(r.tus.body)
  }
  return fetch(server.url + path, { method: r.method, headers, body, redirect: 'manual' })
}

async function outcome(r: Req, res: Response): Promise<Expect> {
  const body = new Uint8Array(await res.arrayBuffer())
  if (r.path.startsWith('/announce')) return bdecode(body)['failure reason'] ? 'refused' : 'tracked'
  return res.status === 303 && (res.headers.get('location') ?? '').startsWith('/login') ? 'login' : res.status
}

before(async () => {
  // Each resumable-upload case makes an unfinished upload of the owner's.
  server = await startTestServer({ AUTH_MAX_FAILURES: '0', TUS_MAX_UNFINISHED_PER_USER: '1000' })
  clip = await makeVideo({ seconds: 1 })
  clipHead = (await readFile(clip)).subarray(0, 1000)
  users.admin = { id: 1, name: 'admin', password: '', basic: server.basicAuth }
  users.admin.password = (await import('../helpers/server.ts')).ADMIN_PASSWORD
  users.owner = await addUser(server, 'owner', 'uploader')
  users.other = await addUser(server, 'other', 'uploader')
  users.disabled = await addUser(server, 'disabled', 'uploader')
  for (const p of ['admin', 'owner', 'other', 'disabled'] as const) {
    sessions[p] = await login(server, users[p].name, users[p].password)
    tokens[p] = (await newToken(server, users[p].basic)).token
  }
  const off = await getJson(`${server.url}/api/users/${users.disabled.id}`, {
    method: 'PATCH',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ disabled: true }),
  })
  assert.equal(off.status, 200)
  published = await addSubtitle(await ownerUpload())
  hidden = await addSubtitle(await ownerUpload())
  for (const v of [published, hidden]) infoHashes.set(v.id, v.torrent!.infoHash)
  for (const v of [published, hidden])
    await waitFor(async () => {
      const res = await getJson(`${server.url}/api/videos/${v.id}`, { headers: { authorization: users.owner.basic } })
      return res.body.thumbnailUrl
    }, `the thumbnail of ${v.id}`)
  await setPublished(hidden, false)
})

after(async () => {
  await server?.stop()
})

test('every route of the app has an entry in the matrix, and every entry is a route', () => {
  const routes = listRoutes(server.app)
  assert.deepEqual(
    routes.filter((r) => !(r in MATRIX)),
    [],
    'routes without an entry: add them to MATRIX',
  )
  assert.deepEqual(
    Object.keys(MATRIX).filter((r) => !routes.includes(r)),
    [],
    'entries for routes the app does not have',
  )
})

describe('the role matrix', () => {
  const table = { ...MATRIX, ...OUTSIDE_EXPRESS }
  for (const [route, cases] of Object.entries(table)) {
    for (const c of cases) {
      test(`${route} (${c.name})`, async () => {
        const passes: Credentials[] = route.includes(' /api/') ? ['normal', 'token', 'crossed'] : ['normal', 'crossed']
        const wrong: string[] = []
        for (const how of passes) {
          // Files take either credential, so crossing them changes nothing to test.
          if (how === 'crossed' && /\/(media|seed)\/|\/(torrent|thumbnail)$/.test(route)) continue
          for (const p of PERSONAS) {
            // Logging out ends the session: each try gets its own.
            if (route === 'POST /logout' && p !== 'anonymous' && p !== 'disabled')
              sessions[p] = await login(server, users[p].name, users[p].password)
            // Crossed credentials count for nothing: the route answers as it does to anonymous.
            const want = how === 'crossed' && p !== 'anonymous' ? crossedExpect(route, c, p) : c.expect[p]
            const r = await c.make(p)
            const got = await outcome(r, await send(r, p, how))
            if (got !== want) wrong.push(`${how} ${p}: got ${got}, want ${want}`)
          }
        }
        assert.deepEqual(wrong, [], `${route} (${c.name})`)
      })
    }
  }
})

/** What a crossed request gets: anonymous's answer, except that Basic on POST /login is just ignored. */
function crossedExpect(route: string, c: Case, p: Persona): Expect {
  if (route === 'POST /login') return c.expect[p]
  return c.expect.anonymous
}
