// A real browser (Debian's Chromium via playwright-core) logs in, uploads through the form, lands
// on the video page, and plays and seeks the video from the site (HTTP Range).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, ADMIN_PASSWORD } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { launchChromium, captureConsoleErrors } from '../helpers/browser.ts'

const CLIP_SECONDS = 12
const SCREENSHOT = '/tmp/seedcast-video-page.png'

test('log in, upload through the form, and watch and seek the video on its page', { timeout: 120_000 }, async (t) => {
  // The server reports failures with console.error; a player that cancels and seeks must cause none.
  const serverErrors = captureConsoleErrors(t)
  const server = await startTestServer()
  t.after(() => server.stop())
  // Megabytes, so the player cannot have the end of it buffered when it seeks there.
  const clip = await makeVideo({ seconds: CLIP_SECONDS, size: '640x360', noise: 13 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))

  const browser = await launchChromium()
  t.after(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } })
  const page = await context.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(err.message))
  // Injected script would set this; the title below tries.
  await page.addInitScript(() => {
    ;(window as unknown as { __xss?: number }).__xss = 0
  })

  // Every answer for a media file, to see the Range requests.
  const mediaResponses: { status: number; range: string | undefined; contentRange: string | undefined }[] = []
  page.on('response', (res) => {
    if (!new URL(res.url()).pathname.startsWith('/media/')) return
    mediaResponses.push({
      status: res.status(),
      range: res.request().headers().range,
      contentRange: res.headers()['content-range'],
    })
  })

  // Log in; the upload page sends a visitor without a session to the login form and back.
  await page.goto(`${server.url}/upload`)
  assert.equal(new URL(page.url()).pathname, '/login')
  await page.fill('input[name=username]', 'admin')
  await page.fill('input[name=password]', ADMIN_PASSWORD)
  await Promise.all([page.waitForURL(`${server.url}/upload`), page.click('button[type=submit]')])
  assert.equal(await page.locator('h1').textContent(), 'Upload a video')

  // A user-written title full of markup must come back as text.
  const title = `<b>Bold</b> & <script>window.__xss = 1</script> "quotes" <img src=x onerror="window.__xss=2">`
  const description = 'First line <i>not italic</i>\nSecond line'
  await page.fill('input[name=title]', title)
  await page.fill('textarea[name=description]', description)
  await page.setInputFiles('input[type=file][name=file]', clip)
  await Promise.all([
    page.waitForURL(/\/videos\/[A-Za-z0-9]+$/, { timeout: 30_000 }),
    page.click('form.stacked button[type=submit]'),
  ])
  const videoId = new URL(page.url()).pathname.split('/').pop()!

  const api = (await (await fetch(`${server.url}/api/videos/${videoId}`)).json()) as {
    title: string
    status: string
    fileUrl: string
    size: number
    torrent: { infoHash: string; magnet: string; torrentUrl: string }
  }
  assert.equal(api.title, title, 'stored as typed')
  assert.equal(api.status, 'ready')

  // Title and description are text, not markup.
  assert.equal(await page.locator('article.video h1').textContent(), title)
  assert.equal(await page.locator('article.video h1 *').count(), 0, 'no elements inside the title')
  assert.equal(await page.locator('.description').textContent(), description)
  assert.equal(await page.locator('.description i').count(), 0)
  assert.equal(await page.title(), `${title} · Seedcast`)
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), 0, 'no injected script ran')

  // The BitTorrent section: .torrent link, magnet link, infohash, counts.
  const infoHash = (await page.locator('#infohash').textContent())!.trim()
  assert.match(infoHash, /^[0-9a-f]{40}$/)
  assert.equal(infoHash, api.torrent.infoHash)
  const magnet = (await page.locator('#magnet-link').getAttribute('href'))!
  assert.ok(magnet.startsWith(`magnet:?xt=urn:btih:${infoHash}`), magnet)
  assert.equal(magnet, api.torrent.magnet)
  assert.equal(await page.locator('#magnet-link').textContent(), 'Magnet link')
  const torrentLink = page.locator('#torrent-link')
  assert.equal(await torrentLink.textContent(), 'Download .torrent')
  const torrentHref = (await torrentLink.getAttribute('href'))!
  assert.equal(torrentHref, `${server.url}/videos/${videoId}/torrent`)
  const torrentRes = await page.request.get(torrentHref)
  assert.equal(torrentRes.status(), 200)
  assert.match(torrentRes.headers()['content-type'] ?? '', /^application\/x-bittorrent/)
  for (const id of ['seeders', 'leechers', 'completed'])
    assert.equal(await page.locator(`#${id}`).textContent(), '0', id)
  assert.equal(await page.locator('#status').textContent(), 'ready')

  // The player loads the file from the site: metadata, the right length and picture size.
  const player = page.locator('video.player')
  assert.equal(await player.getAttribute('src'), api.fileUrl)
  await page.waitForFunction(
    () => {
      const v = document.querySelector('video')!
      if (v.error) throw new Error(`media error ${v.error.code}: ${v.error.message}`)
      return v.readyState >= 1 && Number.isFinite(v.duration)
    },
    undefined,
    { timeout: 20_000 },
  )
  const meta = await player.evaluate((v: HTMLVideoElement) => ({
    duration: v.duration,
    width: v.videoWidth,
    height: v.videoHeight,
  }))
  assert.ok(Math.abs(meta.duration - CLIP_SECONDS) < 0.5, `duration ${meta.duration}`)
  assert.deepEqual([meta.width, meta.height], [640, 360])

  // Seek near the end: the browser asks for that part with a Range request and decodes a frame.
  const target = CLIP_SECONDS - 2
  const seeked = await player.evaluate(
    (v: HTMLVideoElement, to: number) =>
      new Promise<{ currentTime: number; readyState: number }>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no 'seeked' within 15 s (readyState ${v.readyState})`)),
          15_000,
        )
        v.addEventListener(
          'seeked',
          () => {
            clearTimeout(timer)
            resolve({ currentTime: v.currentTime, readyState: v.readyState })
          },
          { once: true },
        )
        v.currentTime = to
      }),
    target,
  )
  assert.ok(Math.abs(seeked.currentTime - target) < 0.5, `currentTime after seek ${seeked.currentTime}`)
  await page.waitForFunction(() => document.querySelector('video')!.readyState >= 2, undefined, { timeout: 10_000 })

  // Chromium asks for media with Range; the site answers 206 with a Content-Range.
  const ranged = mediaResponses.filter((r) => r.status === 206)
  assert.ok(ranged.length >= 1, `a 206 answer for the media (saw ${JSON.stringify(mediaResponses)})`)
  assert.ok(
    ranged.every((r) => r.range && /^bytes \d+-\d+\/\d+$/.test(r.contentRange ?? '')),
    JSON.stringify(ranged),
  )
  assert.ok(ranged.every((r) => r.contentRange!.endsWith(`/${api.size}`)))
  // preload=metadata stops the first request early, so the seek near the end asks for the file
  // from there on.
  assert.ok(
    ranged.some((r) => Number(/^bytes=(\d+)-/.exec(r.range!)?.[1]) >= api.size / 2),
    `a Range request for the second half, for the seek (saw ${JSON.stringify(mediaResponses)})`,
  )
  t.diagnostic(
    `media requests: ${mediaResponses.map((r) => `${r.status} ${r.range ?? '(no range)'} -> ${r.contentRange ?? ''}`).join('; ')}`,
  )

  // The home page lists it, the title again as text.
  await page.goto(`${server.url}/`)
  assert.equal(await page.locator(`ul.videos a[href="/videos/${videoId}"]`).textContent(), title)
  assert.equal(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss), 0)

  await page.goto(`${server.url}/videos/${videoId}`)
  await page.waitForFunction(() => document.querySelector('video')!.readyState >= 2, undefined, { timeout: 20_000 })
  await page.screenshot({ path: SCREENSHOT, fullPage: true })
  assert.deepEqual(pageErrors, [])
  assert.deepEqual(serverErrors, [], 'the server logged no errors')
})
