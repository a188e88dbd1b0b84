// src/web/pageCache.ts on a node:http server of the test's own: what may be kept, what a copy
// answers, and what drops it (a change while an answer was being drawn, the live counts, the
// clock, the memory bound). The site's own use of it is test/integration/page-cache.test.ts.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { PageCache } from '../../src/web/pageCache.ts'

let clock = 1_000_000
const live = new Map<string, string>()
let cache: PageCache
// What the handler does when the cache does not answer: set by each test.
let draw: (req: http.IncomingMessage, res: http.ServerResponse) => void
let drawn = 0
let server: http.Server
let base = ''

function fresh(opts: { maxBytes?: number; ttlMs?: number } = {}) {
  cache = new PageCache({
    maxBytes: opts.maxBytes ?? 1 << 20,
    ttlMs: opts.ttlMs ?? 60_000,
    live: (h) => live.get(h) ?? '0 0 0',
    now: () => clock,
  })
}

/** Draws `body` (and keeps it, given the ticket taken before the "reads"). */
function drawing(body: (url: string) => string, shows: string[] = [], between?: () => void) {
  draw = (req, res) => {
    drawn++
    const ticket = cache.ticket()
    const shown = cache.live(shows)
    between?.()
    const text = body(req.url!)
    res.setHeader('content-type', 'text/html; charset=utf-8')
    res.setHeader('etag', `W/"${text.length}"`)
    res.end(text)
    if (cache.eligible(req)) cache.keep(ticket, req, text, res, shown)
  }
}

before(async () => {
  server = http.createServer((req, res) => {
    if (!cache.serve(req, res)) draw(req, res)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
after(() => new Promise<void>((r) => server.close(() => r())))

async function get(path: string, headers: Record<string, string> = {}) {
  const before = drawn
  const res = await fetch(base + path, { headers })
  return { status: res.status, body: await res.text(), headers: res.headers, drawn: drawn > before }
}

test('only anonymous GETs of a video page or a list are kept; a copy answers with the same body and headers', async () => {
  fresh()
  drawing((url) => `page ${url}`)
  for (const path of ['/videos/abc_-1', '/api/videos', '/api/videos?limit=5', '/', '/?after=x']) {
    const first = await get(path)
    assert.equal(first.drawn, true, path)
    const again = await get(path)
    assert.equal(again.drawn, false, `${path} from the copy`)
    assert.equal(again.body, first.body)
    assert.equal(again.headers.get('etag'), first.headers.get('etag'))
    assert.equal(again.headers.get('content-type'), first.headers.get('content-type'))
    assert.equal(again.headers.get('age'), '0')
  }
  const never: [string, Record<string, string>][] = [
    ['/videos/abc_-1?done=x', {}],
    ['/videos/a/b', {}],
    ['/videos/has%20space', {}],
    ['/upload', {}],
    ['/api/videos/abc', {}],
    [`/api/videos?${'x'.repeat(300)}`, {}],
    ['/videos/abc_-1', { cookie: 'a=1; seedcast_session=zzz' }],
    ['/api/videos', { authorization: 'Bearer t' }],
  ]
  for (const [path, headers] of never) {
    await get(path, headers)
    assert.equal((await get(path, headers)).drawn, true, `${path} ${JSON.stringify(headers)} is always drawn`)
  }
  // Another cookie is no session: the copy.
  assert.equal((await get('/videos/abc_-1', { cookie: 'theme=dark' })).drawn, false)
  const head = await fetch(`${base}/videos/abc_-1`, { method: 'HEAD' })
  assert.equal(head.status, 200)
})

test('If-None-Match with the copy’s ETag (weak or strong, in a list, or *) is a 304; another is the copy', async () => {
  fresh()
  drawing(() => 'twelve bytes')
  await get('/videos/e')
  for (const inm of ['W/"12"', '"12"', '"zz", W/"12"', '*']) {
    const r = await get('/videos/e', { 'if-none-match': inm })
    assert.equal(r.status, 304, inm)
    assert.equal(r.body, '')
    assert.equal(r.drawn, false)
  }
  assert.equal((await get('/videos/e', { 'if-none-match': '"13"' })).status, 200)
})

test('a change while an answer is drawn keeps it from being kept; forget drops a page and every list, null all', async () => {
  fresh()
  drawing(
    (url) => url,
    [],
    () => cache.forget(['other']),
  )
  await get('/videos/raced')
  assert.equal((await get('/videos/raced')).drawn, true, 'drawn from data a change may have made old: not kept')
  drawing((url) => url)
  for (const p of ['/videos/a', '/videos/b', '/api/videos', '/']) await get(p)
  cache.forget(['a'])
  assert.equal((await get('/videos/a')).drawn, true)
  assert.equal((await get('/videos/b')).drawn, false, 'another video’s page stays')
  assert.equal((await get('/api/videos')).drawn, true, 'every list goes')
  assert.equal((await get('/')).drawn, true)
  cache.forget(null)
  assert.equal((await get('/videos/b')).drawn, true)
})

test('a copy is sent only while the live counts it shows are the tracker’s, and for ttlMs at most', async () => {
  fresh({ ttlMs: 10_000 })
  live.set('h1', '1 0 0')
  live.set('h2', '0 0 0')
  drawing((url) => url, ['h1', 'h2'])
  await get('/api/videos')
  assert.equal((await get('/api/videos')).drawn, false)
  live.set('h2', '0 1 0')
  assert.equal((await get('/api/videos')).drawn, true, 'one of its torrents’ counts moved')
  assert.equal((await get('/api/videos')).drawn, false)
  clock += 9_000
  const aged = await get('/api/videos')
  assert.equal(aged.drawn, false)
  assert.equal(aged.headers.get('age'), '9')
  clock += 1_001
  assert.equal((await get('/api/videos')).drawn, true, 'past ttlMs')
})

test('memory: past maxBytes the least recently sent go first; maxBytes 0 keeps nothing', async () => {
  // Each entry is its body plus 2 KiB: three of 10 KiB fit in 40 KiB, a fourth pushes one out.
  fresh({ maxBytes: 40 * 1024 })
  drawing(() => 'x'.repeat(10 * 1024))
  for (const id of ['a', 'b', 'c']) await get(`/videos/${id}`)
  await get('/videos/a') // a is now the most recently sent
  await get('/videos/d')
  assert.equal((await get('/videos/b')).drawn, true, 'b, the least recently sent, went')
  assert.equal((await get('/videos/a')).drawn, false)
  assert.ok(Number(/seedcast_page_cache_bytes (\d+)/.exec(cache.metricsText())![1]) <= 40 * 1024)
  fresh({ maxBytes: 0 })
  await get('/videos/a')
  assert.equal((await get('/videos/a')).drawn, true)
  assert.match(cache.metricsText(), /seedcast_page_cache_hits_total 0\n/)
})
