// Smaller holes in the web app, one test each (every one failed before its fix):
// a cursor outside the date range (500 + a stack trace in the log, now 400), UTF-8 upload file
// names (read as Latin-1), symlinks in media/ (followed), no CSP / HSTS, /announce without nosniff.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { rm, symlink, unlink, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { announceQuery, apiUpload, mediaDir, uploadOk, type VideoJson } from '../helpers/http.ts'

let server: TestServer
let clip: string
let video: VideoJson

before(async () => {
  server = await startTestServer()
  clip = await makeVideo({ seconds: 1 })
  video = await uploadOk(server, { title: 'first' }, { path: clip })
})
after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

/** console.error while `fn` runs (the error handler logs 500s there, with their stack). */
async function errorsLoggedDuring(fn: () => Promise<void>): Promise<string[]> {
  const logged: string[] = []
  const original = console.error
  console.error = (...args: unknown[]) => {
    logged.push(args.map(String).join(' '))
  }
  try {
    await fn()
  } finally {
    console.error = original
  }
  return logged
}

describe('a cursor outside the date range', () => {
  // Safe integers, but beyond what a Date holds (±8.64e15 ms).
  const cursors = [`${2 ** 53 - 1}:x`, '8640000000000001:abc', '-9000000000000000:abc'].map((c) =>
    Buffer.from(c).toString('base64url'),
  )

  test('GET /api/videos answers 400, logs nothing', async () => {
    const logged = await errorsLoggedDuring(async () => {
      for (const cursor of cursors) {
        const res = await fetch(`${server.url}/api/videos?cursor=${cursor}`)
        assert.equal(res.status, 400, cursor)
        assert.equal((await res.json()).error.code, 'bad_request')
      }
    })
    assert.deepEqual(logged, [])
  })

  test('the home page (?after=) answers 400, logs nothing', async () => {
    const logged = await errorsLoggedDuring(async () => {
      for (const cursor of cursors)
        assert.equal((await fetch(`${server.url}/?after=${cursor}`, { headers: { accept: 'text/html' } })).status, 400)
    })
    assert.deepEqual(logged, [])
  })
})

test('an upload file name in UTF-8 is read as UTF-8', async () => {
  const res = await apiUpload(server, { title: 'accents' }, { path: clip, name: 'Café ünïcode.mp4' })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  // The stored name keeps the letters (accents dropped), not the mojibake of Latin-1 ("CafA-A-nA-code").
  assert.match(decodeURIComponent(res.body.fileUrl), /\/media\/Cafe-unicode-[A-Za-z0-9]+\.mp4$/)
})

describe('symlinks in media/ are not followed', () => {
  const outside = () => path.join(server.storageDir, 'outside-secret.txt')
  before(async () => {
    await writeFile(outside(), 'not for the web\n')
  })

  test('a symlink under a media name answers 404', async () => {
    const link = path.join(mediaDir(server), 'planted-abc123.mp4')
    await symlink(outside(), link)
    try {
      // The player's URL and the web seed's.
      for (const route of ['media', 'seed']) {
        const res = await fetch(`${server.url}/${route}/planted-abc123.mp4`)
        assert.equal(res.status, 404, route)
        assert.doesNotMatch(await res.text(), /not for the web/)
      }
    } finally {
      await unlink(link)
    }
  })

  test('a video file or .torrent replaced by a symlink answers 404', async () => {
    const file = path.join(mediaDir(server), decodeURIComponent(new URL(video.fileUrl).pathname.split('/').pop()!))
    const saved = file + '.saved'
    for (const target of [file, `${file}.torrent`]) {
      await import('node:fs/promises').then((fs) => fs.rename(target, saved))
      await symlink(outside(), target)
      try {
        const url = target === file ? video.fileUrl : `${server.url}/videos/${video.id}/torrent`
        const res = await fetch(url)
        assert.equal(res.status, 404, url)
        assert.doesNotMatch(await res.text(), /not for the web/)
      } finally {
        await unlink(target)
        await import('node:fs/promises').then((fs) => fs.rename(saved, target))
      }
      assert.equal(
        (await fetch(target === file ? video.fileUrl : `${server.url}/videos/${video.id}/torrent`)).status,
        200,
        'the real file serves again',
      )
    }
  })
})

describe('security headers', () => {
  test('pages carry a Content-Security-Policy allowing only the site itself; no HSTS over plain HTTP', async () => {
    for (const url of ['/', '/login', `/videos/${video.id}`, '/no-such-page']) {
      const res = await fetch(`${server.url}${url}`)
      const csp = res.headers.get('content-security-policy') ?? ''
      assert.match(csp, /default-src 'self'/, url)
      assert.match(csp, /script-src 'self'(;|$)/, url)
      assert.match(csp, /style-src 'self'(;|$)/, url)
      assert.match(csp, /object-src 'none'/, url)
      assert.match(csp, /frame-ancestors 'self'/, url)
      assert.equal(res.headers.get('strict-transport-security'), null, url)
    }
  })

  test('with an https PUBLIC_URL, every answer carries HSTS', async () => {
    const tls = await startTestServer({ PUBLIC_URL: 'https://video.example.org' })
    try {
      for (const url of ['/', '/login', '/healthz', '/api/videos']) {
        const res = await fetch(`${tls.url}${url}`)
        assert.match(res.headers.get('strict-transport-security') ?? '', /^max-age=\d{7,}/, url)
        assert.match(
          res.headers.get('content-security-policy') ?? '',
          /media-src 'self' https:\/\/video\.example\.org/,
          url,
        )
      }
    } finally {
      await tls.stop()
    }
  })

  test('/announce and /scrape replies carry nosniff', async () => {
    for (const url of [`/announce?${announceQuery(video.torrent!.infoHash)}`, '/scrape', '/announce?garbage']) {
      const res = await fetch(`${server.url}${url}`)
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', url)
    }
  })
})

test('a session cookie that is not valid percent-encoding is no session, not a 500', async () => {
  const logged = await errorsLoggedDuring(async () => {
    for (const cookie of [
      'seedcast_session=%E0%A4%A',
      'seedcast_session=%',
      'other=1; seedcast_session=%zz',
      'seedcast_session="unclosed',
      'seedcast_session',
      '=;;; =x; seedcast_session=;',
      `seedcast_session=${'%'.repeat(2000)}`,
    ]) {
      const page = await fetch(`${server.url}/`, { headers: { cookie } })
      assert.equal(page.status, 200, cookie)
      assert.match(await page.text(), /Log in/, 'shown as logged out')
      const admin = await fetch(`${server.url}/admin/settings`, { headers: { cookie }, redirect: 'manual' })
      assert.equal(admin.status, 303, 'sent to log in')
    }
  })
  assert.deepEqual(logged, [])
})
