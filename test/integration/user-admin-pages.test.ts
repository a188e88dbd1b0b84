// The admins' users page: the list, adding users, changing roles, disabling and enabling,
// resetting passwords and removing users (after a confirmation page; their videos become the
// admin's). AccountService's refusals appear beside the form they came from, with their status.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { apiUpload, getVideo } from '../helpers/http.ts'
import { makeVideo } from '../helpers/media.ts'
import { PageSession, basicOf, postLogin } from '../helpers/pageSession.ts'

let server: TestServer
let admin: PageSession
let clip: string
before(async () => {
  server = await startTestServer()
  admin = await PageSession.logIn(server, 'admin', ADMIN_PASSWORD)
  clip = await makeVideo({ seconds: 1 })
})
after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

const userId = async (name: string) => (await server.services.accounts.findUserByName(name))!.id

/** The table row of user `name`, as HTML. */
function row(page: string, name: string): string {
  const m = new RegExp(`<tr data-user="${name}"[^>]*>([\\s\\S]*?)</tr>`).exec(page)
  assert.ok(m, `a row for ${name}`)
  return m[1]!
}

describe('who may see it', () => {
  test('anonymous goes to the log-in form; an uploader is refused (403), for the page and its posts', async () => {
    const anon = await fetch(`${server.url}/admin/users`, { redirect: 'manual' })
    assert.equal(anon.status, 303)
    assert.equal(anon.headers.get('location'), '/login?next=%2Fadmin%2Fusers')
    await server.services.accounts.createUser('upton', 'upton-password', 'uploader')
    const uploader = await PageSession.logIn(server, 'upton', 'upton-password')
    assert.equal((await uploader.get('/admin/users')).status, 403)
    const add = await uploader.post('/admin/users', { name: 'sneaky', password: 'sneaky-password', role: 'admin' })
    assert.equal(add.status, 403)
    assert.equal(await server.services.accounts.findUserByName('sneaky'), null)
    assert.equal((await uploader.post(`/admin/users/${await userId('admin')}/disable`)).status, 403)
    assert.equal((await uploader.get(`/admin/users/${await userId('admin')}/remove`)).status, 403)
  })
})

describe('the users page', () => {
  test('lists users with role, status and creation date; adds one, who can then log in', async () => {
    const page = await admin.get('/admin/users')
    assert.equal(page.status, 200)
    assert.match(row(page.body, 'admin'), /class="role">admin<[\s\S]*class="status">active<[\s\S]*<time datetime=/)
    assert.match(row(page.body, 'admin'), /\(you\)/)
    for (const name of ['name', 'password', 'role'])
      assert.match(page.body, new RegExp(`id="add-user"[\\s\\S]*name="${name}"`))

    const added = await admin.post('/admin/users', { name: 'edith', password: 'edith-password', role: 'uploader' })
    assert.equal(added.status, 303)
    assert.equal(added.location, '/admin/users?done=added')
    const after = (await admin.get('/admin/users?done=added')).body
    assert.match(after, /id="notice">User added/)
    assert.match(row(after, 'edith'), /class="role">uploader<[\s\S]*class="status">active</)
    assert.equal((await postLogin(server, 'edith', 'edith-password')).status, 303)
  })

  test('refusals beside the add form, with the typed name and role kept and the password not', async () => {
    const password = 'secret-typed-password'
    const clash = await admin.post('/admin/users', { name: 'admin', password, role: 'admin' })
    assert.equal(clash.status, 409)
    assert.match(clash.body, /id="add-error">A user named admin exists/)
    assert.match(clash.body, /name="name" [^>]*value="admin"/)
    assert.match(clash.body, /<option value="admin" selected>/)
    assert.ok(!clash.body.includes(password), 'the password is not sent back')

    const badName = await admin.post('/admin/users', { name: 'bad name!', password, role: 'uploader' })
    assert.equal(badName.status, 400)
    assert.match(badName.body, /id="add-error">A user name is 1 to 64/)
    assert.match(badName.body, /name="name" [^>]*value="bad name!"/)
    const short = await admin.post('/admin/users', { name: 'shorty', password: 'short', role: 'uploader' })
    assert.equal(short.status, 400)
    assert.match(short.body, /id="add-error">A password has at least 8 characters/)
    const role = await admin.post('/admin/users', { name: 'rolf', password, role: 'owner' })
    assert.equal(role.status, 400)
    assert.match(role.body, /id="add-error">role must be one of: admin, uploader/)
    for (const name of ['bad name!', 'shorty', 'rolf'])
      assert.equal(await server.services.accounts.findUserByName(name), null)
  })

  test('changing a role', async () => {
    await server.services.accounts.createUser('rita', 'rita-password', 'uploader')
    const id = await userId('rita')
    const up = await admin.post(`/admin/users/${id}/role`, { role: 'admin' })
    assert.equal(up.status, 303)
    assert.equal((await server.services.accounts.getUser(id)).role, 'admin')
    const rita = await PageSession.logIn(server, 'rita', 'rita-password')
    assert.equal((await rita.get('/admin/users')).status, 200, 'now an admin')
    assert.equal((await admin.post(`/admin/users/${id}/role`, { role: 'uploader' })).status, 303)
    assert.equal((await rita.get('/admin/users')).status, 403, 'an uploader again, at once')
    const bad = await admin.post(`/admin/users/${id}/role`, { role: 'root' })
    assert.equal(bad.status, 400)
    assert.match(row(bad.body, 'rita'), /class="role">uploader</)
    assert.match(bad.body, new RegExp(`id="user-${id}-error">role must be one of`))
  })

  test('disabling ends their sessions and refuses their log-in; enabling lets them back', async () => {
    await server.services.accounts.createUser('dan', 'dan-password-1', 'uploader')
    const id = await userId('dan')
    const dan = await PageSession.logIn(server, 'dan', 'dan-password-1')
    const off = await admin.post(`/admin/users/${id}/disable`)
    assert.equal(off.status, 303)
    assert.equal(off.location, '/admin/users?done=disabled')
    assert.match(row((await admin.get('/admin/users')).body, 'dan'), /class="status">disabled</)
    assert.equal(await dan.loggedIn(), false, 'their session ended')
    const refused = await postLogin(server, 'dan', 'dan-password-1')
    assert.equal(refused.status, 403)
    assert.match(refused.body, /This account is disabled/)
    const basic = await fetch(`${server.url}/api/tokens`, {
      headers: { authorization: basicOf('dan', 'dan-password-1') },
    })
    assert.equal(basic.status, 403)
    assert.match(row((await admin.get('/admin/users')).body, 'dan'), new RegExp(`action="/admin/users/${id}/enable"`))

    assert.equal((await admin.post(`/admin/users/${id}/enable`)).status, 303)
    assert.match(row((await admin.get('/admin/users')).body, 'dan'), /class="status">active</)
    assert.equal((await postLogin(server, 'dan', 'dan-password-1')).status, 303)
  })

  test('resetting a password: the new one works, the old one and their sessions do not', async () => {
    await server.services.accounts.createUser('pat', 'pat-password-1', 'uploader')
    const id = await userId('pat')
    const pat = await PageSession.logIn(server, 'pat', 'pat-password-1')
    const short = await admin.post(`/admin/users/${id}/password`, { password: 'short' })
    assert.equal(short.status, 400)
    assert.match(short.body, new RegExp(`id="user-${id}-error">A password has at least 8 characters`))
    assert.equal(await pat.loggedIn(), true, 'a refused reset changes nothing')
    const reset = await admin.post(`/admin/users/${id}/password`, { password: 'pat-password-2' })
    assert.equal(reset.status, 303)
    assert.equal(reset.location, '/admin/users?done=password')
    assert.equal(await pat.loggedIn(), false)
    assert.equal((await postLogin(server, 'pat', 'pat-password-1')).status, 401)
    assert.equal((await postLogin(server, 'pat', 'pat-password-2')).status, 303)
  })

  test('removing: a confirmation page first; then the user is gone and their videos are the admin’s', async () => {
    await server.services.accounts.createUser('rob', 'rob-password-1', 'uploader')
    const id = await userId('rob')
    const upload = await apiUpload(server, { title: "Rob's clip" }, { path: clip }, basicOf('rob', 'rob-password-1'))
    assert.equal(upload.status, 201)
    assert.equal(upload.body.owner.name, 'rob')

    const link = row((await admin.get('/admin/users')).body, 'rob')
    assert.match(link, new RegExp(`href="/admin/users/${id}/remove"`))
    const confirm = await admin.get(`/admin/users/${id}/remove`)
    assert.equal(confirm.status, 200)
    assert.match(confirm.body, /<h1>Remove rob\?<\/h1>/)
    assert.match(confirm.body, /Its videos stay on the site and become yours/)
    assert.match(confirm.body, new RegExp(`<form method="post" action="/admin/users/${id}/remove"`))
    assert.ok(await server.services.accounts.findUserByName('rob'), 'the confirmation page removes nothing')

    const removed = await admin.post(`/admin/users/${id}/remove`)
    assert.equal(removed.status, 303)
    assert.equal(removed.location, '/admin/users?done=removed')
    assert.equal(await server.services.accounts.findUserByName('rob'), null)
    assert.ok(!(await admin.get('/admin/users')).body.includes('data-user="rob"'))
    assert.equal((await getVideo(server, upload.body.id)).owner?.name, 'admin', 'the video stays, now the admin’s')
    assert.equal((await admin.get(`/admin/users/${id}/remove`)).status, 404)
    assert.equal((await admin.post(`/admin/users/${id}/remove`)).status, 404)
    assert.equal((await admin.get('/admin/users/not-a-number/remove')).status, 404)
  })

  test('an admin cannot disable, demote or remove their own account here (409, beside their row)', async () => {
    const id = await userId('admin')
    for (const [path, fields] of [
      [`/admin/users/${id}/disable`, {}],
      [`/admin/users/${id}/role`, { role: 'uploader' }],
      [`/admin/users/${id}/remove`, {}],
    ] as const) {
      const res = await admin.post(path, fields)
      assert.equal(res.status, 409, path)
      assert.match(
        res.body,
        new RegExp(`id="user-${id}-error">Admins cannot remove, disable or demote their own account`),
        path,
      )
    }
    const me = await server.services.accounts.getUser(id)
    assert.equal(me.role, 'admin')
    assert.equal(me.disabled, false)
    assert.equal(await admin.loggedIn(), true)
    // Their row offers none of it: their own password is changed on /account.
    const own = row((await admin.get('/admin/users')).body, 'admin')
    assert.ok(!own.includes('<form'), 'no forms on the own row')
    assert.match(own, /href="\/account"/)
  })

  test('a post without the CSRF token changes nothing', async () => {
    const forged = await admin.post(
      '/admin/users',
      { name: 'forged', password: 'forged-password', role: 'admin' },
      { csrf: false },
    )
    assert.equal(forged.status, 403)
    assert.equal(await server.services.accounts.findUserByName('forged'), null)
  })
})
