// The users API (admins only): add, list, change role / disabled / password, remove (their videos
// stay, owned by the admin who removed them); the site always keeps one enabled admin; a disabled
// user is refused and logged out; ADMIN_PASSWORD keeps logging in `admin` after a restart.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { apiUpload, getJson } from '../helpers/http.ts'
import { addUser, basic } from '../helpers/accounts.ts'
import { PageSession } from '../helpers/pageSession.ts'

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

const call = (method: string, url: string, auth: string, body?: unknown) =>
  getJson(`${server.url}${url}`, {
    method,
    headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
const asAdmin = (method: string, url: string, body?: unknown) => call(method, url, server.basicAuth, body)

describe('POST /api/users', () => {
  test('201 {id, name, role, disabled}, and the new user can use the API', async () => {
    const res = await asAdmin('POST', '/api/users', { name: 'ed.itor-1', password: 'ed-password-1', role: 'uploader' })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.equal(typeof res.body.id, 'number')
    assert.equal(res.body.name, 'ed.itor-1')
    assert.equal(res.body.role, 'uploader')
    assert.equal(res.body.disabled, false)
    assert.equal(res.body.password, undefined)
    assert.equal(res.body.passwordHash, undefined)
    assert.equal(res.headers.get('location'), `/api/users/${res.body.id}`)
    const upload = await apiUpload(server, { title: 'by editor' }, { path: clip }, basic('ed.itor-1', 'ed-password-1'))
    assert.equal(upload.status, 201, JSON.stringify(upload.body))
    assert.deepEqual(upload.body.owner, { id: res.body.id, name: 'ed.itor-1' })
  })

  test('a taken name is 409 user_exists', async () => {
    await addUser(server, 'twice', 'uploader')
    const res = await asAdmin('POST', '/api/users', { name: 'twice', password: 'another-pass', role: 'admin' })
    assert.equal(res.status, 409)
    assert.equal(res.body.error.code, 'user_exists')
  })

  test('names do not differ by case: Mixed is kept as mixed, MIXED is taken, and logs in', async () => {
    const res = await asAdmin('POST', '/api/users', {
      name: 'Mixed.Case',
      password: 'mixed-password',
      role: 'uploader',
    })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.equal(res.body.name, 'mixed.case')
    const again = await asAdmin('POST', '/api/users', { name: 'MIXED.case', password: 'other-password', role: 'admin' })
    assert.equal(again.status, 409)
    assert.equal(again.body.error.code, 'user_exists')
    assert.equal((await call('GET', '/api/tokens', basic('MIXED.CASE', 'mixed-password'))).status, 200)
  })

  for (const [what, body, field] of [
    ['an empty name', { name: '', password: 'long-enough', role: 'uploader' }, /name/],
    ['a name with a space', { name: 'a b', password: 'long-enough', role: 'uploader' }, /name/],
    ['a name with a slash', { name: '../x', password: 'long-enough', role: 'uploader' }, /name/],
    ['a 65-character name', { name: 'a'.repeat(65), password: 'long-enough', role: 'uploader' }, /name/],
    ['a number for a name', { name: 7, password: 'long-enough', role: 'uploader' }, /name/],
    ['no name', { password: 'long-enough', role: 'uploader' }, /name/],
    ['a short password', { name: 'shorty', password: 'short', role: 'uploader' }, /password/],
    ['a huge password', { name: 'huge', password: 'x'.repeat(1025), role: 'uploader' }, /password/],
    ['no password', { name: 'nopass', role: 'uploader' }, /password/],
    ['an unknown role', { name: 'rooty', password: 'long-enough', role: 'root' }, /role/],
    ['no role', { name: 'norole', password: 'long-enough' }, /role/],
    ['an extra field', { name: 'extra', password: 'long-enough', role: 'uploader', disabled: true }, /disabled/],
  ] as const) {
    test(`${what} is 400 invalid_user naming the field`, async () => {
      const res = await asAdmin('POST', '/api/users', body)
      assert.equal(res.status, 400, JSON.stringify(res.body))
      assert.match(res.body.error.code, /^(invalid_user|bad_request)$/)
      assert.match(res.body.error.message, field)
    })
  }

  test('not JSON is 400, an uploader is 403, nobody is 401', async () => {
    const bad = await getJson(`${server.url}/api/users`, {
      method: 'POST',
      headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
      body: '{"name":',
    })
    assert.equal(bad.status, 400)
    const up = await addUser(server, 'plain-uploader', 'uploader')
    const body = { name: 'by-uploader', password: 'long-enough', role: 'admin' }
    assert.equal((await call('POST', '/api/users', up.basic, body)).status, 403)
    assert.equal((await call('GET', '/api/users', up.basic)).status, 403)
    assert.equal((await getJson(`${server.url}/api/users`)).status, 401)
    assert.equal(
      (await asAdmin('GET', '/api/users')).body.users.some((u: any) => u.name === 'by-uploader'),
      false,
    )
  })
})

describe('GET /api/users', () => {
  test('lists every user with id, name, role, disabled; no password hashes', async () => {
    const u = await addUser(server, 'listed', 'admin')
    const res = await asAdmin('GET', '/api/users')
    assert.equal(res.status, 200)
    const admin = res.body.users.find((x: any) => x.name === 'admin')
    assert.equal(admin.role, 'admin')
    const listed = res.body.users.find((x: any) => x.id === u.id)
    assert.equal(listed.name, 'listed')
    assert.equal(listed.role, 'admin')
    assert.equal(listed.disabled, false)
    assert.doesNotMatch(JSON.stringify(res.body), /password|scrypt|argon/i)
    assert.equal((await asAdmin('GET', `/api/users/${u.id}`)).body.name, 'listed')
    assert.equal((await asAdmin('GET', '/api/users/999999')).status, 404)
    assert.equal((await asAdmin('GET', '/api/users/abc')).status, 404)
  })
})

describe('PATCH /api/users/:id', () => {
  test('role: an uploader made admin can manage users, and back', async () => {
    const u = await addUser(server, 'promoted', 'uploader')
    assert.equal((await call('GET', '/api/users', u.basic)).status, 403)
    const res = await asAdmin('PATCH', `/api/users/${u.id}`, { role: 'admin' })
    assert.equal(res.status, 200)
    assert.equal(res.body.role, 'admin')
    assert.equal((await call('GET', '/api/users', u.basic)).status, 200)
    assert.equal((await asAdmin('PATCH', `/api/users/${u.id}`, { role: 'uploader' })).body.role, 'uploader')
    assert.equal((await call('GET', '/api/users', u.basic)).status, 403)
    assert.equal((await asAdmin('PATCH', `/api/users/${u.id}`, { role: 'god' })).status, 400)
  })

  test('disabled: Basic is 403 account_disabled, the login session ends; enabled again works', async () => {
    const u = await addUser(server, 'disabled-one', 'uploader')
    const cookie = await PageSession.logIn(server, u.name, u.password)
    assert.equal(await cookie.loggedIn(), true)
    const res = await asAdmin('PATCH', `/api/users/${u.id}`, { disabled: true })
    assert.equal(res.status, 200)
    assert.equal(res.body.disabled, true)
    const refused = await call('GET', '/api/tokens', u.basic)
    assert.equal(refused.status, 403)
    assert.equal(refused.body.error.code, 'account_disabled')
    const upload = await apiUpload(server, { title: 'x' }, { path: clip }, u.basic)
    assert.equal(upload.status, 403)
    assert.equal(await cookie.loggedIn(), false, 'the session ended')
    // Nor can it log in through the form.
    const form = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: u.name, password: u.password }).toString(),
    })
    assert.doesNotMatch(form.headers.get('set-cookie') ?? '', /seedcast_session=[^;]/)
    assert.equal((await asAdmin('PATCH', `/api/users/${u.id}`, { disabled: false })).body.disabled, false)
    assert.equal((await call('GET', '/api/tokens', u.basic)).status, 200)
    assert.equal(await cookie.loggedIn(), false, 'enabling again does not bring the old session back')
  })

  test('password: the old one stops working, the new one works, sessions end', async () => {
    const u = await addUser(server, 'new-pass', 'uploader')
    const cookie = await PageSession.logIn(server, u.name, u.password)
    const res = await asAdmin('PATCH', `/api/users/${u.id}`, { password: 'brand-new-pass' })
    assert.equal(res.status, 200)
    assert.equal(res.body.password, undefined)
    assert.equal((await call('GET', '/api/tokens', u.basic)).status, 401)
    assert.equal((await call('GET', '/api/tokens', basic(u.name, 'brand-new-pass'))).status, 200)
    assert.equal(await cookie.loggedIn(), false)
    assert.equal(await (await PageSession.logIn(server, u.name, 'brand-new-pass')).loggedIn(), true)
    assert.equal((await asAdmin('PATCH', `/api/users/${u.id}`, { password: 'short' })).status, 400)
  })

  test('an unknown user is 404, an empty change is 200 and changes nothing', async () => {
    assert.equal((await asAdmin('PATCH', '/api/users/999999', { disabled: true })).status, 404)
    const u = await addUser(server, 'unchanged', 'uploader')
    const res = await asAdmin('PATCH', `/api/users/${u.id}`, {})
    assert.equal(res.status, 200)
    assert.equal(res.body.role, 'uploader')
    assert.equal(res.body.disabled, false)
  })
})

describe('DELETE /api/users/:id', () => {
  test('204; the user is gone and their videos now belong to the admin who removed them', async () => {
    const boss = await addUser(server, 'remover', 'admin')
    const u = await addUser(server, 'leaving', 'uploader')
    const up = await apiUpload(server, { title: 'stays' }, { path: clip }, u.basic)
    assert.equal(up.status, 201)
    assert.deepEqual(up.body.owner, { id: u.id, name: 'leaving' })
    // Private, so only its owner and admins see it: it must stay so, under its new owner.
    assert.equal((await call('PATCH', `/api/videos/${up.body.id}`, u.basic, { published: false })).status, 200)
    const res = await call('DELETE', `/api/users/${u.id}`, boss.basic)
    assert.equal(res.status, 204)
    assert.equal((await asAdmin('GET', `/api/users/${u.id}`)).status, 404)
    assert.equal((await call('GET', '/api/tokens', u.basic)).status, 401)
    const v = await call('GET', `/api/videos/${up.body.id}`, boss.basic)
    assert.equal(v.status, 200)
    assert.deepEqual(v.body.owner, { id: boss.id, name: 'remover' })
    assert.equal(v.body.published, false)
    assert.equal((await getJson(`${server.url}/api/videos/${up.body.id}`)).status, 404, 'still private')
    assert.equal((await call('DELETE', `/api/users/${u.id}`, boss.basic)).status, 404)
  })
})

describe('the last enabled admin', () => {
  // A site of its own: the other tests' admins would count.
  let site: TestServer
  before(async () => {
    site = await startTestServer()
  })
  after(() => site?.stop())
  const as = (method: string, url: string, auth: string, body?: unknown) =>
    getJson(`${site.url}${url}`, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  const adminId = async () =>
    (await as('GET', '/api/users', site.basicAuth)).body.users.find((u: any) => u.name === 'admin').id as number

  test('the only admin cannot disable, demote or remove itself (409), and stays usable', async () => {
    const id = await adminId()
    for (const [method, body] of [
      ['PATCH', { disabled: true }],
      ['PATCH', { role: 'uploader' }],
      ['DELETE', undefined],
    ] as const) {
      const res = await as(method, `/api/users/${id}`, site.basicAuth, body)
      assert.equal(res.status, 409, `${method} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`)
      assert.match(res.body.error.code, /^(own_account|last_admin)$/)
    }
    assert.equal((await as('GET', '/api/users', site.basicAuth)).status, 200)
  })

  test('outside the API (the CLI asks with no acting admin) the last one is refused: 409 last_admin', async () => {
    const id = await adminId()
    for (const change of [{ disabled: true }, { role: 'uploader' as const }])
      await assert.rejects(site.services.accounts.updateUser(null, id, change), (err: any) => {
        assert.equal(err.code, 'last_admin')
        assert.equal(err.status, 409)
        return true
      })
    const u = await site.services.accounts.getUser(id)
    assert.equal(u.role, 'admin')
    assert.equal(u.disabled, false)
  })

  // Each checks that the other is not the last before acting: both checks must not pass at once.
  test('two admins disabling (or demoting, or removing) each other at once leave one enabled admin', async () => {
    const id = await adminId()
    const changes = [{ disabled: true }, { role: 'uploader' as const }, null]
    for (let round = 0; round < 12; round++) {
      const change = changes[round % changes.length]!
      const a = await addUser(site, `rival-a${round}`, 'admin')
      const b = await addUser(site, `rival-b${round}`, 'admin')
      await site.services.accounts.updateUser(null, id, { disabled: true })
      // Half the rounds through the API, half straight to the service (no password check
      // between them, the tightest race).
      const viaApi = round % 2 === 0
      const hit = (actor: typeof a, target: typeof a) =>
        viaApi
          ? (change
              ? as('PATCH', `/api/users/${target.id}`, actor.basic, change)
              : as('DELETE', `/api/users/${target.id}`, actor.basic)
            ).then((r) => r.status)
          : (change
              ? site.services.accounts.updateUser(actor.id, target.id, change)
              : site.services.accounts.removeUser(actor.id, target.id)
            ).then(
              () => (change ? 200 : 204),
              (err) => err.status as number,
            )
      const statuses = (await Promise.all([hit(a, b), hit(b, a)])).sort()
      const enabledAdmins = (await site.services.accounts.listUsers()).filter((u) => u.role === 'admin' && !u.disabled)
      const what = `round ${round} (${viaApi ? 'API' : 'service'}, ${JSON.stringify(change)}): ${statuses}`
      assert.equal(enabledAdmins.length, 1, what)
      assert.deepEqual(statuses, [change ? 200 : 204, 409], what)
      await site.services.accounts.updateUser(null, id, { disabled: false })
      for (const u of [a, b]) await site.services.accounts.removeUser(id, u.id).catch(() => {})
    }
  })
})

describe('ADMIN_PASSWORD', () => {
  test('still logs in `admin` after a restart, with users added and an admin password changed in between', async () => {
    let site = await startTestServer()
    try {
      const adminUser = (await getJson(`${site.url}/api/users`, { headers: { authorization: site.basicAuth } })).body
        .users[0]
      const ed = await addUser(site, 'restart-editor', 'admin')
      // Another admin changes admin's password: it works until the next start, which sets
      // ADMIN_PASSWORD again.
      const changed = await getJson(`${site.url}/api/users/${adminUser.id}`, {
        method: 'PATCH',
        headers: { authorization: ed.basic, 'content-type': 'application/json' },
        body: JSON.stringify({ password: 'changed-by-editor' }),
      })
      assert.equal(changed.status, 200)
      await site.stop({ keepStorage: true })
      site = await startTestServer({}, site.storageDir)
      const res = await getJson(`${site.url}/api/tokens`, {
        headers: { authorization: basic('admin', ADMIN_PASSWORD) },
      })
      assert.equal(res.status, 200)
      assert.equal(await (await PageSession.logIn(site, 'admin', ADMIN_PASSWORD)).loggedIn(), true)
      assert.equal(
        (await getJson(`${site.url}/api/tokens`, { headers: { authorization: ed.basic } })).status,
        200,
        'other users are kept',
      )
      const users = (await getJson(`${site.url}/api/users`, { headers: { authorization: site.basicAuth } })).body.users
      assert.equal(users.filter((u: any) => u.name === 'admin').length, 1, 'no second admin user')
    } finally {
      await site.stop()
    }
  })
})
