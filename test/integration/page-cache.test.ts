// The page cache (src/web/pageCache.ts) on a real server: an anonymous video page is sent again
// as drawn, with the same headers and bytes, and never once what it shows has changed: an edit,
// unpublishing, a deletion, a settings change, an extra file. Logged-in viewers and pages with a
// query are always drawn; a copy is not sent past PAGE_CACHE_SECONDS; PAGE_CACHE_MB=0 keeps none.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { announceQuery, getJson, trackerGet, uploadOk, waitFor, waitForVideo } from '../helpers/http.ts'
import { metrics } from '../helpers/wsTracker.ts'
import { login } from '../helpers/accounts.ts'

let server: TestServer
let clip: string

before(async () => {
  clip = await makeVideo({ seconds: 1 })
  server = await startTestServer()
})
after(async () => {
  await server?.stop()
})

const hits = async (s: TestServer) => (await metrics(s)).get('seedcast_page_cache_hits_total') ?? 0

interface Page {
  status: number
  headers: Headers
  body: string
}

async function page(s: TestServer, path: string, headers: Record<string, string> = {}): Promise<Page> {
  const res = await fetch(`${s.url}${path}`, { headers, redirect: 'manual' })
  return { status: res.status, headers: res.headers, body: await res.text() }
}

/** A published video whose torrent and details are done (nothing about it changes by itself). */
async function readyVideo(s: TestServer, title: string): Promise<string> {
  const v = await uploadOk(s, { title }, { path: clip })
  await waitForVideo(s, v.id, (x) => x.status === 'ready' && x.detailsStatus !== 'pending', 'ready with details')
  return v.id
}

/** Asserts the next anonymous GET is sent from the cache (the hit counter moves by one) and returns it. */
async function fromCache(s: TestServer, path: string, headers: Record<string, string> = {}): Promise<Page> {
  const before = await hits(s)
  const p = await page(s, path, headers)
  assert.equal(await hits(s), before + 1, `${path} is sent from the cache`)
  return p
}

async function drawn(s: TestServer, path: string, headers: Record<string, string> = {}): Promise<Page> {
  const before = await hits(s)
  const p = await page(s, path, headers)
  assert.equal(await hits(s), before, `${path} is drawn, not sent from the cache`)
  return p
}

test('an anonymous video page is sent again as drawn: same status, headers and bytes; a browser holding it gets 304', async () => {
  const id = await readyVideo(server, 'Kept page')
  const first = await drawn(server, `/videos/${id}`)
  assert.equal(first.status, 200)
  assert.match(first.body, /Kept page/)
  const again = await fromCache(server, `/videos/${id}`)
  assert.equal(again.status, 200)
  assert.equal(again.body, first.body)
  for (const name of [
    'content-type',
    'content-length',
    'etag',
    'content-security-policy',
    'x-frame-options',
    'referrer-policy',
  ])
    assert.equal(again.headers.get(name), first.headers.get(name), name)
  assert.match(again.headers.get('age') ?? '', /^\d+$/, 'a copy says its age')
  assert.equal(first.headers.get('age'), null)
  const etag = first.headers.get('etag')!
  const cached = await fromCache(server, `/videos/${id}`, { 'if-none-match': etag })
  assert.equal(cached.status, 304)
  assert.equal(cached.body, '')
  // A HEAD, a query (the notices after a form), another spelling and a path that is not a video are Express's.
  const before = await hits(server)
  assert.equal((await fetch(`${server.url}/videos/${id}`, { method: 'HEAD' })).status, 200)
  assert.equal((await page(server, `/videos/${id}?done=torrent-removed`)).status, 200)
  await page(server, `/videos/${id}/`) // Express's non-strict routing: the page, drawn
  assert.equal((await page(server, '/videos/no-such-video')).status, 404)
  assert.equal((await page(server, '/videos/no-such-video')).status, 404, 'a 404 is not kept')
  assert.equal(await hits(server), before)
})

test('a logged-in viewer is always drawn their own page, and never leaves theirs for others', async () => {
  const id = await readyVideo(server, 'Owner view')
  const admin = await login(server, 'admin', 'test-password-123')
  const mine = await drawn(server, `/videos/${id}`, { cookie: admin.cookie })
  assert.match(mine.body, new RegExp(`/videos/${id}/edit`), 'the owner sees the edit link')
  const theirs = await drawn(server, `/videos/${id}`)
  assert.doesNotMatch(theirs.body, new RegExp(`/videos/${id}/edit`), 'an anonymous viewer does not')
  await fromCache(server, `/videos/${id}`)
  const mineAgain = await drawn(server, `/videos/${id}`, { cookie: admin.cookie })
  assert.match(mineAgain.body, new RegExp(`/videos/${id}/edit`))
  // A session cookie that opens no session is drawn too (Express finds no one, as for anyone).
  const stale = await drawn(server, `/videos/${id}`, { cookie: 'seedcast_session=gone' })
  assert.equal(stale.body, theirs.body)
})

test('an edit, unpublishing and a deletion show on the very next anonymous visit', async () => {
  const id = await readyVideo(server, 'Before the edit')
  const auth = { authorization: server.basicAuth, 'content-type': 'application/json' }
  await drawn(server, `/videos/${id}`)
  await fromCache(server, `/videos/${id}`)

  const edit = await getJson(`${server.url}/api/videos/${id}`, {
    method: 'PATCH',
    headers: auth,
    body: JSON.stringify({ title: 'After the edit' }),
  })
  assert.equal(edit.status, 200)
  const edited = await drawn(server, `/videos/${id}`)
  assert.match(edited.body, /After the edit/)
  assert.doesNotMatch(edited.body, /Before the edit/)
  await fromCache(server, `/videos/${id}`)

  const hide = await getJson(`${server.url}/api/videos/${id}`, {
    method: 'PATCH',
    headers: auth,
    body: JSON.stringify({ published: false }),
  })
  assert.equal(hide.status, 200)
  assert.equal((await page(server, `/videos/${id}`)).status, 404, 'a private video is not shown to anyone else')
  const show = await getJson(`${server.url}/api/videos/${id}`, {
    method: 'PATCH',
    headers: auth,
    body: JSON.stringify({ published: true }),
  })
  assert.equal(show.status, 200)
  await drawn(server, `/videos/${id}`)
  await fromCache(server, `/videos/${id}`)

  const del = await fetch(`${server.url}/api/videos/${id}`, { method: 'DELETE', headers: auth })
  assert.equal(del.status, 204)
  assert.equal((await page(server, `/videos/${id}`)).status, 404)
})

test('the live counts on a kept page are the tracker’s: an announce or a completion and the page is drawn again', async () => {
  const id = await readyVideo(server, 'Live counts')
  const infoHash = (await getJson(`${server.url}/api/videos/${id}`)).body.torrent.infoHash as string
  const counts = (p: Page) =>
    ['seeders', 'leechers', 'completed'].map((k) => new RegExp(`id="${k}">(\\d+)<`).exec(p.body)?.[1]).join(' ')
  assert.equal(counts(await drawn(server, `/videos/${id}`)), '0 0 0')
  await fromCache(server, `/videos/${id}`)
  const announce = (peer: string, left: number, event: string) =>
    trackerGet(`${server.url}/announce?${announceQuery(infoHash, { peerId: peer, port: 40100, left, event })}`)
  assert.equal((await announce('-PC0001-leecher', 1000, 'started')).status, 200)
  assert.equal(counts(await drawn(server, `/videos/${id}`)), '0 1 0')
  assert.equal(counts(await fromCache(server, `/videos/${id}`)), '0 1 0')
  assert.equal((await announce('-PC0001-leecher', 0, 'completed')).status, 200)
  assert.equal(counts(await drawn(server, `/videos/${id}`)), '1 0 1')
  assert.equal(counts(await fromCache(server, `/videos/${id}`)), '1 0 1')
})

test('a settings change reaches every kept page: BitTorrent off takes the torrent links off at once', async () => {
  const id = await readyVideo(server, 'Settings follow')
  const v = await getJson(`${server.url}/api/videos/${id}`)
  const infoHash = v.body.torrent.infoHash as string
  await drawn(server, `/videos/${id}`)
  assert.match((await fromCache(server, `/videos/${id}`)).body, new RegExp(infoHash))
  const put = (on: boolean) =>
    getJson(`${server.url}/api/settings`, {
      method: 'PUT',
      headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ bittorrentEnabled: on }),
    })
  assert.equal((await put(false)).status, 200)
  const off = await drawn(server, `/videos/${id}`)
  assert.doesNotMatch(off.body, new RegExp(infoHash), 'no magnet or .torrent with BitTorrent off')
  assert.equal((await put(true)).status, 200)
  assert.match((await drawn(server, `/videos/${id}`)).body, new RegExp(infoHash))
})

test('an extra file: the kept page goes at once, and the page shows the new release once its torrent is made', async () => {
  const id = await readyVideo(server, 'Release page')
  const v = { id }
  await drawn(server, `/videos/${v.id}`)
  await fromCache(server, `/videos/${v.id}`)
  const form = new FormData()
  form.append('files', new Blob([Buffer.from('subtitles\n')]), 'notes.txt')
  const add = await fetch(`${server.url}/api/videos/${v.id}/files`, {
    method: 'POST',
    headers: { authorization: server.basicAuth },
    body: form,
  })
  assert.ok(add.status < 300, `extra file added: ${add.status} ${await add.text()}`)
  // Answered at once, the new torrent still being made: the page says so, and is not kept meanwhile.
  const during = await drawn(server, `/videos/${v.id}`)
  assert.match(during.body, /notes\.txt/)
  const done = await waitForVideo(server, v.id, (x) => x.status === 'ready', 'the new torrent')
  const after = await waitFor(async () => {
    const p = await page(server, `/videos/${v.id}`)
    return p.body.includes(done.torrent!.infoHash) ? p : null
  }, 'the page with the new torrent')
  assert.match(after.body, /notes\.txt/)
  await fromCache(server, `/videos/${v.id}`)
})

test('the home page and the API list are kept for visitors without a session or credentials, and drawn again after any video’s change or announce', async () => {
  const id = await readyVideo(server, 'Listed')
  const infoHash = (await getJson(`${server.url}/api/videos/${id}`)).body.torrent.infoHash as string
  const list = '/api/videos?limit=50'
  const titles = (p: Page) => (JSON.parse(p.body).videos as { title: string }[]).map((v) => v.title)
  // The earlier tests' videos may still be written in the background (details, thumbnails), and
  // any video's change drops every list: wait until a list drawn is kept.
  await waitFor(async () => {
    await page(server, list)
    const before = await hits(server)
    await page(server, list)
    return (await hits(server)) === before + 1
  }, 'a quiet site: the list kept')
  const first = await fromCache(server, list)
  assert.ok(titles(first).includes('Listed'))
  const home = await drawn(server, '/')
  assert.match(home.body, /Listed/)
  assert.equal((await fromCache(server, '/')).body, home.body)
  const again = await fromCache(server, list)
  assert.equal(again.body, first.body)
  assert.equal(again.headers.get('content-type'), first.headers.get('content-type'))
  // Credentials, and another query, are drawn.
  await drawn(server, list, { authorization: server.basicAuth })
  await drawn(server, '/api/videos?limit=49')
  await fromCache(server, list)

  const auth = { authorization: server.basicAuth, 'content-type': 'application/json' }
  const edit = await getJson(`${server.url}/api/videos/${id}`, {
    method: 'PATCH',
    headers: auth,
    body: JSON.stringify({ title: 'Listed, renamed' }),
  })
  assert.equal(edit.status, 200)
  assert.ok(titles(await drawn(server, list)).includes('Listed, renamed'))
  await fromCache(server, list)
  assert.match((await drawn(server, '/')).body, /Listed, renamed/)
  await fromCache(server, '/')
  const peer = announceQuery(infoHash, { peerId: '-PC0002-listed', port: 40200, left: 0, event: 'started' })
  assert.equal((await trackerGet(`${server.url}/announce?${peer}`)).status, 200)
  const counted = JSON.parse((await drawn(server, list)).body).videos.find((v: { id: string }) => v.id === id)
  assert.equal(counted.swarm.seeders, 1)
  await fromCache(server, list)
  assert.match((await drawn(server, '/')).body, /1 seeding/)
  await fromCache(server, '/')
  // A new upload is listed at once (while it is hashed, the list is drawn each time).
  const added = await uploadOk(server, { title: 'Just uploaded' }, { path: clip })
  assert.ok(titles(await page(server, list)).includes('Just uploaded'))
  await waitForVideo(server, added.id, (x) => x.status === 'ready' && x.detailsStatus !== 'pending')
  await drawn(server, list)
  await fromCache(server, list)
})

test('a copy is sent for PAGE_CACHE_SECONDS at most; PAGE_CACHE_MB=0 keeps none', async () => {
  const short = await startTestServer({ PAGE_CACHE_SECONDS: '1' })
  try {
    const id = await readyVideo(short, 'Short-lived copy')
    await drawn(short, `/videos/${id}`)
    await fromCache(short, `/videos/${id}`)
    await new Promise((r) => setTimeout(r, 1100))
    await drawn(short, `/videos/${id}`)
  } finally {
    await short.stop()
  }
  const off = await startTestServer({ PAGE_CACHE_MB: '0' })
  try {
    const id = await readyVideo(off, 'Never kept')
    await drawn(off, `/videos/${id}`)
    await drawn(off, `/videos/${id}`)
    assert.equal((await metrics(off)).get('seedcast_page_cache_bytes'), 0)
  } finally {
    await off.stop()
  }
})
