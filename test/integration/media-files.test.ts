// Serving stored media: byte ranges (player seeking, web seeds), and storage confinement —
// uploaded names are sanitised and no request reads or writes outside STORAGE_DIR.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import {
  getJson,
  lsMedia,
  mediaDir,
  multipartBody,
  orphansDir,
  rawRequest,
  uploadOk,
  webSeedUrl,
  type VideoJson,
} from '../helpers/http.ts'

let server: TestServer
let clip: string
let clipBytes: Buffer
let video: VideoJson
let localFileUrl: string

before(async () => {
  server = await startTestServer()
  clip = await makeVideo({ seconds: 2 })
  clipBytes = await readFile(clip)
  video = await uploadOk(server, { title: 'Range me' }, { path: clip })
  localFileUrl = video.fileUrl.replace(server.services.config.publicUrl, server.url)
})

after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

// The player's URL and the web seed's own (/seed/, capped by webSeedUploadCap) are one handler.
for (const route of ['media', 'seed'] as const) {
  describe(`byte ranges on /${route}/ (${route === 'media' ? 'fileUrl, the player' : 'the web seed'})`, () => {
    const fileUrl = () => (route === 'media' ? localFileUrl : webSeedUrl({ fileUrl: localFileUrl }))

    test('a full GET advertises ranges and serves the file', async () => {
      const res = await fetch(fileUrl())
      assert.equal(res.status, 200)
      assert.equal(res.headers.get('accept-ranges'), 'bytes')
      // Browsers fetching pieces over HTTP (P2P playback) need CORS.
      assert.equal(res.headers.get('access-control-allow-origin'), '*')
      assert.match(res.headers.get('access-control-expose-headers') ?? '', /Content-Range/)
      assert.equal(Number(res.headers.get('content-length')), clipBytes.length)
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), clipBytes)
    })

    test('Range: bytes=100-199 answers 206 with exactly those bytes', async () => {
      const res = await fetch(fileUrl(), { headers: { range: 'bytes=100-199' } })
      assert.equal(res.status, 206)
      assert.equal(res.headers.get('content-range'), `bytes 100-199/${clipBytes.length}`)
      assert.equal(res.headers.get('content-length'), '100')
      assert.equal(res.headers.get('content-type'), 'video/mp4')
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), clipBytes.subarray(100, 200))
    })

    test('open-ended and suffix ranges', async () => {
      const size = clipBytes.length
      const tail = await fetch(fileUrl(), { headers: { range: `bytes=${size - 10}-` } })
      assert.equal(tail.status, 206)
      assert.equal(tail.headers.get('content-range'), `bytes ${size - 10}-${size - 1}/${size}`)
      assert.deepEqual(Buffer.from(await tail.arrayBuffer()), clipBytes.subarray(size - 10))
      const suffix = await fetch(fileUrl(), { headers: { range: 'bytes=-50' } })
      assert.equal(suffix.status, 206)
      assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), clipBytes.subarray(size - 50))
      // A range running past the end is cut to the file.
      const past = await fetch(fileUrl(), { headers: { range: `bytes=${size - 5}-${size + 1000}` } })
      assert.equal(past.status, 206)
      assert.deepEqual(Buffer.from(await past.arrayBuffer()), clipBytes.subarray(size - 5))
    })

    test('an unsatisfiable range answers 416', async () => {
      const size = clipBytes.length
      for (const range of [`bytes=${size}-`, `bytes=${size + 100}-${size + 200}`, 'bytes=500-100']) {
        const res = await fetch(fileUrl(), { headers: { range } })
        assert.equal(res.status, 416, range)
        assert.equal(res.headers.get('content-range'), `bytes */${size}`, range)
        await res.arrayBuffer()
      }
    })

    test('HEAD gives the size without a body', async () => {
      const res = await fetch(fileUrl(), { method: 'HEAD' })
      assert.equal(res.status, 200)
      assert.equal(Number(res.headers.get('content-length')), clipBytes.length)
    })
  })
}

describe('storage confinement', () => {
  const SECRET = 'TOP-SECRET-DO-NOT-SERVE'
  before(async () => {
    await writeFile(path.join(server.storageDir, 'secret.txt'), SECRET)
    await writeFile(path.join(orphansDir(server), 'secret.mp4'), SECRET)
  })

  test('no URL reaches files outside STORAGE_DIR/media', async () => {
    const stored = decodeURIComponent(new URL(video.fileUrl).pathname.slice('/media/'.length))
    const paths = [
      '/media/..%2fsecret.txt',
      '/media/%2e%2e%2fsecret.txt',
      '/media/..%5csecret.txt',
      '/media/%2e%2e%5csecret.txt',
      '/media/../secret.txt',
      '/media/..%2forphans%2fsecret.mp4',
      '/media/..%2fseedcast.db',
      '/media/seedcast.db',
      '/seed/..%2fsecret.txt',
      '/seed/..%2forphans%2fsecret.mp4',
      '/seed/seedcast.db',
      `/seed/${encodeURIComponent(stored)}.torrent`,
      '/media/%2fetc%2fpasswd',
      '/media/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/media/secret.txt%00.mp4',
      '/static/..%2f..%2fsrc%2fconfig.ts',
      '/static/%2e%2e/%2e%2e/package.json',
      '/videos/..%2f..%2fsecret.txt/torrent',
      '/videos/..%2fsecret.txt',
      `/media/${encodeURIComponent(stored)}.torrent`,
      `/media/.${encodeURIComponent(stored)}`,
    ]
    for (const p of paths) {
      const res = await rawRequest(server.port, { path: p })
      assert.ok(res)
      assert.ok(res.status >= 400 && res.status < 500, `${p} → ${res.status}`)
      assert.ok(!res.body.toString('latin1').includes(SECRET), `${p} leaked the secret`)
      assert.ok(!res.body.toString('latin1').includes('SQLite format'), `${p} leaked the database`)
      assert.ok(!res.body.toString('latin1').includes('root:'), `${p} leaked /etc/passwd`)
    }
  })

  test('uploaded file names are sanitised and land in media/ only', async () => {
    const names = [
      '../../../../../../tmp/seedcast-evil.mp4',
      '..\\..\\..\\windows\\evil.mp4',
      '<script>alert(1)<%2Fscript>.mp4',
      '.hidden.mp4',
      'ünïcödé 日本語 file.mp4',
      `${'x'.repeat(300)}.mp4`,
      '...mp4',
      'clip.txt',
      'no-extension',
    ]
    const before = new Set(await lsMedia(mediaDir(server)))
    const boundary = '----seedcast-names'
    for (const name of names) {
      const body = multipartBody(
        boundary,
        { title: `name ${name.slice(0, 40)}` },
        { name, data: clipBytes, type: 'text/plain' },
      )
      const res = await rawRequest(server.port, {
        method: 'POST',
        path: '/api/videos',
        body,
        headers: {
          authorization: server.basicAuth,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': body.length,
        },
      })
      assert.ok(res)
      assert.equal(res.status, 201, `${name}: ${res.body}`)
      const v = JSON.parse(res.body.toString()) as VideoJson
      const storedName = decodeURIComponent(new URL(v.fileUrl).pathname.slice('/media/'.length))
      assert.match(storedName, /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/, `${name} → ${storedName}`)
      assert.ok(!storedName.includes('..'), storedName)
      assert.ok(storedName.endsWith('.mp4'), `extension comes from the content: ${storedName}`)
      assert.ok(storedName.includes(v.id), 'the id keeps names unique')
      assert.equal(v.fileUrl, `${server.services.config.publicUrl}/media/${storedName}`, 'needs no escaping')
      assert.equal((await stat(path.join(mediaDir(server), storedName))).size, clipBytes.length)
      const served = await fetch(`${server.url}/media/${storedName}`)
      assert.equal(served.status, 200)
      await served.arrayBuffer()
    }
    const added = (await lsMedia(mediaDir(server))).filter((n) => !before.has(n))
    assert.equal(added.length, names.length * 2, 'one file and one .torrent per upload')
    assert.deepEqual(
      (await readdir('/tmp')).filter((n) => n.startsWith('seedcast-evil')),
      [],
    )
    // Nothing else appeared in STORAGE_DIR.
    const top = (await readdir(server.storageDir)).filter((n) => !n.startsWith('seedcast.db'))
    assert.deepEqual(top.sort(), ['incoming', 'media', 'orphans', 'secret.txt'])
    const all = await getJson(`${server.url}/api/videos?limit=100`)
    assert.equal(all.body.videos.length, names.length + 1)
  })
})
