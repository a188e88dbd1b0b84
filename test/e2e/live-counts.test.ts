// The video page keeps its swarm numbers live: Chromium shows a video page, a peer announces over
// HTTP, and the downloader count changes without a reload; the peer stops and it goes back. The
// page also carries the two history charts, and stops polling while hidden.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { announceQuery, trackerGet, uploadOk } from '../helpers/http.ts'
import { launchChromium } from '../helpers/browser.ts'

const SCREENSHOT = '/tmp/seedcast-live-counts.png'
// The page polls every 5 s; allow a couple of rounds.
const LIVE_TIMEOUT_MS = 15_000

test('the downloader count follows the swarm without a reload', { timeout: 120_000 }, async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const clip = await makeVideo({ seconds: 1 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const video = await uploadOk(server, { title: 'Live counts' }, { path: clip })
  const hash = video.torrent!.infoHash

  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await browser.newPage({ viewport: { width: 1000, height: 900 } })
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(err.message))
  const navigations: string[] = []
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations.push(frame.url())
  })
  const polls: string[] = []
  page.on('request', (req) => {
    if (new URL(req.url()).pathname === `/api/videos/${video.id}/swarm`) polls.push(req.url())
  })

  await page.goto(video.pageUrl)
  assert.equal(navigations.length, 1)
  // Survives only as long as this document does: a reload would lose it.
  await page.evaluate(() => {
    ;(window as unknown as { __sameDocument: boolean }).__sameDocument = true
  })
  for (const id of ['seeders', 'leechers', 'completed'])
    assert.equal(await page.locator(`#${id}`).textContent(), '0', id)

  // The charts: server-drawn SVG, an empty state before any peer.
  const figures = page.locator('.swarm figure')
  assert.equal(await figures.count(), 2)
  assert.deepEqual(await page.locator('.swarm figcaption').allTextContents(), ['Last 24 hours', 'Last 30 days'])
  assert.equal(await page.locator('.swarm figure svg').count(), 2)
  // The chart the script refreshes from parses as SVG in the browser.
  const parsed = await page.evaluate(
    async (url) =>
      new DOMParser().parseFromString(await (await fetch(url)).text(), 'image/svg+xml').documentElement.localName,
    `/videos/${video.id}/swarm.svg?range=30d`,
  )
  assert.equal(parsed, 'svg')

  const announce = async (event: string) => {
    const res = await trackerGet(
      `${server.url}/announce?${announceQuery(hash, { peerId: '-LE0001-live-leecher', port: 52001, left: 5000, event })}`,
    )
    assert.equal(res.body['failure reason'], undefined)
  }
  const stillSameDocument = async () => {
    assert.equal(
      await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument),
      true,
      'no reload',
    )
    assert.deepEqual(navigations, [video.pageUrl], 'no navigation')
  }

  await announce('started')
  await page.waitForFunction(() => document.getElementById('leechers')?.textContent === '1', undefined, {
    timeout: LIVE_TIMEOUT_MS,
  })
  await stillSameDocument()
  assert.equal(await page.locator('#seeders').textContent(), '0')
  assert.ok(polls.length >= 1, 'the numbers came from the swarm API')
  await page.locator('.swarm').screenshot({ path: SCREENSHOT })

  await announce('stopped')
  await page.waitForFunction(() => document.getElementById('leechers')?.textContent === '0', undefined, {
    timeout: LIVE_TIMEOUT_MS,
  })
  await stillSameDocument()

  // Hidden: no polling. Visible again: it asks at once.
  const setHidden = (hidden: boolean) =>
    page.evaluate((h) => {
      Object.defineProperty(document, 'hidden', { value: h, configurable: true })
      document.dispatchEvent(new Event('visibilitychange'))
    }, hidden)
  await setHidden(true)
  await page.waitForTimeout(500) // a poll already on the wire may still land
  const whileHidden = polls.length
  await page.waitForTimeout(6_000)
  assert.equal(polls.length, whileHidden, 'no polls while hidden')
  await setHidden(false)
  await page.waitForTimeout(1_000)
  assert.equal(polls.length, whileHidden + 1, 'one poll as soon as it is visible again')

  await stillSameDocument()
  assert.deepEqual(pageErrors, [])
})
