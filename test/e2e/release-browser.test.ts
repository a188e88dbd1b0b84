// A release's files on the video page, in Chromium (playwright-core, Debian's browser): the owner
// adds a subtitle through the page's form; the page then shows the new infohash, the file with
// its download link, and says the torrent changed and the previous one is still seeded. The
// owner has no button to stop it; the admin, in another browser context, does, and after it the
// tracker refuses the old infohash.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { ADMIN_PASSWORD, startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { announceQuery, apiUpload, getVideo, trackerGet } from '../helpers/http.ts'
import { addUser } from '../helpers/accounts.ts'
import { captureConsoleErrors, launchChromium } from '../helpers/browser.ts'

const SUBTITLE = Buffer.from('1\n00:00:00,000 --> 00:00:01,000\nHello from the page\n')

async function loggedIn(browser: Browser, url: string, name: string, password: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } })
  const page = await context.newPage()
  await page.goto(`${url}/login`)
  await page.fill('input[name=username]', name)
  await page.fill('input[name=password]', password)
  await Promise.all([page.waitForURL(`${url}/`), page.click('form.stacked button[type=submit]')])
  return page
}

test('the owner adds a subtitle on the page; the page says the torrent changed; the admin stops the old one', {
  timeout: 120_000,
}, async (t) => {
  const serverErrors = captureConsoleErrors(t)
  const server = await startTestServer()
  t.after(() => server.stop())
  const owner = await addUser(server, 'olga', 'uploader')
  const clip = await makeVideo({ seconds: 2 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const uploaded = await apiUpload(server, { title: 'Page release' }, { path: clip }, owner.basic)
  assert.equal(uploaded.status, 201)
  const oldHash: string = uploaded.body.torrent.infoHash
  const videoUrl = `${server.url}/videos/${uploaded.body.id}`
  const browser = await launchChromium()
  t.after(() => browser.close())

  const page = await loggedIn(browser, server.url, owner.name, owner.password)
  await page.goto(videoUrl)
  assert.equal(await page.locator('#infohash').textContent(), oldHash)
  assert.equal(await page.locator('.previous-torrent').count(), 0)
  const form = page.locator('form#add-files-form')
  await form
    .locator('input[type=file]')
    .setInputFiles({ name: 'subs.srt', mimeType: 'application/x-subrip', buffer: SUBTITLE })
  await Promise.all([page.waitForURL(/\?done=files-added$/), form.locator('button[type=submit]').click()])

  assert.match((await page.locator('#notice').textContent()) ?? '', /new torrent/)
  const newHash = (await page.locator('#infohash').textContent()) ?? ''
  assert.notEqual(newHash, oldHash)
  assert.equal(newHash, (await getVideo(server, uploaded.body.id)).torrent?.infoHash)
  const previous = page.locator(`.previous-torrent[data-infohash="${oldHash}"]`)
  assert.match(
    (await previous.textContent()) ?? '',
    new RegExp(`torrent changed when subs\\.srt was added; the previous torrent \\(${oldHash}\\) is still seeded`),
  )
  assert.equal(await previous.locator('button').count(), 0, 'only admins stop seeding an old torrent')
  const link = page.locator('#release-files a', { hasText: 'subs.srt' })
  const href = await link.getAttribute('href')
  assert.ok(href)
  assert.deepEqual(Buffer.from(await (await fetch(href)).arrayBuffer()), SUBTITLE)

  const tracked = async (hash: string) =>
    (await trackerGet(`${server.url}/announce?${announceQuery(hash)}`)).body['failure reason'] === undefined
  assert.equal(await tracked(oldHash), true, 'the old torrent is still tracked')

  // The upload form takes extra files too: they are in the first torrent, no previous one.
  await page.goto(`${server.url}/upload`)
  const upload = page.locator('form#upload-form')
  await upload.locator('input[name=title]').fill('Uploaded with subtitles')
  await upload.locator('input[name=file]').setInputFiles(clip)
  await upload
    .locator('input[name=files]')
    .setInputFiles({ name: 'talk.vtt', mimeType: 'text/vtt', buffer: Buffer.from('WEBVTT\n') })
  await Promise.all([page.waitForURL(/\/videos\/[A-Za-z0-9]+$/), upload.locator('button[type=submit]').click()])
  await page.waitForSelector('#infohash', { timeout: 20_000 })
  assert.equal(await page.locator('#release-files a', { hasText: 'talk.vtt' }).count(), 1)
  assert.equal(await page.locator('.previous-torrent').count(), 0)

  const admin = await loggedIn(browser, server.url, 'admin', ADMIN_PASSWORD)
  await admin.goto(videoUrl)
  await Promise.all([
    admin.waitForURL(/\?done=torrent-removed$/),
    admin
      .locator(`.previous-torrent[data-infohash="${oldHash}"] button`, { hasText: 'Stop seeding the old torrent' })
      .click(),
  ])
  assert.equal(await admin.locator('.previous-torrent').count(), 0)
  assert.equal(await tracked(oldHash), false, 'the old torrent is refused now')
  assert.equal(await tracked(newHash), true)
  assert.deepEqual(serverErrors, [])
})
