// The P2P player's switches: the viewer's checkbox (remembered), the site-wide opt-in setting, and
// the cases with no P2P at all (a private video, BitTorrent off), where the page is the plain
// player it was. Plus what the browser needs from the site: its own webtorrent build, the service
// worker allowed to control the video pages, the WebSocket tracker in the page's connect-src.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Page } from 'playwright-core'
import { ADMIN_PASSWORD, startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { launchChromium, WEBRTC_LOCAL_ARGS } from '../helpers/browser.ts'
import { uploadOk, waitFor } from '../helpers/http.ts'
import { login } from '../helpers/accounts.ts'

const panelState = (page: Page) => page.evaluate(() => document.getElementById('p2p')!.dataset.state)

async function play(page: Page): Promise<void> {
  await page.evaluate(() => {
    const v = document.querySelector('video')!
    v.muted = true
    return v.play()
  })
}

test('the viewer switch, the opt-in setting, no P2P for private videos or with BitTorrent off', {
  timeout: 180_000,
}, async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  // Long enough to be still playing through every step below (P2P starts with playback).
  const clip = await makeVideo({ seconds: 60, size: '320x240' })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const video = await uploadOk(server, { title: 'switch' }, { path: clip })
  const pageUrl = `${server.url}/videos/${video.id}`
  const put = async (body: object) => {
    const res = await fetch(`${server.url}/api/settings`, {
      method: 'PUT',
      headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    assert.equal(res.status, 200, await res.text())
  }

  // What the site serves for the player.
  const page0 = await fetch(pageUrl)
  assert.match(
    page0.headers.get('content-security-policy') ?? '',
    new RegExp(`connect-src [^;]*ws://127\\.0\\.0\\.1:${server.port}`),
  )
  const html = await page0.text()
  assert.match(html, /<script type="module" src="\/static\/p2p-player.js">/)
  assert.match(html, new RegExp(`data-trackers="\\[&#34;ws://127\\.0\\.0\\.1:${server.port}/announce&#34;\\]"`))
  assert.match(html, /peers see|they see your IP address/)
  const client = await fetch(`${server.url}/static/vendor/webtorrent.min.js`)
  assert.equal(client.status, 200)
  assert.match(client.headers.get('content-type') ?? '', /^text\/javascript/)
  const shipped = await readFile(new URL('../../node_modules/webtorrent/dist/webtorrent.min.js', import.meta.url))
  assert.ok(Buffer.from(await client.arrayBuffer()).equals(shipped), 'the installed webtorrent build')
  const worker = await fetch(`${server.url}/static/vendor/webtorrent-sw.js`)
  assert.equal(worker.status, 200)
  assert.equal(worker.headers.get('service-worker-allowed'), '/videos/')

  const browser = await launchChromium(WEBRTC_LOCAL_ARGS)
  t.after(() => browser.close())
  const context = await browser.newContext()
  const vendorLoads: string[] = []
  context.on('request', (r) => {
    if (r.url().includes('/static/vendor/')) vendorLoads.push(r.url())
  })

  // Opt-in site-wide: the box starts off and nothing peer-to-peer loads, though the video plays.
  await put({ p2pPlayback: 'opt-in' })
  const page = await context.newPage()
  const log: string[] = []
  page.on('console', (m) => log.push(`console.${m.type()}: ${m.text()}`))
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`))
  t.after(() => {
    if (log.length) t.diagnostic(log.slice(-40).join('\n'))
  })
  await page.goto(pageUrl)
  assert.equal(await page.locator('video.player').getAttribute('data-p2p-mode'), 'opt-in')
  assert.equal(await page.locator('#p2p-enabled').isChecked(), false)
  await play(page)
  await waitFor(async () => (await page.evaluate(() => document.querySelector('video')!.currentTime)) > 0.5, 'playback')
  await page.waitForTimeout(1000)
  assert.equal(await panelState(page), 'off')
  assert.equal(vendorLoads.join(' '), '', 'no WebTorrent for a viewer who has not opted in')

  // The viewer opts in: WebTorrent joins (the web seed alone has the pieces) and playback moves onto it.
  await page.locator('#p2p-enabled').check()
  await waitFor(
    async () => (await panelState(page)) === 'p2p',
    'playback on the torrent after opting in',
    60_000,
  ).catch(async (err) => {
    log.push(`state ${await panelState(page)}`)
    throw err
  })
  assert.ok(vendorLoads.some((u) => u.endsWith('/webtorrent.min.js')))
  // Remembered: a reload keeps the viewer's choice over the site's default...
  await page.reload()
  assert.equal(await page.locator('#p2p-enabled').isChecked(), true)
  // ...and switching off stops it, back on the site's file where it was.
  await play(page)
  await waitFor(async () => (await panelState(page)) === 'p2p', 'playback on the torrent after the reload', 60_000)
  await page.locator('#p2p-enabled').uncheck()
  assert.equal(await panelState(page), 'off')
  assert.equal(await page.evaluate(() => document.querySelector('video')!.currentSrc), video.fileUrl)
  await waitFor(
    async () => (await page.evaluate(() => document.querySelector('video')!.readyState)) >= 3,
    'playback from the site file again',
  )
  await page.reload()
  assert.equal(await page.locator('#p2p-enabled').isChecked(), false)
  await put({ p2pPlayback: 'on' })
  await page.reload()
  assert.equal(await page.locator('#p2p-enabled').isChecked(), false, "the viewer's off beats the site's on")

  // No P2P at all: a private video (its torrent is off the tracker), and BitTorrent switched off.
  const plain = (h: string) =>
    !h.includes('data-torrent-url') && !h.includes('p2p-player.js') && h.includes(video.fileUrl)
  const patch = await fetch(`${server.url}/api/videos/${video.id}`, {
    method: 'PATCH',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ published: false }),
  })
  assert.equal(patch.status, 200)
  const session = await login(server, 'admin', ADMIN_PASSWORD)
  const privatePage = await (await fetch(pageUrl, { headers: { cookie: session.cookie } })).text()
  assert.ok(privatePage.includes('id="torrent-link"'), 'its owner sees the torrent')
  assert.ok(plain(privatePage), 'but the player is the plain one')
  await fetch(`${server.url}/api/videos/${video.id}`, {
    method: 'PATCH',
    headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
    body: JSON.stringify({ published: true }),
  })
  await put({ bittorrentEnabled: false })
  assert.ok(plain(await (await fetch(pageUrl)).text()), 'BitTorrent off: the plain player')
  assert.equal(log.filter((l) => l.startsWith('pageerror')).join('\n'), '', 'no script errors')
})
