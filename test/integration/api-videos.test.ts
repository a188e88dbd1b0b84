// The JSON API for videos: upload, the video object, the .torrent beside the file, listing with
// cursors, fetching one, deleting (file, .torrent, records, tracker allow list), auth and errors.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { makeAudio, makeVideo } from '../helpers/media.ts'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import {
  announceQuery,
  apiUpload,
  bdecode,
  btext,
  getJson,
  incomingDir,
  ls,
  lsMedia,
  mediaDir,
  multipartBody,
  rawRequest,
  trackerGet,
  uploadOk,
  waitForVideo,
  type VideoJson,
  webSeedUrl,
} from '../helpers/http.ts'
import { countRows, sql } from '../helpers/database.ts'

let server: TestServer
let clip: string
let clipBytes: Buffer

before(async () => {
  server = await startTestServer()
  clip = await makeVideo({ seconds: 2 })
  clipBytes = await readFile(clip)
})

after(async () => {
  await server?.stop()
  if (clip) await rm(path.dirname(clip), { recursive: true, force: true })
})

describe('health', () => {
  test('GET /healthz answers 200 {"ok":true}', async () => {
    const res = await getJson(`${server.url}/healthz`)
    assert.equal(res.status, 200)
    // Extra fields (the seeder's state) may follow; `ok` is the contract.
    assert.equal(res.body.ok, true)
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/)
  })
})

describe('POST /api/videos', () => {
  test('stores the upload and answers 201 with the full video object on PUBLIC_URL', async () => {
    const res = await apiUpload(
      server,
      { title: '  First clip ', description: 'A test pattern' },
      { path: clip, name: 'My Holiday.mp4' },
    )
    assert.equal(res.status, 201, JSON.stringify(res.body))
    const v = res.body as VideoJson
    const base = server.services.config.publicUrl
    assert.match(v.id, /^[A-Za-z0-9]{6,}$/)
    assert.equal(v.title, 'First clip')
    assert.equal(v.description, 'A test pattern')
    assert.equal(v.status, 'ready')
    assert.equal(v.pageUrl, `${base}/videos/${v.id}`)
    assert.equal(res.headers.get('location'), v.pageUrl)
    assert.ok(v.fileUrl.startsWith(`${base}/media/`), v.fileUrl)
    assert.equal(v.size, clipBytes.length)
    assert.ok(!Number.isNaN(Date.parse(v.createdAt)) && v.createdAt.endsWith('Z'))
    assert.deepEqual(v.swarm, { seeders: 0, leechers: 0, completed: 0 })
    assert.ok(v.torrent, 'torrent is present')
    assert.match(v.torrent.infoHash, /^[0-9a-f]{40}$/)
    assert.equal(v.torrent.torrentUrl, `${base}/videos/${v.id}/torrent`)
    assert.deepEqual(v.torrent.trackers, [`${base}/announce`])
    assert.deepEqual(v.torrent.webSeeds, [webSeedUrl(v)])
    assert.ok(webSeedUrl(v).startsWith(`${base}/seed/`), webSeedUrl(v))
    // Hybrid (the default torrentFormat): both infohashes, both in the magnet.
    assert.equal(v.torrent.format, 'hybrid')
    assert.match(v.torrent.infoHashV2 ?? '', /^[0-9a-f]{64}$/)
    assert.ok(
      v.torrent.magnet.startsWith(`magnet:?xt=urn:btih:${v.torrent.infoHash}&xt=urn:btmh:1220${v.torrent.infoHashV2}&`),
      v.torrent.magnet,
    )
    const magnet = new URLSearchParams(v.torrent.magnet.slice('magnet:?'.length))
    assert.equal(magnet.get('tr'), `${base}/announce`)
    assert.equal(magnet.get('ws'), webSeedUrl(v))
    for (const key of [
      'id',
      'title',
      'description',
      'status',
      'pageUrl',
      'fileUrl',
      'size',
      'createdAt',
      'torrent',
      'swarm',
    ])
      assert.ok(key in v, key)
    assert.deepEqual(Object.keys(v.torrent).sort(), [
      'format',
      'infoHash',
      'infoHashV2',
      'magnet',
      'magnetV1',
      'pieceLength',
      'torrentUrl',
      'trackers',
      'webSeeds',
    ])

    // The stored file is the upload, byte for byte, and is what fileUrl serves.
    const stored = decodeURIComponent(new URL(v.fileUrl).pathname.slice('/media/'.length))
    assert.deepEqual(await readFile(path.join(mediaDir(server), stored)), clipBytes)
    const served = await fetch(v.fileUrl.replace(base, server.url))
    assert.equal(served.status, 200)
    assert.equal(served.headers.get('content-type'), 'video/mp4')
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), clipBytes)
    assert.deepEqual(await ls(incomingDir(server)), [])
  })

  test('writes <file>.torrent beside the file: hybrid single file, trackers, web seed, comment, creator, correct pieces', async () => {
    const uploadedFrom = Math.floor(Date.now() / 1000)
    const v = await uploadOk(server, { title: 'Torrent check' }, { path: clip })
    const uploadedBy = Math.ceil(Date.now() / 1000)
    const stored = decodeURIComponent(new URL(v.fileUrl).pathname.slice('/media/'.length))
    const torrentFile = path.join(mediaDir(server), `${stored}.torrent`)
    const buf = await readFile(torrentFile)
    const t = decodeTorrent(buf)
    assert.equal(t.infoHash, v.torrent!.infoHash)
    assert.equal(t.name, stored)
    assert.equal(t.length, clipBytes.length)
    assert.equal(t.pieceLength, v.torrent!.pieceLength)
    assert.deepEqual(t.trackers, [`${server.services.config.publicUrl}/announce`])
    assert.deepEqual(t.webSeeds, [webSeedUrl(v)])
    assert.equal(t.comment, v.pageUrl)

    const top = bdecode(buf)
    assert.equal(btext(top.announce), `${server.services.config.publicUrl}/announce`)
    assert.deepEqual(
      top['announce-list'].map((tier: unknown[]) => tier.map(btext)),
      [[`${server.services.config.publicUrl}/announce`]],
    )
    assert.equal(btext(top['created by']), 'Seedcast 0.1.0')
    assert.equal(top.info.files, undefined, 'single-file torrent')
    assert.equal(top.info['meta version'], 2, 'hybrid torrent (the default format): v2 metadata')
    assert.equal(top.info.length, clipBytes.length, 'and the v1 length and pieces')
    assert.ok(
      top['creation date'] >= uploadedFrom && top['creation date'] <= uploadedBy,
      `creation date ${top['creation date']} not within the upload (${uploadedFrom}-${uploadedBy})`,
    )
    // Every piece hash matches the file.
    const pieces = Buffer.from(top.info.pieces)
    for (let i = 0; i * t.pieceLength < clipBytes.length; i++) {
      const digest = createHash('sha1')
        .update(clipBytes.subarray(i * t.pieceLength, (i + 1) * t.pieceLength))
        .digest()
      assert.deepEqual(digest, pieces.subarray(i * 20, i * 20 + 20), `piece ${i}`)
    }

    // Served by id as application/x-bittorrent, the same bytes as on disk.
    const res = await fetch(`${server.url}/videos/${v.id}/torrent`)
    assert.equal(res.status, 200)
    assert.match(res.headers.get('content-type')!, /^application\/x-bittorrent/)
    assert.match(res.headers.get('content-disposition') ?? '', /\.torrent/)
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), buf)
  })

  test('accepts audio by its content too', async () => {
    const wav = await makeAudio()
    try {
      const v = await uploadOk(
        server,
        { title: 'A tone' },
        { path: wav, name: 'tone.bin', type: 'application/octet-stream' },
      )
      assert.equal(v.status, 'ready')
      assert.equal(v.description, '', 'description is optional')
      assert.match(v.fileUrl, /\.wav$/)
      assert.ok(v.torrent)
    } finally {
      await rm(path.dirname(wav), { recursive: true, force: true })
    }
  })

  test('a chunked upload (no Content-Length) is hashed after it lands, with a correct torrent', async () => {
    const boundary = '----seedcast-chunked'
    const body = multipartBody(boundary, { title: 'Chunked' }, { name: 'chunked.mp4', data: clipBytes })
    const res = await rawRequest(server.port, {
      method: 'POST',
      path: '/api/videos',
      body,
      headers: {
        authorization: server.basicAuth,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'transfer-encoding': 'chunked',
      },
    })
    assert.ok(res)
    assert.equal(res.status, 201, res.body.toString())
    const created = JSON.parse(res.body.toString()) as VideoJson
    // Answered at once, not after hashing the whole file again in the worker.
    assert.equal(created.status, 'processing')
    assert.equal(created.torrent, null)
    const v = await waitForVideo(server, created.id, (x) => x.status === 'ready' && x.torrent !== null)
    assert.equal(v.size, clipBytes.length)
    const stored = decodeURIComponent(new URL(v.fileUrl).pathname.slice('/media/'.length))
    const t = decodeTorrent(await readFile(path.join(mediaDir(server), `${stored}.torrent`)))
    assert.equal(t.infoHash, v.torrent!.infoHash)
    assert.equal(t.length, clipBytes.length)
    assert.equal(t.name, stored)
  })

  test('400 for a title over 200 characters or a description over 10,000', async () => {
    const videos = await countRows(server, 'Video')
    const long = await apiUpload(server, { title: 'x'.repeat(201) }, { path: clip })
    assert.equal(long.status, 400)
    const longDescription = await apiUpload(server, { title: 'ok', description: 'y'.repeat(10_001) }, { path: clip })
    assert.equal(longDescription.status, 400)
    assert.equal(await countRows(server, 'Video'), videos)
    assert.deepEqual(await ls(incomingDir(server)), [])
  })

  test('401 without credentials or with a wrong password, and nothing is stored', async () => {
    const before = await lsMedia(mediaDir(server))
    const none = await apiUpload(server, { title: 'x' }, { path: clip }, null)
    assert.equal(none.status, 401)
    assert.equal(none.body.error.code, 'unauthorized')
    assert.equal(typeof none.body.error.message, 'string')
    assert.match(none.headers.get('www-authenticate') ?? '', /^Basic /)
    const wrong = await apiUpload(
      server,
      { title: 'x' },
      { path: clip },
      'Basic ' + Buffer.from('admin:not-the-password').toString('base64'),
    )
    assert.equal(wrong.status, 401)
    assert.deepEqual(await lsMedia(mediaDir(server)), before)
  })

  test('400 for a missing title or a missing file, with nothing left behind', async () => {
    const before = await lsMedia(mediaDir(server))
    const videos = await countRows(server, 'Video')
    const noTitle = await apiUpload(server, { description: 'no title' }, { path: clip })
    assert.equal(noTitle.status, 400)
    assert.equal(noTitle.body.error.code, 'invalid_title')
    const blankTitle = await apiUpload(server, { title: '   ' }, { path: clip })
    assert.equal(blankTitle.status, 400)
    const noFile = await apiUpload(server, { title: 'no file' })
    assert.equal(noFile.status, 400)
    assert.equal(noFile.body.error.code, 'missing_file')
    const notMultipart = await getJson(`${server.url}/api/videos`, {
      method: 'POST',
      headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
      body: '{"title":"x"}',
    })
    assert.equal(notMultipart.status, 400)
    assert.deepEqual(await lsMedia(mediaDir(server)), before)
    assert.deepEqual(await ls(incomingDir(server)), [])
    assert.equal(await countRows(server, 'Video'), videos)
  })

  test('415 for content that is not audio or video, whatever its name and type claim', async () => {
    const dir = path.join(tmpdir(), `seedcast-fake-${process.pid}`)
    await rm(dir, { recursive: true, force: true })
    const { mkdir } = await import('node:fs/promises')
    await mkdir(dir)
    try {
      const before = await lsMedia(mediaDir(server))
      const videos = await countRows(server, 'Video')
      const cases: [string, Buffer][] = [
        ['small.mp4', Buffer.from('<html><script>alert(1)</script></html>')],
        ['big.mp4', Buffer.alloc(200_000, 'not a video at all ')],
        ['empty.mp4', Buffer.alloc(0)],
      ]
      for (const [name, data] of cases) {
        const file = path.join(dir, name)
        await writeFile(file, data)
        const res = await apiUpload(server, { title: name }, { path: file, type: 'video/mp4' })
        assert.equal(res.status, 415, `${name}: ${JSON.stringify(res.body)}`)
        assert.equal(typeof res.body.error.code, 'string')
        assert.equal(typeof res.body.error.message, 'string')
      }
      assert.deepEqual(await lsMedia(mediaDir(server)), before)
      assert.deepEqual(await ls(incomingDir(server)), [])
      assert.equal(await countRows(server, 'Video'), videos)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('GET /api/videos', () => {
  test('lists newest first and pages with limit and cursor', async () => {
    const made: string[] = []
    for (let i = 0; i < 3; i++) made.push((await uploadOk(server, { title: `Page ${i}` }, { path: clip })).id)
    const all = await getJson(`${server.url}/api/videos?limit=100`)
    assert.equal(all.status, 200)
    assert.equal(all.body.next, null)
    const ids: string[] = all.body.videos.map((v: VideoJson) => v.id)
    assert.deepEqual(ids.slice(0, 3), [...made].reverse())
    const times = all.body.videos.map((v: VideoJson) => Date.parse(v.createdAt))
    assert.deepEqual(
      times,
      [...times].sort((a, b) => b - a),
    )

    // Walk the whole list two at a time: same order, nothing twice, nothing missed.
    const walked: string[] = []
    let cursor: string | null = null
    do {
      const page: any = await getJson(
        `${server.url}/api/videos?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      )
      assert.equal(page.status, 200)
      assert.ok(page.body.videos.length <= 2)
      walked.push(...page.body.videos.map((v: VideoJson) => v.id))
      cursor = page.body.next
      assert.ok(cursor === null || typeof cursor === 'string')
    } while (cursor)
    assert.deepEqual(walked, ids)

    const first = all.body.videos[0] as VideoJson
    assert.deepEqual((await getJson(`${server.url}/api/videos/${first.id}`)).body, first)
  })

  test('rejects a bad limit or cursor with 400', async () => {
    for (const q of ['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', 'cursor=bm9wZQ', 'cursor=']) {
      const res = await getJson(`${server.url}/api/videos?${q}`)
      assert.equal(res.status, 400, q)
      assert.equal(typeof res.body.error.code, 'string', q)
    }
  })

  test('GET /api/videos/:id of an unknown id is a 404 error object', async () => {
    const res = await getJson(`${server.url}/api/videos/doesnotexist`)
    assert.equal(res.status, 404)
    assert.equal(typeof res.body.error.code, 'string')
    assert.equal(typeof res.body.error.message, 'string')
  })
})

describe('DELETE /api/videos/:id', () => {
  test('needs the admin', async () => {
    const v = await uploadOk(server, { title: 'Keep me' }, { path: clip })
    const res = await fetch(`${server.url}/api/videos/${v.id}`, { method: 'DELETE' })
    assert.equal(res.status, 401)
    assert.equal((await getJson(`${server.url}/api/videos/${v.id}`)).status, 200)
  })

  test('removes the file, the .torrent, the records and the tracker allow-list entry', async () => {
    const v = await uploadOk(server, { title: 'Delete me' }, { path: clip })
    const stored = decodeURIComponent(new URL(v.fileUrl).pathname.slice('/media/'.length))
    const file = path.join(mediaDir(server), stored)
    await stat(file)
    await stat(`${file}.torrent`)
    const infoHash = v.torrent!.infoHash
    const ok = await trackerGet(`${server.url}/announce?${announceQuery(infoHash)}`)
    assert.equal(ok.body['failure reason'], undefined, 'announce works before the delete')

    const res = await fetch(`${server.url}/api/videos/${v.id}`, {
      method: 'DELETE',
      headers: { authorization: server.basicAuth },
    })
    assert.equal(res.status, 204)
    assert.equal(await res.text(), '')

    assert.ok(!(await lsMedia(mediaDir(server))).some((n) => n.startsWith(stored)), 'file and .torrent are gone')
    assert.deepEqual(await sql(server, 'SELECT id FROM "Video" WHERE id = ?', v.id), [])
    assert.deepEqual(
      await sql(server, 'SELECT id FROM "Torrent" WHERE "videoId" = ? OR "infoHash" = ?', v.id, infoHash),
      [],
    )
    const refused = await trackerGet(`${server.url}/announce?${announceQuery(infoHash)}`)
    assert.equal(typeof refused.body['failure reason'], 'object', 'announce now refused')
    assert.equal((await getJson(`${server.url}/api/videos/${v.id}`)).status, 404)
    assert.equal((await fetch(`${server.url}/videos/${v.id}/torrent`)).status, 404)
    assert.equal((await fetch(`${server.url}/media/${encodeURIComponent(stored)}`)).status, 404)
    const listed = await getJson(`${server.url}/api/videos?limit=100`)
    assert.ok(!listed.body.videos.some((x: VideoJson) => x.id === v.id))

    const again = await getJson(`${server.url}/api/videos/${v.id}`, {
      method: 'DELETE',
      headers: { authorization: server.basicAuth },
    })
    assert.equal(again.status, 404)
  })
})
