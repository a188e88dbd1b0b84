// The pages work under their Content-Security-Policy: Chromium visits every page (logged in and
// not), lets the video page load its player and poll its counts, and reports no violation.
// Also checks the templates stay free of what the policy forbids (inline script, style, handlers).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ADMIN_PASSWORD, startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { uploadOk } from '../helpers/http.ts'
import { launchChromium } from '../helpers/browser.ts'

const VIEWS = fileURLToPath(new URL('../../views/', import.meta.url))

test('views have no inline script, style or event handler', async () => {
  const files = [
    ...(await readdir(VIEWS)).map((f) => path.join(VIEWS, f)),
    ...(await readdir(path.join(VIEWS, 'partials'))).map((f) => path.join(VIEWS, 'partials', f)),
  ].filter((f) => f.endsWith('.ejs'))
  assert.ok(files.length >= 5)
  for (const file of files) {
    const text = await readFile(file, 'utf8')
    assert.doesNotMatch(text, /<script(?![^>]*\ssrc=)[^>]*>/i, `${file}: inline <script>`)
    assert.doesNotMatch(text, /<style[\s>]/i, `${file}: <style>`)
    assert.doesNotMatch(text, /\sstyle\s*=/i, `${file}: style attribute`)
    assert.doesNotMatch(text, /\son[a-z]+\s*=/i, `${file}: event handler attribute`)
    assert.doesNotMatch(text, /javascript:/i, `${file}: javascript: URL`)
  }
})

test('every page runs in Chromium without a CSP violation', { timeout: 90_000 }, async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const clip = await makeVideo({ seconds: 2 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const video = await uploadOk(server, { title: 'under policy' }, { path: clip })

  const browser = await launchChromium()
  t.after(() => browser.close())
  const page = await (await browser.newContext()).newPage()
  const violations: string[] = []
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) violations.push(m.text())
  })
  await page.exposeFunction('__cspViolation', (v: string) => {
    violations.push(v)
  })
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      ;(window as unknown as { __cspViolation(v: string): void }).__cspViolation(
        `${e.violatedDirective} ${e.blockedURI}`,
      )
    })
  })

  for (const url of ['/', '/login', `/videos/${video.id}`, '/no-such-page']) {
    const res = await page.goto(`${server.url}${url}`)
    assert.ok(res?.headers()['content-security-policy'], url)
  }
  await page.goto(`${server.url}/login`)
  await page.fill('input[name=username]', 'admin')
  await page.fill('input[name=password]', ADMIN_PASSWORD)
  await Promise.all([page.waitForURL(`${server.url}/`), page.click('button[type=submit]')])
  for (const url of ['/upload', '/admin/settings', '/']) await page.goto(`${server.url}${url}`)

  // The video page: the player loads the file, the script polls the counts (every 5 s).
  const polled = page.waitForResponse((r) => r.url().endsWith(`/api/videos/${video.id}/swarm`), { timeout: 15_000 })
  await page.goto(`${server.url}/videos/${video.id}`)
  await page.waitForFunction(
    () => ((document.querySelector('video') as HTMLVideoElement | null)?.readyState ?? 0) >= 1,
    undefined,
    { timeout: 15_000 },
  )
  assert.equal((await polled).status(), 200)
  assert.deepEqual(violations, [])
})
