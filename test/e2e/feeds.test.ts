// The site's feeds (/feed.rss, /feed.atom): read with a real XML parser (Python's expat-based
// ElementTree, Debian's python3), every item with its .torrent and file as enclosures whose
// lengths are the bytes the site serves, the magnet link, title, description and date; private
// videos absent; aria2c downloads the newest item's .torrent enclosure and gets the file byte for
// byte; conditional requests get 304 until something changes.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, getVideo, uploadOk, useTorrentFormat, waitForVideo, type VideoJson } from '../helpers/http.ts'
import { runAria2c } from '../helpers/aria2.ts'

let server: TestServer
let clip: string
let older: VideoJson
let newest: VideoJson
let hidden: VideoJson
let work: string

// Parses a feed with ElementTree and prints what the test checks, as JSON.
const PARSE = `
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read())
A = '{http://www.w3.org/2005/Atom}'
M = '{http://search.yahoo.com/mrss/}'
T = '{http://xmlns.ezrss.it/0.1/}'
out = {'root': root.tag, 'items': []}
if root.tag == 'rss':
    ch = root.find('channel')
    out['title'] = ch.findtext('title')
    for it in ch.findall('item'):
        out['items'].append({
            'title': it.findtext('title'), 'link': it.findtext('link'), 'guid': it.findtext('guid'),
            'description': it.findtext('description'), 'date': it.findtext('pubDate'),
            'enclosures': [dict(e.attrib) for e in it.findall('enclosure')],
            'magnet': (it.find(M + 'peerLink').attrib['href'] if it.find(M + 'peerLink') is not None else None),
            'magnetURI': it.findtext(T + 'torrent/' + T + 'magnetURI'),
            'thumbnail': (it.find(M + 'thumbnail').attrib['url'] if it.find(M + 'thumbnail') is not None else None),
        })
else:
    out['title'] = root.findtext(A + 'title')
    for e in root.findall(A + 'entry'):
        links = [dict(l.attrib) for l in e.findall(A + 'link')]
        out['items'].append({
            'title': e.findtext(A + 'title'), 'link': next(l['href'] for l in links if l.get('rel') == 'alternate'),
            'id': e.findtext(A + 'id'), 'description': e.findtext(A + 'summary'), 'date': e.findtext(A + 'published'),
            'updated': e.findtext(A + 'updated'),
            'enclosures': [{'url': l['href'], 'length': l['length'], 'type': l['type']} for l in links if l.get('rel') == 'enclosure'],
            'magnet': next((l['href'] for l in links if l.get('rel') == 'related'), None),
        })
print(json.dumps(out))
`

interface Parsed {
  root: string
  title: string
  items: {
    title: string
    link: string
    description: string
    date: string
    enclosures: { url: string; length: string; type: string }[]
    magnet: string | null
    magnetURI?: string | null
    thumbnail?: string | null
  }[]
}

async function parseFeed(xml: string): Promise<Parsed> {
  const child = spawn('/usr/bin/python3', ['-c', PARSE])
  const out: Buffer[] = []
  const err: Buffer[] = []
  child.stdout!.on('data', (b: Buffer) => out.push(b))
  child.stderr!.on('data', (b: Buffer) => err.push(b))
  child.stdin!.end(xml)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  assert.equal(code, 0, `the XML parser refused the feed: ${Buffer.concat(err).toString()}`)
  return JSON.parse(Buffer.concat(out).toString())
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const patch = (id: string, body: object) =>
  getJson(`${server.url}/api/videos/${id}`, {
    method: 'PATCH',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

before(async () => {
  server = await startTestServer()
  await useTorrentFormat(server, 'v1') // aria2c: v1 torrents only (see useTorrentFormat)
  work = await mkdtemp(path.join(tmpdir(), 'seedcast-feeds-'))
  clip = await makeVideo({ seconds: 2, noise: 13 })
  older = await uploadOk(server, { title: 'Older & <first>', description: 'The first one' }, { path: clip })
  hidden = await uploadOk(server, { title: 'Hidden one' }, { path: await makeVideo({ seconds: 1 }) })
  assert.equal((await patch(hidden.id, { published: false })).status, 200)
  newest = await uploadOk(server, { title: 'Newest', description: 'Line one\nline two' }, { path: clip })
  // Posters come from ffmpeg, one file at a time at a low CPU priority: on a machine busy with
  // other test files, three uploads' posters took over 20 s in one CI run.
  for (const v of [older, newest])
    await waitForVideo(server, v.id, (x) => x.thumbnailUrl !== null, 'its poster', 90_000)
})

after(async () => {
  await server?.stop()
  if (work) await rm(work, { recursive: true, force: true })
})

for (const [format, type] of [
  ['rss', 'application/rss+xml'],
  ['atom', 'application/atom+xml'],
] as const) {
  test(`/feed.${format} is well-formed and carries every published video with its enclosures`, async () => {
    const res = await fetch(`${server.url}/feed.${format}`)
    assert.equal(res.status, 200)
    assert.ok((res.headers.get('content-type') ?? '').startsWith(type), res.headers.get('content-type') ?? '')
    const feed = await parseFeed(await res.text())
    assert.equal(feed.root, format === 'rss' ? 'rss' : '{http://www.w3.org/2005/Atom}feed')
    assert.equal(feed.title, 'Seedcast')
    assert.deepEqual(
      feed.items.map((i) => i.title),
      ['Newest', 'Older & <first>'],
      'newest first, the private one absent',
    )
    for (const [item, video] of [
      [feed.items[0]!, newest],
      [feed.items[1]!, older],
    ] as const) {
      assert.equal(item.link, video.pageUrl)
      assert.equal(item.description, video.description)
      assert.ok(Math.abs(Date.parse(item.date) - Date.parse(video.createdAt)) < 1000, `date ${item.date}`)
      assert.equal(item.magnet, video.torrent!.magnet)
      if (format === 'rss') {
        assert.equal(item.magnetURI, video.torrent!.magnet)
        // The poster, once made (the test waited for it in before()).
        assert.equal(item.thumbnail, (await getVideo(server, video.id)).thumbnailUrl)
        assert.ok(item.thumbnail, 'a thumbnail')
      }
      const torrent = item.enclosures.find((e) => e.type === 'application/x-bittorrent')
      const file = item.enclosures.find((e) => e.type === video.mimeType)
      assert.ok(torrent && file, JSON.stringify(item.enclosures))
      assert.equal(torrent.url, video.torrent!.torrentUrl)
      assert.equal(file.url, video.fileUrl)
      // Lengths are the bytes the site serves at those URLs.
      const torrentBytes = Buffer.from(await (await fetch(torrent.url)).arrayBuffer())
      assert.equal(Number(torrent.length), torrentBytes.length)
      const fileBytes = Buffer.from(await (await fetch(file.url)).arrayBuffer())
      assert.equal(Number(file.length), fileBytes.length)
      assert.equal(Number(file.length), video.size)
    }
  })
}

test("aria2c downloads the newest item's .torrent enclosure and gets the file byte for byte", async () => {
  const feed = await parseFeed(await (await fetch(`${server.url}/feed.rss`)).text())
  const enclosure = feed.items[0]!.enclosures.find((e) => e.type === 'application/x-bittorrent')!
  const dir = path.join(work, 'aria2')
  const result = await runAria2c({
    source: enclosure.url,
    dir,
    logFile: path.join(work, 'aria2.log'),
    timeoutMs: 60_000,
  })
  assert.equal(result.code, 0, result.output)
  const got = await readFile(path.join(dir, new URL(newest.fileUrl).pathname.split('/').pop()!))
  assert.equal(sha256(got), sha256(await readFile(clip)))
})

test('a second request with the ETag (or the date) gets 304; a change gives a new feed', async () => {
  for (const format of ['rss', 'atom']) {
    const url = `${server.url}/feed.${format}`
    const first = await fetch(url)
    await first.arrayBuffer()
    const etag = first.headers.get('etag')
    const lastModified = first.headers.get('last-modified')
    assert.ok(etag && lastModified, 'ETag and Last-Modified are sent')
    const again = await fetch(url, { headers: { 'if-none-match': etag } })
    assert.equal(again.status, 304)
    assert.equal((await again.arrayBuffer()).byteLength, 0)
    const byDate = await fetch(url, { headers: { 'if-modified-since': lastModified } })
    assert.equal(byDate.status, 304)
  }
  const before = await fetch(`${server.url}/feed.rss`)
  const etag = before.headers.get('etag')!
  await before.arrayBuffer()
  // An edit, then publishing the private video: each is a new feed, not a 304.
  assert.equal((await patch(older.id, { title: 'Older, renamed' })).status, 200)
  const edited = await fetch(`${server.url}/feed.rss`, { headers: { 'if-none-match': etag } })
  assert.equal(edited.status, 200)
  assert.match(await edited.text(), /Older, renamed/)
  assert.equal((await patch(hidden.id, { published: true })).status, 200)
  const published = await fetch(`${server.url}/feed.rss`, { headers: { 'if-none-match': edited.headers.get('etag')! } })
  assert.equal(published.status, 200)
  assert.deepEqual(
    (await parseFeed(await published.text())).items.map((i) => i.title),
    ['Newest', 'Hidden one', 'Older, renamed'],
  )
})

test('the pages link both feeds with <link rel="alternate">', async () => {
  for (const page of ['/', `/videos/${newest.id}`]) {
    const html = await (await fetch(server.url + page)).text()
    assert.match(html, /<link rel="alternate" type="application\/rss\+xml" [^>]*href="\/feed\.rss">/)
    assert.match(html, /<link rel="alternate" type="application\/atom\+xml" [^>]*href="\/feed\.atom">/)
  }
})

test('with BitTorrent off the items carry the file only', async () => {
  const off = await getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ bittorrentEnabled: false }),
  })
  assert.equal(off.status, 200)
  try {
    const feed = await parseFeed(await (await fetch(`${server.url}/feed.atom`)).text())
    for (const item of feed.items) {
      assert.deepEqual(
        item.enclosures.map((e) => e.type),
        ['video/mp4'],
      )
      assert.equal(item.magnet, null)
    }
  } finally {
    await getJson(`${server.url}/api/settings`, {
      method: 'PUT',
      headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ bittorrentEnabled: true }),
    })
  }
})
