// Resumable uploads (tus 1.0.0 at /api/uploads) against a real server with the real tus client
// (tus-js-client in Node): cut off at about half and resumed, across a restart too, the result
// byte-identical with a torrent whose pieces mktorrent agrees with; the content check on the
// first bytes, the size limit, who may upload and who owns it, expiry, the per-user bound.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { makeStorageDir, startTestServer, type TestServer } from '../helpers/server.ts'
import { getJson, ls, mediaDir, waitFor, type VideoJson } from '../helpers/http.ts'
import { addUser, login } from '../helpers/accounts.ts'
import {
  makeSizedVideo,
  mktorrentPieces,
  startCuttingProxy,
  torrentPieces,
  tusStatus,
  tusUpload,
} from '../helpers/tus.ts'
import { referenceMerkle } from '../helpers/v2.ts'

const MiB = 1024 * 1024
const sha1 = async (file: string) =>
  createHash('sha1')
    .update(await readFile(file))
    .digest('hex')
const tusDir = (s: TestServer) => path.join(s.storageDir, 'incoming', 'tus')
const TUS = { 'tus-resumable': '1.0.0' }
const meta = (fields: Record<string, string>) =>
  Object.entries(fields)
    .map(([k, v]) => `${k} ${Buffer.from(v).toString('base64')}`)
    .join(',')

/** POST /api/uploads by hand: the upload's URL, or the refusal. */
async function create(server: TestServer, auth: string | null, length: number, fields = { filename: 'a.mp4' }) {
  const headers: Record<string, string> = { ...TUS, 'upload-length': String(length), 'upload-metadata': meta(fields) }
  if (auth) headers.authorization = auth
  const res = await fetch(`${server.url}/api/uploads`, { method: 'POST', headers })
  const body = await res.text()
  return { status: res.status, location: res.headers.get('location'), body: body ? JSON.parse(body) : undefined }
}

async function patch(server: TestServer, location: string, auth: string, offset: number, body: Buffer) {
  const res = await fetch(new URL(location, server.url), {
    method: 'PATCH',
    headers: {
      ...TUS,
      authorization: auth,
      'upload-offset': String(offset),
      'content-type': 'application/offset+octet-stream',
    },
    body: new Uint8Array(body),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

async function head(server: TestServer, location: string, auth: string) {
  const res = await fetch(new URL(location, server.url), { method: 'HEAD', headers: { ...TUS, authorization: auth } })
  return { status: res.status, offset: Number(res.headers.get('upload-offset')) }
}

/**
 * The stored file is the input, byte for byte; its torrent's pieces are mktorrent's for the same
 * piece length, and (hybrid, the default) its pieces root a plain merkle computation's.
 */
async function checkPublished(server: TestServer, videoId: string, input: string): Promise<VideoJson> {
  const video = (await getJson<VideoJson>(`${server.url}/api/videos/${videoId}`)).body
  assert.equal(video.status, 'ready', 'the torrent is ready when the last byte is answered')
  const stored = path.join(mediaDir(server), new URL(video.fileUrl).pathname.split('/').pop()!)
  assert.equal(await sha1(stored), await sha1(input), 'byte-identical')
  assert.equal(video.size, (await stat(input)).size)
  const ours = await torrentPieces(`${stored}.torrent`)
  assert.equal(ours.pieceLength, video.torrent!.pieceLength)
  assert.ok(ours.pieces.equals(await mktorrentPieces(stored, ours.pieceLength)), 'pieces equal mktorrent’s')
  assert.equal(video.torrent!.format, 'hybrid')
  const root = (await readFile(`${stored}.torrent`)).includes(
    Buffer.concat([Buffer.from('11:pieces root32:'), referenceMerkle(await readFile(stored), ours.pieceLength).root!]),
  )
  assert.ok(root, 'pieces root equals the plain merkle computation (hashed across the resume)')
  return video
}

test('an upload cut off at about half resumes from there and ends byte-identical, with a correct torrent', async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const uploader = await addUser(server, 'alice', 'uploader')
  const input = await makeSizedVideo(40 * MiB + 12345)
  t.after(() => rm(path.dirname(input), { recursive: true, force: true }))
  const size = (await stat(input)).size
  const proxy = await startCuttingProxy(server.port)
  t.after(() => proxy.close())
  const endpoint = `http://127.0.0.1:${proxy.port}/api/uploads`
  const headers = { authorization: uploader.basic }

  proxy.cutAfter(Math.round(size / 2))
  let url = ''
  const cut = await tusUpload(input, { endpoint, headers, onUrl: (u) => (url = u) }).then(
    () => assert.fail('the upload was cut off'),
    (err: unknown) => err,
  )
  assert.equal(tusStatus(cut), 0, 'no answer: the connection was cut')
  assert.ok(url, 'the upload was created before the cut')
  const at = await waitFor(async () => {
    const h = await head(server, new URL(url).pathname, uploader.basic)
    return h.offset > 0 ? h.offset : undefined
  }, 'the server to hold the first half')
  assert.ok(at > size * 0.4 && at < size * 0.6, `held ${at} of ${size} bytes after the cut`)

  const before = proxy.sent()
  const done = await tusUpload(input, { uploadUrl: url, headers })
  assert.ok(done.videoId, 'the last answer names the video (Seedcast-Video)')
  // The resume sent the rest, not the whole file again.
  const resent = proxy.sent() - before
  assert.ok(resent < size - at + 64 * 1024, `sent ${resent} bytes to resume, ${size - at} were missing`)
  const video = await checkPublished(server, done.videoId, input)
  assert.equal(video.owner?.name, 'alice', 'the uploader owns it')
  assert.equal(video.title, 'tus upload')
  assert.deepEqual(await ls(tusDir(server)), [], 'nothing left of the upload in incoming/')
})

test('an upload cut off, then the server restarted, resumes from the received prefix', async (t) => {
  const dir = await makeStorageDir()
  let server = await startTestServer({}, dir)
  t.after(async () => {
    await server.stop()
  })
  const input = await makeSizedVideo(34 * MiB + 7)
  t.after(() => rm(path.dirname(input), { recursive: true, force: true }))
  const size = (await stat(input)).size
  const bytes = await readFile(input)
  const made = await create(server, server.basicAuth, size, { filename: 'restart.mp4', title: 'Restarted' } as never)
  assert.equal(made.status, 201)
  const half = Math.floor(size / 2) + 3
  assert.equal((await patch(server, made.location!, server.basicAuth, 0, bytes.subarray(0, half))).status, 204)

  await server.stop({ keepStorage: true })
  server = await startTestServer({}, dir)
  assert.deepEqual(await head(server, made.location!, server.basicAuth), { status: 200, offset: half })
  const { videoId } = await tusUpload(input, {
    uploadUrl: `${server.url}${made.location}`,
    headers: { authorization: server.basicAuth },
  })
  assert.ok(videoId)
  const video = await checkPublished(server, videoId, input)
  assert.equal(video.title, 'Restarted')
})

test('non-media is refused with 415 on its first chunk, and nothing of it is kept', async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const junk = randomBytes(2 * MiB)
  const made = await create(server, server.basicAuth, junk.length, { filename: 'notes.mp4' })
  assert.equal(made.status, 201)
  const first = await patch(server, made.location!, server.basicAuth, 0, junk.subarray(0, 64 * 1024))
  assert.equal(first.status, 415)
  assert.equal(first.body.error.code, 'unsupported_media_type')
  assert.deepEqual(await ls(tusDir(server)), [], 'its bytes are removed')
  assert.equal((await head(server, made.location!, server.basicAuth)).status, 404)

  // The real client is told the same.
  const file = path.join(server.storageDir, 'junk.bin')
  await writeFile(file, junk)
  const err = await tusUpload(file, {
    endpoint: `${server.url}/api/uploads`,
    headers: { authorization: server.basicAuth },
    chunkSize: 256 * 1024,
  }).then(
    () => assert.fail('accepted'),
    (e: unknown) => e,
  )
  assert.equal(tusStatus(err), 415)
})

test('the size limit: an upload declared larger than MAX_UPLOAD_BYTES is refused with 413', async (t) => {
  const server = await startTestServer({ MAX_UPLOAD_BYTES: String(4 * MiB) })
  t.after(() => server.stop())
  const res = await create(server, server.basicAuth, 4 * MiB + 1)
  assert.equal(res.status, 413)
  assert.equal(res.body.error.code, 'too_large')
  assert.equal((await create(server, server.basicAuth, 4 * MiB)).status, 201)
  // More bytes than declared are refused too.
  const small = await create(server, server.basicAuth, 1000)
  const over = await patch(server, small.location!, server.basicAuth, 0, randomBytes(2000))
  assert.equal(over.status, 413)
})

test('who may upload: anonymous and cookies get 401; an upload is only its creator’s', async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const alice = await addUser(server, 'alice', 'uploader')
  const bob = await addUser(server, 'bob', 'uploader')
  assert.equal((await create(server, null, 1000)).status, 401)
  // A login cookie carries no rights on the API.
  const session = await login(server, 'alice', alice.password)
  const withCookie = await fetch(`${server.url}/api/uploads`, {
    method: 'POST',
    headers: { ...TUS, cookie: session.cookie, 'upload-length': '1000' },
  })
  assert.equal(withCookie.status, 401)
  const made = await create(server, alice.basic, 1000)
  assert.equal(made.status, 201)
  assert.match(made.location!, /^\/api\/uploads\/[0-9a-f]+$/)
  assert.equal((await head(server, made.location!, bob.basic)).status, 404, "another's upload is no upload")
  assert.equal((await patch(server, made.location!, bob.basic, 0, randomBytes(10))).status, 404)
  assert.deepEqual(await head(server, made.location!, alice.basic), { status: 200, offset: 0 })
  // Termination: the creator cancels it, and its bytes go.
  const del = await fetch(new URL(made.location!, server.url), {
    method: 'DELETE',
    headers: { ...TUS, authorization: alice.basic },
  })
  assert.equal(del.status, 204)
  assert.deepEqual(await ls(tusDir(server)), [])
})

test('an unfinished upload expires after TUS_EXPIRY_SECONDS without a byte, and its bytes are removed', async (t) => {
  const server = await startTestServer({ TUS_EXPIRY_SECONDS: '2' })
  t.after(() => server.stop())
  const input = await makeSizedVideo(2 * MiB)
  t.after(() => rm(path.dirname(input), { recursive: true, force: true }))
  const bytes = await readFile(input)
  const made = await create(server, server.basicAuth, bytes.length)
  assert.equal((await patch(server, made.location!, server.basicAuth, 0, bytes.subarray(0, MiB))).status, 204)
  const id = made.location!.split('/').pop()!
  assert.deepEqual(await ls(tusDir(server)), [id, `${id}.json`])
  await waitFor(async () => (await ls(tusDir(server))).length === 0, 'the expired upload to be removed', 8000)
  assert.equal((await head(server, made.location!, server.basicAuth)).status, 404)
})

test('one user holds at most TUS_MAX_UNFINISHED_PER_USER unfinished uploads (429, counted in /metrics)', async (t) => {
  const server = await startTestServer({ TUS_MAX_UNFINISHED_PER_USER: '2' })
  t.after(() => server.stop())
  const alice = await addUser(server, 'alice', 'uploader')
  const first = await create(server, alice.basic, 1000)
  assert.equal((await create(server, alice.basic, 1000)).status, 201)
  const third = await create(server, alice.basic, 1000)
  assert.equal(third.status, 429)
  assert.equal(third.body.error.code, 'too_many_uploads')
  // Another user is not affected.
  assert.equal((await create(server, server.basicAuth, 1000)).status, 201)
  const metrics = await (await fetch(`${server.url}/metrics`)).text()
  assert.match(metrics, /seedcast_refused_total\{bound="upload_unfinished_per_user"\} 1\n/)
  await fetch(new URL(first.location!, server.url), {
    method: 'DELETE',
    headers: { ...TUS, authorization: alice.basic },
  })
  assert.equal((await create(server, alice.basic, 1000)).status, 201, 'room again once one is cancelled')
})

test("the page's /uploads: its session, with the session's CSRF token as a header; nothing from another site", async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const alice = await addUser(server, 'alice', 'uploader')
  const session = await login(server, 'alice', alice.password)
  const post = (headers: Record<string, string>) =>
    fetch(`${server.url}/uploads`, {
      method: 'POST',
      // As the page's client sends them (JSON refusals).
      headers: { ...TUS, 'upload-length': '1000', cookie: session.cookie, accept: 'application/json', ...headers },
    })
  const noToken = await post({})
  assert.equal(noToken.status, 403)
  assert.equal(((await noToken.json()) as { error: { code: string } }).error.code, 'csrf')
  assert.equal((await post({ 'x-csrf-token': 'not-the-token' })).status, 403)
  assert.equal((await post({ 'x-csrf-token': session.csrf, origin: 'https://evil.example' })).status, 403)
  const made = await post({ 'x-csrf-token': session.csrf })
  assert.equal(made.status, 201)
  assert.match(made.headers.get('location') ?? '', /^\/uploads\/[0-9a-f]+$/)
  // Basic credentials count for nothing on the page's path.
  const withBasic = await fetch(`${server.url}/uploads`, {
    method: 'POST',
    headers: { ...TUS, 'upload-length': '1000', authorization: alice.basic },
  })
  assert.equal(withBasic.status, 401)
})
