// Managing a video from its page: the owner and admins see Edit, Unpublish/Publish and Delete;
// others do not and are refused (403, or 404 for a private video they cannot see). Editing keeps
// the infohash; a private video's page says so, and the home page marks it for those who see it;
// deleting asks first, then leaves nothing.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { apiUpload, getJson, ls, mediaDir, type VideoJson } from '../helpers/http.ts'
import { makeVideo } from '../helpers/media.ts'
import { PageSession, basicOf, unescapeHtml } from '../helpers/pageSession.ts'

const OWNER = { name: 'olga', password: 'olga-password-1' }
const OTHER = { name: 'otto', password: 'otto-password-1' }

let server: TestServer
let clip: string
let owner: PageSession
let other: PageSession
let admin: PageSession
before(async () => {
  server = await startTestServer()
  clip = await makeVideo({ seconds: 1 })
  for (const u of [OWNER, OTHER]) await server.services.accounts.createUser(u.name, u.password, 'uploader')
  owner = await PageSession.logIn(server, OWNER.name, OWNER.password)
  other = await PageSession.logIn(server, OTHER.name, OTHER.password)
  admin = await PageSession.logIn(server, 'admin', ADMIN_PASSWORD)
})
after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

async function ownersVideo(title: string): Promise<VideoJson> {
  const res = await apiUpload(
    server,
    { title, description: 'First words' },
    { path: clip },
    basicOf(OWNER.name, OWNER.password),
  )
  assert.equal(res.status, 201)
  return res.body as VideoJson
}

const anonymous = (p: string) => fetch(`${server.url}${p}`, { redirect: 'manual' })
const manageButtons = (page: string) => /id="manage"/.test(page)
const titleOf = (page: string) => unescapeHtml(/<article class="video">[\s\S]*?<h1>([^<]*)<\/h1>/.exec(page)?.[1] ?? '')
const listed = (page: string, id: string) => new RegExp(`href="/videos/${id}" class="title">`).test(page)

describe('the video page for who may manage it', () => {
  test('owner and admins see Edit, Unpublish and Delete; another uploader and anonymous do not', async () => {
    const v = await ownersVideo('Buttons')
    const mine = (await owner.get(`/videos/${v.id}`)).body
    assert.ok(manageButtons(mine))
    assert.match(mine, new RegExp(`href="/videos/${v.id}/edit"`))
    assert.match(mine, new RegExp(`action="/videos/${v.id}/unpublish"`))
    assert.match(mine, new RegExp(`href="/videos/${v.id}/delete"`))
    assert.match(mine, /id="owner">olga</)
    assert.ok(manageButtons((await admin.get(`/videos/${v.id}`)).body), 'an admin too')
    assert.ok(!manageButtons((await other.get(`/videos/${v.id}`)).body), 'not another uploader')
    assert.ok(!manageButtons(await (await anonymous(`/videos/${v.id}`)).text()), 'not anonymous')
  })
})

describe('editing', () => {
  test('the form shows the current text; saving changes title and description and keeps the infohash', async () => {
    const v = await ownersVideo('Before <b>')
    const form = await owner.get(`/videos/${v.id}/edit`)
    assert.equal(form.status, 200)
    assert.match(form.body, /name="title" [^>]*value="Before &lt;b&gt;"/)
    assert.match(form.body, /<textarea name="description"[^>]*>First words<\/textarea>/)
    assert.match(form.body, new RegExp(`<form method="post" action="/videos/${v.id}/edit"`))

    const saved = await owner.post(`/videos/${v.id}/edit`, { title: 'After & <i>', description: 'New words' })
    assert.equal(saved.status, 303)
    assert.equal(saved.location, `/videos/${v.id}`)
    const api = (await getJson<VideoJson>(`${server.url}/api/videos/${v.id}`)).body
    assert.equal(api.title, 'After & <i>')
    assert.equal(api.description, 'New words')
    assert.equal(api.torrent?.infoHash, v.torrent?.infoHash, 'the infohash stays')
    const page = (await owner.get(`/videos/${v.id}`)).body
    assert.equal(titleOf(page), 'After & <i>')
    assert.match(page, new RegExp(`id="infohash">${v.torrent!.infoHash}<`))
    // An admin may edit anyone's video.
    assert.equal((await admin.post(`/videos/${v.id}/edit`, { title: 'By the admin', description: '' })).status, 303)
    assert.equal((await getJson<VideoJson>(`${server.url}/api/videos/${v.id}`)).body.title, 'By the admin')
  })

  test('a refused edit shows the form again with the reason and what was typed, and changes nothing', async () => {
    const v = await ownersVideo('Keep me')
    const blank = await owner.post(`/videos/${v.id}/edit`, { title: '   ', description: 'Typed words' })
    assert.equal(blank.status, 400)
    assert.match(blank.body, /id="edit-error">A title is required/)
    assert.match(blank.body, /<textarea name="description"[^>]*>Typed words<\/textarea>/)
    const long = await owner.post(`/videos/${v.id}/edit`, { title: 'x'.repeat(201), description: '' })
    assert.equal(long.status, 400)
    assert.match(long.body, /id="edit-error">The title is longer than 200 characters/)
    assert.equal((await getJson<VideoJson>(`${server.url}/api/videos/${v.id}`)).body.title, 'Keep me')
  })

  test('others are refused: anonymous to the log-in form, another uploader 403; unknown video 404', async () => {
    const v = await ownersVideo('Not yours')
    const anon = await anonymous(`/videos/${v.id}/edit`)
    assert.equal(anon.status, 303)
    assert.equal(anon.headers.get('location'), `/login?next=${encodeURIComponent(`/videos/${v.id}/edit`)}`)
    assert.equal((await other.get(`/videos/${v.id}/edit`)).status, 403)
    const post = await other.post(`/videos/${v.id}/edit`, { title: 'Hijacked', description: '' })
    assert.equal(post.status, 403)
    assert.doesNotMatch(post.body, /id="edit-video"/, 'the error page, not the form')
    const forged = await owner.post(`/videos/${v.id}/edit`, { title: 'Forged', description: '' }, { csrf: false })
    assert.equal(forged.status, 403)
    assert.equal((await getJson<VideoJson>(`${server.url}/api/videos/${v.id}`)).body.title, 'Not yours')
    assert.equal((await owner.get('/videos/nope/edit')).status, 404)
  })
})

describe('unpublish and publish', () => {
  test('private: a banner for the owner and admins, hidden from others, marked on the home page', async () => {
    const v = await ownersVideo('Going private')
    const off = await owner.post(`/videos/${v.id}/unpublish`)
    assert.equal(off.status, 303)
    assert.equal(off.location, `/videos/${v.id}`)

    const mine = await owner.get(`/videos/${v.id}`)
    assert.equal(mine.status, 200)
    assert.match(mine.body, /id="private-banner">Private: only you and admins can see it/)
    assert.match(mine.body, new RegExp(`action="/videos/${v.id}/publish"`), 'a Publish button now')
    assert.match(mine.body, new RegExp(`id="infohash">${v.torrent!.infoHash}<`))
    assert.match(mine.body, /id="no-swarm"/)
    const admins = await admin.get(`/videos/${v.id}`)
    assert.equal(admins.status, 200)
    assert.match(admins.body, /id="private-banner">Private: only its owner \(olga\) and admins can see it/)

    assert.equal((await other.get(`/videos/${v.id}`)).status, 404)
    assert.equal((await anonymous(`/videos/${v.id}`)).status, 404)
    assert.equal((await getJson(`${server.url}/api/videos/${v.id}`)).body.error.code, 'video_not_found')

    const home = (await owner.get('/')).body
    assert.ok(listed(home, v.id))
    assert.match(
      home,
      new RegExp(
        `href="/videos/${v.id}" class="title">[^<]*</a>\\s*<span class="meta">[^\\n]*class="private">private<`,
      ),
    )
    assert.ok(listed((await admin.get('/')).body, v.id))
    assert.ok(!listed((await other.get('/')).body, v.id))
    assert.ok(!listed(await (await anonymous('/')).text(), v.id))
    // Another uploader cannot publish it (it is "no such video" to them).
    assert.equal((await other.post(`/videos/${v.id}/publish`)).status, 404)

    const on = await owner.post(`/videos/${v.id}/publish`)
    assert.equal(on.status, 303)
    const back = await anonymous(`/videos/${v.id}`)
    assert.equal(back.status, 200)
    assert.doesNotMatch(await back.text(), /private-banner/)
    assert.doesNotMatch(
      (await owner.get('/')).body,
      new RegExp(`href="/videos/${v.id}"[^\\n]*\\n[^\\n]*class="private"`),
    )
    assert.equal((await getJson<VideoJson>(`${server.url}/api/videos/${v.id}`)).body.published, true)
  })

  test('another uploader cannot unpublish a published video (403); nor without the CSRF token', async () => {
    const v = await ownersVideo('Stays public')
    assert.equal((await other.post(`/videos/${v.id}/unpublish`)).status, 403)
    assert.equal((await owner.post(`/videos/${v.id}/unpublish`, {}, { csrf: false })).status, 403)
    assert.equal((await getJson<VideoJson>(`${server.url}/api/videos/${v.id}`)).body.published, true)
  })
})

describe('delete', () => {
  test('a confirmation page, then the video, its file and .torrent are gone', async () => {
    const v = await ownersVideo('Delete me')
    const fileName = decodeURIComponent(v.fileUrl.split('/').pop()!)
    assert.ok((await ls(mediaDir(server))).includes(fileName))
    const confirm = await owner.get(`/videos/${v.id}/delete`)
    assert.equal(confirm.status, 200)
    assert.match(confirm.body, /<h1>Delete “Delete me”\?<\/h1>/)
    assert.match(confirm.body, new RegExp(`<form method="post" action="/videos/${v.id}/delete"`))
    assert.equal((await anonymous(`/videos/${v.id}`)).status, 200, 'the confirmation page deletes nothing')

    assert.equal((await other.get(`/videos/${v.id}/delete`)).status, 403)
    assert.equal((await other.post(`/videos/${v.id}/delete`)).status, 403)
    assert.equal((await owner.post(`/videos/${v.id}/delete`, {}, { csrf: false })).status, 403)
    assert.equal((await anonymous(`/videos/${v.id}`)).status, 200, 'still there')

    const gone = await owner.post(`/videos/${v.id}/delete`)
    assert.equal(gone.status, 303)
    assert.equal(gone.location, '/?done=deleted')
    assert.match((await owner.get('/?done=deleted')).body, /id="notice">The video was deleted/)
    assert.equal((await anonymous(`/videos/${v.id}`)).status, 404)
    assert.equal((await getJson(`${server.url}/api/videos/${v.id}`)).status, 404)
    const left = await ls(mediaDir(server))
    assert.ok(!left.includes(fileName) && !left.includes(`${fileName}.torrent`), `left: ${left.join(', ')}`)
    assert.equal((await owner.post(`/videos/${v.id}/delete`)).status, 404)
  })

  test('an admin may delete anyone’s video', async () => {
    const v = await ownersVideo('Admin deletes')
    assert.equal((await admin.post(`/videos/${v.id}/delete`)).status, 303)
    assert.equal((await anonymous(`/videos/${v.id}`)).status, 404)
  })
})
