// The HTML pages for viewers: the video page (player, facts, torrent links, swarm numbers), the
// home list (newest first, 24 a page, `/?after=cursor`), and escaping of user-written text.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { uploadOk, type VideoJson } from '../helpers/http.ts'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'

let clip: string
before(async () => {
  clip = await makeVideo({ seconds: 1 })
})
after(async () => {
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

/** Undoes EJS's escaping (& < > " ') so attribute values can be compared with API values. */
const unescapeHtml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&#34;|&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')

async function html(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url)
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() }
}

/** The href of the <a> whose text contains `label`. */
function linkHref(page: string, label: string): string | undefined {
  for (const m of page.matchAll(/<a\s([^>]*)>([\s\S]*?)<\/a>/g)) {
    if (m[2]!.includes(label)) return unescapeHtml(/href="([^"]*)"/.exec(m[1]!)?.[1] ?? '')
  }
  return undefined
}

const listedTitles = (page: string) => [...page.matchAll(/class="title">([^<]*)<\/a>/g)].map((m) => unescapeHtml(m[1]!))

describe('video page', () => {
  let server: TestServer
  let video: VideoJson
  before(async () => {
    server = await startTestServer()
    video = await uploadOk(
      server,
      { title: 'Sunset over the bay', description: 'Filmed from the pier.' },
      { path: clip },
    )
  })
  after(async () => {
    await server?.stop()
  })

  test('shows the player, title, description and size', async () => {
    const page = await html(`${server.url}/videos/${video.id}`)
    assert.equal(page.status, 200)
    assert.match(page.type, /^text\/html/)
    const player = /<video\s[^>]*>/.exec(page.body)?.[0]
    assert.ok(player, 'a <video> element')
    assert.equal(unescapeHtml(/\ssrc="([^"]*)"/.exec(player)![1]!), video.fileUrl)
    assert.match(page.body, /<h1>Sunset over the bay<\/h1>/)
    assert.match(page.body, /<title>Sunset over the bay/)
    assert.ok(page.body.includes('Filmed from the pier.'))
    assert.ok(page.body.includes(`${video.size} bytes`), 'exact size in bytes')
    assert.match(page.body, /\d+(\.\d+)? KiB/)
  })

  test('links the .torrent (served as application/x-bittorrent) and the magnet, shows the infohash and swarm', async () => {
    const page = (await html(`${server.url}/videos/${video.id}`)).body
    const torrentHref = linkHref(page, 'Download .torrent')
    assert.equal(torrentHref, video.torrent!.torrentUrl)
    const res = await fetch(torrentHref!.replace(server.services.config.publicUrl, server.url))
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type')!, /^application\/x-bittorrent/)
    assert.equal(decodeTorrent(Buffer.from(await res.arrayBuffer())).infoHash, video.torrent!.infoHash)

    const magnetHref = linkHref(page, 'Magnet')
    assert.equal(magnetHref, video.torrent!.magnet)
    assert.ok(magnetHref!.startsWith(`magnet:?xt=urn:btih:${video.torrent!.infoHash}`))
    assert.ok(page.includes(video.torrent!.infoHash))
    for (const [id, value] of [
      ['seeders', 0],
      ['leechers', 0],
      ['completed', 0],
    ] as const) {
      assert.match(page, new RegExp(`id="${id}">${value}<`), id)
    }
    assert.match(page, /Seeders/)
    assert.match(page, /Completed/)
  })

  test('an unknown video is a 404 page', async () => {
    const page = await html(`${server.url}/videos/nope`)
    assert.equal(page.status, 404)
    assert.match(page.type, /^text\/html/)
  })
})

describe('user-written text is escaped', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(async () => {
    await server?.stop()
  })

  test('title and description with markup appear as text on the video page and the home page', async () => {
    const title = '<script>alert(1)</script>'
    const description = '"><img src=x onerror=alert(2)> & <b>bold</b>'
    const v = await uploadOk(server, { title, description }, { path: clip })
    assert.equal(v.title, title, 'the API returns the text as written')
    assert.equal(v.description, description)

    for (const url of [`${server.url}/videos/${v.id}`, `${server.url}/`]) {
      const page = (await html(url)).body
      assert.ok(!page.includes('<script>alert(1)'), `${url}: raw <script>`)
      assert.ok(!page.includes('<img src=x'), `${url}: raw <img>`)
      assert.ok(!page.includes('<b>bold'), `${url}: raw <b>`)
      assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), `${url}: escaped title`)
    }
    const videoPage = (await html(`${server.url}/videos/${v.id}`)).body
    assert.ok(
      videoPage.includes('&#34;&gt;&lt;img src=x onerror=alert(2)&gt; &amp; &lt;b&gt;bold&lt;/b&gt;'),
      'escaped description',
    )
    assert.match(videoPage, /<title>&lt;script&gt;/)
  })
})

describe('home page', () => {
  let server: TestServer
  const titles: string[] = []
  before(async () => {
    server = await startTestServer()
    for (let i = 0; i < 26; i++) {
      const title = `Video ${String(i).padStart(2, '0')}`
      await uploadOk(server, { title }, { path: clip })
      titles.push(title)
    }
  })
  after(async () => {
    await server?.stop()
  })

  test('lists the newest 24 first and links to older videos with ?after=', async () => {
    const first = await html(`${server.url}/`)
    assert.equal(first.status, 200)
    assert.match(first.type, /^text\/html/)
    const newestFirst = [...titles].reverse()
    assert.deepEqual(listedTitles(first.body), newestFirst.slice(0, 24))

    const nextHref = /<a href="([^"]*)" rel="next"/.exec(first.body)?.[1]
    assert.ok(nextHref, 'a link to the next page')
    assert.match(unescapeHtml(nextHref), /^\/\?after=/)
    const second = await html(`${server.url}${unescapeHtml(nextHref)}`)
    assert.equal(second.status, 200)
    assert.deepEqual(listedTitles(second.body), newestFirst.slice(24))
    assert.ok(!/rel="next"/.test(second.body), 'the last page has no next link')
  })

  test('links each video to its page', async () => {
    const first = (await html(`${server.url}/`)).body
    const api = (await (await fetch(`${server.url}/api/videos?limit=1`)).json()) as { videos: VideoJson[] }
    assert.ok(first.includes(`href="/videos/${api.videos[0]!.id}"`))
  })

  test('a made-up ?after= is a 400 page, not a crash', async () => {
    const res = await html(`${server.url}/?after=not-a-cursor`)
    assert.equal(res.status, 400)
    assert.match(res.type, /^text\/html/)
  })
})
