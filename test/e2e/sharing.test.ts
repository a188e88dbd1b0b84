// Sharing a video: Open Graph and Twitter card tags on its page, oEmbed (discoverable from the
// page; 404 for any other URL), and the embeddable player page, which plays in headless Chromium
// framed by a page of another origin, as it will be on other sites.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, uploadOk, waitForVideo, type VideoJson } from '../helpers/http.ts'
import { launchChromium } from '../helpers/browser.ts'
import { unescapeHtml } from '../helpers/pageSession.ts'

let server: TestServer
let video: VideoJson
let hidden: VideoJson
let browser: Browser | undefined
let framer: http.Server | undefined

before(async () => {
  server = await startTestServer()
  video = await uploadOk(
    server,
    { title: 'Share "me" & <you>', description: 'A clip to share' },
    { path: await makeVideo({ seconds: 4 }) },
  )
  hidden = await uploadOk(server, { title: 'Not shared' }, { path: await makeVideo({ seconds: 1 }) })
  const res = await getJson(`${server.url}/api/videos/${hidden.id}`, {
    method: 'PATCH',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ published: false }),
  })
  assert.equal(res.status, 200)
})

after(async () => {
  await browser?.close()
  await new Promise((r) => (framer ? framer.close(r) : r(undefined)))
  await server?.stop()
})

const oembed = (query: string) => getJson(`${server.url}/oembed?${query}`)
const metaContent = (html: string, attr: 'property' | 'name', key: string) =>
  new RegExp(`<meta ${attr}="${key.replace(/:/g, ':')}" content="([^"]*)">`).exec(html)?.[1]
test('the video page carries Open Graph and Twitter card tags and links its oEmbed', async () => {
  const { thumbnailUrl } = await waitForVideo(server, video.id, (v) => v.thumbnailUrl !== null, 'its poster')
  const html = await (await fetch(video.pageUrl)).text()
  assert.equal(metaContent(html, 'property', 'og:image'), thumbnailUrl)
  assert.equal(metaContent(html, 'name', 'twitter:image'), thumbnailUrl)
  assert.equal(unescapeHtml(metaContent(html, 'property', 'og:title') ?? ''), video.title)
  assert.equal(metaContent(html, 'property', 'og:type'), 'video.other')
  assert.equal(metaContent(html, 'property', 'og:url'), video.pageUrl)
  assert.equal(metaContent(html, 'property', 'og:video'), video.fileUrl)
  assert.equal(metaContent(html, 'property', 'og:video:type'), 'video/mp4')
  assert.equal(metaContent(html, 'name', 'twitter:card'), 'player')
  assert.equal(metaContent(html, 'name', 'twitter:player'), `${video.pageUrl}/embed`)
  const link = /<link rel="alternate" type="application\/json\+oembed" href="([^"]+)"/.exec(html)?.[1]
  assert.ok(link, 'oEmbed discovery link')
  const discovered = await getJson(unescapeHtml(link))
  assert.equal(discovered.status, 200)
  assert.equal(discovered.body.title, video.title)
})

test('oEmbed answers for a video page URL', async () => {
  const res = await oembed(`url=${encodeURIComponent(video.pageUrl)}`)
  assert.equal(res.status, 200)
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  const o = res.body
  assert.equal(o.version, '1.0')
  assert.equal(o.type, 'video')
  assert.equal(o.title, video.title)
  assert.equal(o.provider_name, 'Seedcast')
  assert.equal(o.author_name, 'admin')
  assert.deepEqual([o.width, o.height], [640, 360])
  assert.equal(o.thumbnail_url, (await getJson(`${server.url}/api/videos/${video.id}`)).body.thumbnailUrl)
  const src = /<iframe src="([^"]+)" width="640" height="360"/.exec(o.html)?.[1]
  assert.equal(src, `${video.pageUrl}/embed`)
  // Within maxwidth × maxheight, 16:9 kept.
  const small = await oembed(`url=${encodeURIComponent(video.pageUrl)}&maxwidth=320&format=json`)
  assert.deepEqual([small.body.width, small.body.height], [320, 180])
  assert.match(small.body.html, /width="320" height="180"/)
  // A trailing slash is the same page.
  assert.equal((await oembed(`url=${encodeURIComponent(`${video.pageUrl}/`)}`)).status, 200)
})

test('oEmbed is 404 for any other URL, 400 without one, 501 for XML', async () => {
  const other = [
    `${server.url}/`,
    `${server.url}/videos/no-such-video`,
    hidden.pageUrl,
    `${video.pageUrl}/embed`,
    `${video.fileUrl}`,
    `http://evil.example/videos/${video.id}`,
    `${server.url.replace('127.0.0.1', 'localhost')}/videos/${video.id}`,
    'not a url',
  ]
  for (const url of other) {
    const res = await oembed(`url=${encodeURIComponent(url)}`)
    assert.equal(res.status, 404, url)
    assert.ok(res.body.error.code, url)
  }
  assert.equal((await oembed('')).status, 400)
  assert.equal((await oembed(`url=${encodeURIComponent(video.pageUrl)}&format=xml`)).status, 501)
  assert.equal((await oembed(`url=${encodeURIComponent(video.pageUrl)}&maxwidth=0`)).status, 400)
})

test('the embed page may be framed by other sites; the other pages may not', async () => {
  const embed = await fetch(`${video.pageUrl}/embed`)
  assert.equal(embed.status, 200)
  assert.match(embed.headers.get('content-security-policy') ?? '', /frame-ancestors \*/)
  assert.equal(embed.headers.get('x-frame-options'), null)
  // The same player as the video page: the file at once, the P2P switch and its notice.
  const html = await embed.text()
  assert.match(html, /<div class="p2p" id="p2p"/)
  assert.match(html, /see your IP address/)
  assert.match(html, /<script type="module" src="\/static\/p2p-player\.js"><\/script>/)
  const page = await fetch(video.pageUrl)
  assert.match(page.headers.get('content-security-policy') ?? '', /frame-ancestors 'self'/)
  assert.equal(page.headers.get('x-frame-options'), 'SAMEORIGIN')
  assert.equal((await fetch(`${hidden.pageUrl}/embed`)).status, 404, "a private video's embed")
})

test('the embed page plays, framed by a page of another origin', async () => {
  // Another origin: the same address, another port.
  framer = http.createServer((_req, res) => {
    res.setHeader('content-type', 'text/html; charset=utf-8')
    res.end(
      `<!doctype html><title>elsewhere</title><iframe src="${video.pageUrl}/embed" width="640" height="360"></iframe>`,
    )
  })
  await new Promise<void>((r) => framer!.listen(0, '127.0.0.1', r))
  const elsewhere = `http://127.0.0.1:${(framer.address() as AddressInfo).port}/`
  browser = await launchChromium()
  const page = await browser.newPage()
  const problems: string[] = []
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text())
  })
  await page.goto(elsewhere)
  const frame = await (await page.waitForSelector('iframe')).contentFrame()
  assert.ok(frame, 'the embed page loaded in the frame')
  await frame.waitForSelector('video.player')
  const played = await frame.evaluate(async () => {
    const v = document.querySelector('video')!
    v.muted = true
    await v.play()
    const start = performance.now()
    while (v.currentTime < 0.5 && performance.now() - start < 15_000) await new Promise((r) => setTimeout(r, 50))
    return { currentTime: v.currentTime, readyState: v.readyState, error: v.error?.message ?? null }
  })
  assert.equal(played.error, null)
  assert.ok(played.currentTime >= 0.5, `played to ${played.currentTime}`)
  assert.ok(played.readyState >= 2, `readyState ${played.readyState}`)
  assert.deepEqual(problems, [])
})
