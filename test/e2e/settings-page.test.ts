// The admin changes the tracker list on the settings page in a real browser (Debian's Chromium via
// playwright-core): a video uploaded before the change then downloads, from its page's
// "Download .torrent" link, with only the new tracker and the same infohash; its .torrent file on
// disk is rewritten in place; the audit table names the admin. A bad tracker URL is refused beside
// the field, with what was typed kept and nothing saved.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { startTestServer, ADMIN_PASSWORD, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, uploadOk, waitFor } from '../helpers/http.ts'
import { launchChromium, captureConsoleErrors } from '../helpers/browser.ts'

const NEW_TRACKER = 'udp://tracker.example.org:1337/announce'
const BAD_TRACKER = 'ftp://bad.example/announce'
const SCREENSHOT = '/tmp/settings-page.png'
const HELP_IDS = ['bittorrentEnabled-help', 'trackers-help', 'webSeedEnabled-help', 'privateTorrents-help']

const apiSettings = async (s: TestServer) => {
  const res = await getJson(`${s.url}/api/settings`, { headers: { authorization: s.basicAuth } })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body
}

const rewriteDone = (s: TestServer) =>
  waitFor(async () => {
    const body = await apiSettings(s)
    return body.rewrite === null ? body : undefined
  }, 'the .torrent rewrite to finish')

test('settings page: tracker change reaches an earlier upload (page link and disk), audit row, bad URL refused beside the field', {
  timeout: 120_000,
}, async (t) => {
  const serverErrors = captureConsoleErrors(t)
  const server = await startTestServer()
  t.after(() => server.stop())
  const siteTracker = `${server.url}/announce`
  const work = await mkdtemp(path.join(tmpdir(), 'seedcast-settings-page-'))
  t.after(() => rm(work, { recursive: true, force: true }))

  // 1. An upload before any change: its torrent names the site's own tracker.
  const clip = await makeVideo({ seconds: 2 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const video = await uploadOk(server, { title: 'Before the change', description: '' }, { path: clip })
  assert.equal(video.status, 'ready')
  assert.ok(video.torrent, 'the upload has a torrent')
  const infoHash = video.torrent.infoHash
  assert.match(infoHash, /^[0-9a-f]{40}$/)
  const fileName = decodeURIComponent(path.basename(new URL(video.fileUrl).pathname))
  const torrentOnDisk = path.join(server.storageDir, 'media', `${fileName}.torrent`)
  const before = decodeTorrent(await readFile(torrentOnDisk))
  assert.equal(before.infoHash, infoHash)
  assert.deepEqual(before.trackers, [siteTracker], 'made with the default tracker list')

  const browser = await launchChromium()
  t.after(() => browser.close())
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, acceptDownloads: true })
  const page = await context.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (err) => pageErrors.push(err.message))

  // 2. Log in: the settings page sends a visitor without a session to the login form and back.
  await page.goto(`${server.url}/admin/settings`)
  assert.equal(new URL(page.url()).pathname, '/login')
  await page.fill('input[name=username]', 'admin')
  await page.fill('input[name=password]', ADMIN_PASSWORD)
  await Promise.all([page.waitForURL(`${server.url}/admin/settings`), page.click('button[type=submit]')])
  assert.equal(await page.locator('h1').textContent(), 'Settings')

  // Help text for every field, tied to its control.
  for (const id of HELP_IDS) {
    const help = page.locator(`#${id}`)
    assert.ok(await help.isVisible(), `${id} is shown`)
    assert.ok(((await help.textContent()) ?? '').trim().length > 40, `${id} says something`)
    assert.equal(await help.getAttribute('class'), 'hint')
  }
  for (const [control, help] of [
    ['bittorrentEnabled', 'bittorrentEnabled-help'],
    ['otherTrackers', 'trackers-help'],
    ['webSeedEnabled', 'webSeedEnabled-help'],
    ['privateTorrents', 'privateTorrents-help'],
  ]) {
    assert.ok(
      ((await page.locator(`#${control}`).getAttribute('aria-describedby')) ?? '').split(/\s+/).includes(help!),
      `${control} is described by ${help}`,
    )
  }
  // The form as the defaults have it; the site's own tracker is named by its URL.
  const form = page.locator('form.settings')
  const siteBox = form.locator('input[name=siteTracker]')
  assert.ok(await form.locator('input[name=bittorrentEnabled]').isChecked())
  assert.ok(await siteBox.isChecked())
  assert.ok(await form.locator('input[name=webSeedEnabled]').isChecked())
  assert.ok(!(await form.locator('input[name=privateTorrents]').isChecked()))
  assert.equal(await form.locator('textarea[name=otherTrackers]').inputValue(), '')
  assert.equal(await form.locator('label:has(input[name=siteTracker]) code').textContent(), siteTracker)
  assert.equal(await page.locator('#audit').count(), 0, 'no audit table before any change')

  // The background rewrite of the .torrent files is held back until the download below, so that
  // what the link serves at once cannot be the rewritten file (one small file would otherwise be
  // done before the click).
  const rewriter = server.services.rewriter
  const request = rewriter.request.bind(rewriter)
  const held: (() => void)[] = []
  rewriter.request = (opts = {}) =>
    new Promise<boolean>((resolve) => {
      held.push(() => resolve(request(opts)))
    })
  const release = () => {
    rewriter.request = request
    for (const go of held.splice(0)) go()
  }
  t.after(release)

  // Only the new tracker: untick the site's, type the other one, save.
  await siteBox.uncheck()
  await form.locator('textarea[name=otherTrackers]').fill(NEW_TRACKER)
  await Promise.all([
    page.waitForURL(`${server.url}/admin/settings?saved=1`),
    form.locator('button[type=submit]').click(),
  ])
  const notice = page.locator('p.notice[role=status]')
  assert.ok(await notice.isVisible(), 'the saved notice is shown')
  assert.match((await notice.textContent()) ?? '', /^Saved\./)
  assert.equal(await page.locator('.field-error').count(), 0)
  assert.ok(!(await siteBox.isChecked()), 'the site tracker stays unticked')
  assert.equal(await form.locator('textarea[name=otherTrackers]').inputValue(), NEW_TRACKER)
  const saved = await apiSettings(server)
  assert.deepEqual(saved.trackerUrls, [NEW_TRACKER])

  // 3. The earlier video's page: its link downloads the torrent with only the new tracker, at once.
  await page.goto(`${server.url}/videos/${video.id}`)
  const magnet = new URLSearchParams(
    ((await page.locator('#magnet-link').getAttribute('href')) ?? '').replace(/^magnet:\?/, ''),
  )
  assert.deepEqual(magnet.getAll('tr'), [NEW_TRACKER], "the page's magnet link names the new tracker only")
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#torrent-link')])
  assert.equal(download.suggestedFilename(), `${fileName}.torrent`)
  const downloadedPath = path.join(work, 'downloaded.torrent')
  await download.saveAs(downloadedPath)
  assert.equal(await download.failure(), null)
  const downloaded = decodeTorrent(await readFile(downloadedPath))
  assert.deepEqual(downloaded.trackers, [NEW_TRACKER], 'the downloaded torrent names the new tracker only')
  assert.equal(downloaded.infoHash, infoHash, 'same infohash as before the change')
  assert.deepEqual(downloaded.webSeeds, before.webSeeds, 'web seed untouched')
  assert.ok(held.length >= 1, 'saving asked for the rewrite')
  assert.deepEqual(
    decodeTorrent(await readFile(torrentOnDisk)).trackers,
    [siteTracker],
    'not rewritten on disk yet: the new trackers were served at once',
  )
  release()

  // The file on disk, once the background rewrite is done: rewritten in place, same infohash.
  const settled = await rewriteDone(server)
  assert.deepEqual(settled.trackerUrls, [NEW_TRACKER])
  const afterOnDisk = await readFile(torrentOnDisk)
  const rewritten = decodeTorrent(afterOnDisk)
  assert.deepEqual(rewritten.trackers, [NEW_TRACKER], 'the .torrent on disk names the new tracker only')
  assert.equal(rewritten.infoHash, infoHash)
  assert.ok(afterOnDisk.equals(await readFile(downloadedPath)), 'what was served is what is now on disk')

  // 4. The audit table: who changed the trackers, from what to what.
  await page.goto(`${server.url}/admin/settings`)
  // The progress bars go away once nothing runs.
  await page.locator('#jobs').waitFor({ state: 'hidden', timeout: 15_000 })
  const auditRows = async () =>
    page
      .locator('#audit tbody tr')
      .evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent!.trim())))
  assert.deepEqual(await page.locator('#audit thead th').allTextContents(), ['When', 'Who', 'Setting', 'From', 'To'])
  const rows = await auditRows()
  const trackerRows = rows.filter((r) => r[2] === 'trackerUrls')
  assert.equal(trackerRows.length, 1, JSON.stringify(rows))
  const [when, who, , from, to] = trackerRows[0]!
  assert.equal(who, 'admin')
  assert.equal(from, siteTracker)
  assert.equal(to, NEW_TRACKER)
  assert.ok(when, 'the row says when')
  assert.ok(!Number.isNaN(Date.parse((await page.locator('#audit tbody tr time').first().getAttribute('datetime'))!)))
  await page.screenshot({ path: SCREENSHOT, fullPage: true })

  // 5. A bad URL: refused with the reason beside the trackers field; what was typed stays there.
  const typed = `${NEW_TRACKER}\n${BAD_TRACKER}`
  const textarea = form.locator('textarea[name=otherTrackers]')
  await textarea.fill(typed)
  const [answer] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/admin/settings'),
    form.locator('button[type=submit]').click(),
  ])
  assert.equal(answer.status(), 400)
  await page.waitForLoadState()
  assert.equal(new URL(page.url()).pathname, '/admin/settings')
  assert.equal(await page.locator('p.notice').count(), 0, 'no saved notice')
  assert.match((await page.locator('p.error[role=alert]').textContent()) ?? '', /Nothing was saved/)
  const fieldError = page.locator('#trackerUrls-error')
  assert.ok(await fieldError.isVisible(), 'the error is shown')
  assert.equal(await page.locator('.field-error').count(), 1, 'one field marked')
  assert.ok(
    await fieldError.evaluate(
      (el) => el.classList.contains('field-error') && el.closest('fieldset')?.id === 'trackers',
    ),
    'in the trackers fieldset',
  )
  assert.equal(await page.locator('#otherTrackers + .field-error').count(), 1, 'right after the textarea')
  assert.ok(
    ((await fieldError.textContent()) ?? '').includes(BAD_TRACKER),
    `names the bad entry: ${await fieldError.textContent()}`,
  )
  // Tied to the textarea for assistive technology as well.
  assert.equal(await textarea.getAttribute('aria-invalid'), 'true')
  assert.ok(
    ((await textarea.getAttribute('aria-describedby')) ?? '').split(/\s+/).includes('trackerUrls-error'),
    'the textarea is described by its error',
  )
  // Beside it on screen too: just below the textarea, not somewhere else on the page.
  const areaBox = (await textarea.boundingBox())!
  const errBox = (await fieldError.boundingBox())!
  assert.ok(
    errBox.y >= areaBox.y + areaBox.height - 1 && errBox.y - (areaBox.y + areaBox.height) < 40,
    `error at y=${errBox.y}, textarea ends at ${areaBox.y + areaBox.height}`,
  )
  assert.equal(await textarea.inputValue(), typed, 'the textarea holds what was typed')
  assert.ok(!(await siteBox.isChecked()), 'the unticked box stays unticked')
  assert.deepEqual(await apiSettings(server), settled, 'nothing changed')
  assert.deepEqual(await auditRows(), rows, 'no audit entry for a refused change')
  await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-error.png'), fullPage: true })

  // Still served as saved.
  const served = await fetch(`${server.url}/videos/${video.id}/torrent`)
  assert.equal(served.status, 200)
  assert.deepEqual(decodeTorrent(Buffer.from(await served.arrayBuffer())).trackers, [NEW_TRACKER])

  assert.deepEqual(pageErrors, [])
  assert.deepEqual(serverErrors, [], 'the server logged no errors')
})
