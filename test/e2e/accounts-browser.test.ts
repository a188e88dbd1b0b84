// Two people in real browsers (Debian's Chromium via playwright-core, two separate contexts, so
// two cookie jars): the admin adds an uploader on the users page; the uploader logs in, uploads a
// clip through the form and edits its title on the edit page. The infohash, on the page and in
// the API, is the one the upload got; the new title shows.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { ADMIN_PASSWORD, startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getVideo } from '../helpers/http.ts'
import { captureConsoleErrors, launchChromium } from '../helpers/browser.ts'

const UPLOADER = { name: 'uma', password: 'uma-uploads-videos' }

/** A page in its own browser context, with its script errors and CSP reports collected. */
async function person(browser: Browser): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 } })
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(err.message))
  page.on('console', (msg) => {
    // The browser's own ask for /favicon.ico (the site has none) is no problem of the pages.
    if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico'))
      problems.push(`${msg.text()} (${msg.location().url})`)
  })
  return { page, problems }
}

/** From a page that sent the browser to the log-in form: log in, and wait to be sent back to `back`. */
async function logIn(page: Page, name: string, password: string, back: string): Promise<void> {
  assert.equal(new URL(page.url()).pathname, '/login')
  await page.fill('input[name=username]', name)
  await page.fill('input[name=password]', password)
  await Promise.all([page.waitForURL(back), page.click('form.stacked button[type=submit]')])
}

test('the admin adds an uploader, who uploads and retitles a video; the infohash stays', {
  timeout: 120_000,
}, async (t) => {
  const serverErrors = captureConsoleErrors(t)
  const server = await startTestServer()
  t.after(() => server.stop())
  const clip = await makeVideo({ seconds: 2 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const browser = await launchChromium()
  t.after(() => browser.close())

  // The admin: the users page asks for a login, then adds the uploader.
  const admin = await person(browser)
  await admin.page.goto(`${server.url}/admin/users`)
  await logIn(admin.page, 'admin', ADMIN_PASSWORD, `${server.url}/admin/users`)
  assert.equal(await admin.page.locator('h1').textContent(), 'Users')
  assert.equal(await admin.page.locator('#current-user').textContent(), 'admin')
  const addForm = admin.page.locator('form#add-user')
  await addForm.locator('input[name=name]').fill(UPLOADER.name)
  await addForm.locator('input[name=password]').fill(UPLOADER.password)
  await addForm.locator('select[name=role]').selectOption('uploader')
  await Promise.all([
    admin.page.waitForURL(/\/admin\/users\?done=added$/),
    addForm.locator('button[type=submit]').click(),
  ])
  assert.match((await admin.page.locator('#notice').textContent()) ?? '', /User added/)
  const row = admin.page.locator(`tr[data-user="${UPLOADER.name}"]`)
  assert.equal(await row.locator('.role').textContent(), 'uploader')
  assert.equal(await row.locator('.status').textContent(), 'active')
  await admin.page.screenshot({ path: '/tmp/seedcast-users-page.png', fullPage: true })

  // The uploader, in another browser context: log in, upload through the form.
  const uploader = await person(browser)
  await uploader.page.goto(`${server.url}/upload`)
  await logIn(uploader.page, UPLOADER.name, UPLOADER.password, `${server.url}/upload`)
  assert.equal(await uploader.page.locator('#current-user').textContent(), UPLOADER.name)
  assert.equal(await uploader.page.locator('nav a[href="/admin/users"]').count(), 0, 'no admin links for an uploader')
  await uploader.page.fill('input[name=title]', 'First title')
  await uploader.page.fill('textarea[name=description]', 'Shot on the roof')
  await uploader.page.setInputFiles('input[type=file][name=file]', clip)
  await Promise.all([
    uploader.page.waitForURL(/\/videos\/[A-Za-z0-9]+$/, { timeout: 30_000 }),
    uploader.page.click('form.stacked button[type=submit]'),
  ])
  const videoId = new URL(uploader.page.url()).pathname.split('/').pop()!
  const uploaded = await getVideo(server, videoId)
  assert.equal(uploaded.owner?.name, UPLOADER.name)
  assert.equal(uploaded.status, 'ready')
  const infoHash = uploaded.torrent!.infoHash
  assert.match(infoHash, /^[0-9a-f]{40}$/)
  assert.equal(await uploader.page.locator('#infohash').textContent(), infoHash)

  // Edit the title from the video page.
  await Promise.all([
    uploader.page.waitForURL(`${server.url}/videos/${videoId}/edit`),
    uploader.page.click('#edit-link'),
  ])
  const editForm = uploader.page.locator('form#edit-video')
  assert.equal(await editForm.locator('input[name=title]').inputValue(), 'First title')
  assert.equal(await editForm.locator('textarea[name=description]').inputValue(), 'Shot on the roof')
  await editForm.locator('input[name=title]').fill('A better title')
  await Promise.all([
    uploader.page.waitForURL(`${server.url}/videos/${videoId}`),
    editForm.locator('button[type=submit]').click(),
  ])

  assert.equal(await uploader.page.locator('article.video h1').textContent(), 'A better title')
  await uploader.page.screenshot({ path: '/tmp/seedcast-managed-video.png', fullPage: true })
  assert.equal(await uploader.page.title(), 'A better title · Seedcast')
  assert.equal(await uploader.page.locator('#infohash').textContent(), infoHash, 'the page shows the same infohash')
  const edited = await getVideo(server, videoId)
  assert.equal(edited.title, 'A better title')
  assert.equal(edited.description, 'Shot on the roof')
  assert.equal(edited.torrent?.infoHash, infoHash, 'the API has the same infohash')
  // The .torrent the page links to is the same torrent.
  const torrent = await uploader.page.request.get(`${server.url}/videos/${videoId}/torrent`)
  assert.equal(torrent.status(), 200)
  const { decodeTorrent } = await import('../../src/bittorrent/metainfo.ts')
  assert.equal(decodeTorrent(Buffer.from(await torrent.body())).infoHash, infoHash)

  // The admin sees the new title on the home page.
  await admin.page.goto(`${server.url}/`)
  assert.equal(await admin.page.locator(`ul.videos a[href="/videos/${videoId}"]`).textContent(), 'A better title')

  assert.deepEqual(admin.problems, [], 'no script errors or CSP reports on the admin pages')
  assert.deepEqual(uploader.problems, [], 'none on the uploader pages')
  assert.deepEqual(serverErrors, [], 'the server logged no errors')
})
