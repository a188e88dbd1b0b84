// Uploads that go wrong: cut off by the client, too large, malformed multipart, wrong fields.
// Each must answer with the right error (when anyone is still listening) and leave no file in
// STORAGE_DIR/media or STORAGE_DIR/incoming and no record behind; the server keeps working.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import {
  apiUpload,
  getJson,
  incomingDir,
  ls,
  lsMedia,
  mediaDir,
  multipartBody,
  rawRequest,
  waitFor,
} from '../helpers/http.ts'
import { countRows } from '../helpers/database.ts'

let clip: string
let clipBytes: Buffer

before(async () => {
  clip = await makeVideo({ seconds: 3 })
  clipBytes = await readFile(clip)
})
after(async () => {
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

/** Nothing stored: both folders empty (after any pending clean-up) and no Video rows. */
async function assertNothingLeft(server: TestServer, what: string) {
  await waitFor(async () => (await ls(incomingDir(server))).length === 0, `${what}: incoming/ empty`, 5000)
  assert.deepEqual(await ls(incomingDir(server)), [], `${what}: incoming/`)
  assert.deepEqual(await lsMedia(mediaDir(server)), [], `${what}: media/`)
  assert.equal(await countRows(server, 'Video'), 0, `${what}: Video rows`)
  assert.equal(await countRows(server, 'Torrent'), 0, `${what}: Torrent rows`)
}

async function assertStillWorks(server: TestServer) {
  assert.equal((await getJson(`${server.url}/healthz`)).body.ok, true)
  const ok = await apiUpload(server, { title: 'after the failures' }, { path: clip })
  assert.equal(ok.status, 201, JSON.stringify(ok.body))
  const del = await fetch(`${server.url}/api/videos/${ok.body.id}`, {
    method: 'DELETE',
    headers: { authorization: server.basicAuth },
  })
  assert.equal(del.status, 204)
}

/** True once the server is storing the upload (its .part file exists): the client then goes. */
const storing = (server: TestServer) => async () => (await ls(incomingDir(server))).some((f) => f.endsWith('.part'))

const BOUNDARY = '----seedcast-test-boundary'
const multipartHeaders = (server: TestServer, length: number) => ({
  authorization: server.basicAuth,
  'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
  'content-length': length,
})

describe('cut-off uploads', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(async () => {
    await server?.stop()
  })

  for (const [label, fraction] of [
    ['inside the signature bytes', 0],
    ['half way through the file', 0.5],
    ['one byte short', 1],
  ] as const) {
    test(`a client that disconnects ${label} leaves nothing`, async () => {
      const body = multipartBody(
        BOUNDARY,
        { title: 'cut off', description: 'never finished' },
        { name: 'clip.mp4', data: clipBytes },
      )
      const fileStart = body.indexOf(clipBytes.subarray(0, 64))
      const cut =
        fraction === 0
          ? fileStart + 1000
          : fraction === 1
            ? body.length - 1
            : fileStart + Math.floor(clipBytes.length * fraction)
      const res = await rawRequest(server.port, {
        method: 'POST',
        path: '/api/videos',
        headers: multipartHeaders(server, body.length),
        body: body.subarray(0, cut),
        destroyAfterBody: storing(server),
      })
      assert.equal(res, null, 'no answer is expected on a dropped connection')
      await assertNothingLeft(server, label)
    })
  }

  test('a chunked upload (no Content-Length) cut off mid-file leaves nothing', async () => {
    const body = multipartBody(BOUNDARY, { title: 'chunked' }, { name: 'clip.mp4', data: clipBytes })
    await rawRequest(server.port, {
      method: 'POST',
      path: '/api/videos',
      headers: {
        authorization: server.basicAuth,
        'content-type': `multipart/form-data; boundary=${BOUNDARY}`,
        'transfer-encoding': 'chunked',
      },
      body: body.subarray(0, Math.floor(body.length / 2)),
      destroyAfterBody: storing(server),
    })
    await assertNothingLeft(server, 'chunked')
  })

  test('the server still accepts uploads afterwards', async () => {
    await assertStillWorks(server)
    await assertNothingLeft(server, 'after deleting the good upload')
  })
})

describe('too large (MAX_UPLOAD_BYTES)', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer({ MAX_UPLOAD_BYTES: String(clipBytes.length) })
  })
  after(async () => {
    await server?.stop()
  })

  test('a file of exactly the limit is accepted', async () => {
    const res = await apiUpload(server, { title: 'exactly the limit' }, { path: clip })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.equal(res.body.size, clipBytes.length)
    const del = await fetch(`${server.url}/api/videos/${res.body.id}`, {
      method: 'DELETE',
      headers: { authorization: server.basicAuth },
    })
    assert.equal(del.status, 204)
    await assertNothingLeft(server, 'after delete')
  })

  test('one byte over the limit is 413 and leaves nothing', async () => {
    const body = multipartBody(
      BOUNDARY,
      { title: 'one byte too many' },
      { name: 'clip.mp4', data: Buffer.concat([clipBytes, Buffer.from([0])]) },
    )
    const res = await rawRequest(server.port, {
      method: 'POST',
      path: '/api/videos',
      headers: multipartHeaders(server, body.length),
      body,
    })
    assert.ok(res)
    assert.equal(res.status, 413)
    const err = JSON.parse(res.body.toString())
    assert.equal(err.error.code, 'too_large')
    assert.equal(typeof err.error.message, 'string')
    await assertNothingLeft(server, '413 streamed')
  })

  test('a declared length far over the limit is refused with 413 before the body is read', async () => {
    const big = Buffer.alloc(clipBytes.length * 4 + 2 * 1024 * 1024)
    clipBytes.copy(big)
    const body = multipartBody(BOUNDARY, { title: 'far too big' }, { name: 'big.mp4', data: big })
    const res = await getJson(`${server.url}/api/videos`, {
      method: 'POST',
      headers: { authorization: server.basicAuth, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` },
      body: new Uint8Array(body),
    }).catch((err: Error) => ({ status: -1, body: String(err.cause ?? err) }))
    assert.equal(res.status, 413, JSON.stringify(res.body))
    assert.equal(res.body.error.code, 'too_large')
    await assertNothingLeft(server, '413 declared')
  })

  test('the server still accepts uploads afterwards', async () => {
    await assertStillWorks(server)
  })
})

describe('malformed multipart', () => {
  let server: TestServer
  before(async () => {
    server = await startTestServer()
  })
  after(async () => {
    await server?.stop()
  })

  async function post(body: Buffer | string, contentType: string) {
    const buf = typeof body === 'string' ? Buffer.from(body, 'latin1') : body
    const res = await rawRequest(server.port, {
      method: 'POST',
      path: '/api/videos',
      headers: { authorization: server.basicAuth, 'content-type': contentType, 'content-length': buf.length },
      body: buf,
    })
    assert.ok(res)
    return { status: res.status, body: res.body.length ? JSON.parse(res.body.toString()) : undefined }
  }

  const cases: [string, () => [Buffer | string, string]][] = [
    [
      'no closing boundary after the file',
      () => [
        multipartBody(BOUNDARY, { title: 'x' }, { name: 'clip.mp4', data: clipBytes }, false),
        `multipart/form-data; boundary=${BOUNDARY}`,
      ],
    ],
    [
      'the body stops inside the file part',
      () => [
        multipartBody(BOUNDARY, { title: 'x' }, { name: 'clip.mp4', data: clipBytes }).subarray(0, 30_000),
        `multipart/form-data; boundary=${BOUNDARY}`,
      ],
    ],
    [
      'no boundary parameter',
      () => [multipartBody(BOUNDARY, { title: 'x' }, { name: 'clip.mp4', data: clipBytes }), 'multipart/form-data'],
    ],
    [
      'garbage instead of parts',
      () => ['this is not multipart at all\r\n'.repeat(100), `multipart/form-data; boundary=${BOUNDARY}`],
    ],
    [
      'the file under another field name',
      () => [
        multipartBody(BOUNDARY, { title: 'x' }, { name: 'clip.mp4', data: clipBytes })
          .toString('latin1')
          .replace('name="file"', 'name="video"'),
        `multipart/form-data; boundary=${BOUNDARY}`,
      ],
    ],
    [
      'two files',
      () => {
        const one = multipartBody(BOUNDARY, { title: 'x' }, { name: 'a.mp4', data: clipBytes }, false)
        return [
          Buffer.concat([one, multipartBody(BOUNDARY, {}, { name: 'b.mp4', data: clipBytes })]),
          `multipart/form-data; boundary=${BOUNDARY}`,
        ]
      },
    ],
    ['not multipart at all', () => ['title=x', 'application/x-www-form-urlencoded']],
  ]

  for (const [label, make] of cases) {
    test(`${label}: 400 with an error object, nothing left`, async () => {
      const [body, type] = make()
      const res = await post(body, type)
      assert.equal(res.status, 400, `${label}: ${JSON.stringify(res.body)}`)
      assert.equal(typeof res.body.error.code, 'string')
      assert.equal(typeof res.body.error.message, 'string')
      await assertNothingLeft(server, label)
    })
  }

  test('the server still accepts uploads afterwards', async () => {
    await assertStillWorks(server)
  })
})
