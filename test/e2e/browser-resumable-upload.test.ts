// The upload page in a real browser (Debian's Chromium via playwright-core), through a proxy that
// slows the upload to a few MB/s and counts every byte the browser sends: the page shows progress
// (bytes, speed, time left), pauses and resumes; it is reloaded half-way, the same file chosen
// again resumes from where the server was (each byte sent about once, not from zero), and the
// page ends on the new video's page, with a file byte-identical to the input.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer } from '../helpers/server.ts'
import { getVideo, mediaDir, waitFor } from '../helpers/http.ts'
import { addUser } from '../helpers/accounts.ts'
import { launchChromium } from '../helpers/browser.ts'
import { makeSizedVideo, startCuttingProxy } from '../helpers/tus.ts'

const MiB = 1024 * 1024
const RATE = 6 * MiB
const sha1 = async (file: string) =>
  createHash('sha1')
    .update(await readFile(file))
    .digest('hex')

test('the upload page shows progress, pauses, survives a reload half-way and resumes from there', {
  timeout: 180_000,
}, async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const uma = await addUser(server, 'uma', 'uploader')
  const input = await makeSizedVideo(36 * MiB)
  t.after(() => rm(path.dirname(input), { recursive: true, force: true }))
  const size = (await stat(input)).size
  const proxy = await startCuttingProxy(server.port, RATE)
  t.after(() => proxy.close())
  const site = `http://127.0.0.1:${proxy.port}`

  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await (await browser.newContext()).newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(err.message))
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.location().url.endsWith('/favicon.ico')) problems.push(msg.text())
  })

  await page.goto(`${site}/upload`)
  await page.fill('input[name=username]', 'uma')
  await page.fill('input[name=password]', uma.password)
  await Promise.all([page.waitForURL(`${site}/upload`), page.click('form.stacked button[type=submit]')])

  const choose = async (title: string) => {
    await page.fill('input[name=title]', title)
    await page.setInputFiles('input[type=file][name=file]', input)
    await page.click('#upload-form button[type=submit]')
  }
  const sentBeforeUpload = proxy.sent()
  await choose('Resumed in a browser')
  await page.waitForFunction(() => Number(document.querySelector('progress')?.value) > 10, undefined, {
    timeout: 30_000,
  })
  // The figures: bytes so far of the total, a speed, a time left.
  assert.match((await page.locator('#upload-bytes').textContent()) ?? '', /^[\d.]+ [KMG]?B of 37.7 MB$/)
  assert.match((await page.locator('#upload-speed').textContent()) ?? '', /^[\d.]+ [KM]B\/s$/)
  assert.match((await page.locator('#upload-eta').textContent()) ?? '', /^\d+ s left$/)

  // Pause: nothing more is sent; resume carries on.
  await page.click('#upload-pause')
  // What the browser had handed to its socket before pausing still drains through the proxy.
  let paused = -1
  for (let i = 0; i < 20 && proxy.sent() !== paused; i++) {
    paused = proxy.sent()
    await page.waitForTimeout(400)
  }
  await page.waitForTimeout(1000)
  assert.ok(proxy.sent() - paused < 64 * 1024, `paused, yet ${proxy.sent() - paused} bytes were sent`)
  await page.click('#upload-resume')
  await page.waitForFunction(() => Number(document.querySelector('progress')?.value) > 45, undefined, {
    timeout: 30_000,
  })

  // A reload cuts the upload off; the server keeps what arrived (the browser's bar counts what it
  // handed to its socket, ahead of that).
  await page.reload()
  assert.equal(await page.locator('#upload-progress').isHidden(), true)
  // The client kept the upload's URL in localStorage; the server says how much it holds.
  const uploadUrl = await page.evaluate(() => {
    const key = Object.keys(localStorage).find((k) => k.startsWith('tus::'))
    return key ? (JSON.parse(localStorage.getItem(key)!) as { uploadUrl: string }).uploadUrl : null
  })
  assert.ok(uploadUrl, 'the page kept the upload to resume')
  const held = await waitFor(async () => {
    const res = await fetch(`${server.url}/api/uploads/${uploadUrl.split('/').pop()}`, {
      method: 'HEAD',
      headers: { 'tus-resumable': '1.0.0', authorization: uma.basic },
    })
    return res.status === 200 ? Number(res.headers.get('upload-offset')) : undefined
  }, 'the server to hold the first part')
  assert.ok(held > size * 0.3, `the server held ${held} of ${size} bytes at the reload`)
  const sentAtReload = proxy.sent()
  await choose('Typed again after the reload')
  await page.waitForFunction(() => document.getElementById('upload-state')?.textContent?.startsWith('Resuming'))
  const resumedFrom = await page.waitForFunction(() => Number(document.querySelector('progress')?.value) || 0)
  assert.ok(
    ((await resumedFrom.jsonValue()) as number) >= (held * 100) / size - 1,
    'the bar starts where the server was, not at 0',
  )
  await page.waitForURL(/\/videos\/[A-Za-z0-9]+$/, { timeout: 60_000 })
  const videoId = new URL(page.url()).pathname.split('/').pop()!

  // Each byte about once: the resume sent what was missing, not the whole file again.
  const total = proxy.sent() - sentBeforeUpload
  const afterReload = proxy.sent() - sentAtReload
  assert.ok(total < size * 1.05 + MiB, `the browser sent ${total} bytes for a file of ${size}`)
  assert.ok(afterReload < size - held + MiB, `sent ${afterReload} bytes after the reload, ${size - held} were missing`)

  const video = await getVideo(server, videoId)
  assert.equal(video.status, 'ready')
  assert.equal(video.title, 'Resumed in a browser', 'the title given when the upload began')
  assert.equal(video.owner?.name, 'uma')
  const stored = path.join(mediaDir(server), new URL(video.fileUrl).pathname.split('/').pop()!)
  assert.equal(await sha1(stored), await sha1(input), 'byte-identical')
  assert.equal(await page.locator('article.video h1').textContent(), 'Resumed in a browser')
  assert.deepEqual(problems, [], 'no script errors or CSP refusals')
})
