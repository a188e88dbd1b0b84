// Multi-file releases through the API: a subtitle added to an uploaded video makes a new torrent
// (a folder with both files, BEP 47 pads in the hybrid), which libtorrent 2 and aria2c download
// through the web seed (/seed/<folder>/<file>) byte for byte; the old torrent stays tracked until
// the admin removes it. Bad names, too many and too large files are refused with nothing lost, and
// an uploader cannot add files to another's video.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { makeVideo } from '../helpers/media.ts'
import {
  announceQuery,
  bdecode,
  btext,
  getJson,
  incomingDir,
  ls,
  lsMedia,
  mediaDir,
  trackerGet,
  type VideoJson,
} from '../helpers/http.ts'
import { addUser, type TestUser } from '../helpers/accounts.ts'
import { runAria2c } from '../helpers/aria2.ts'
import { hasLibtorrent, libtorrentDownload } from '../helpers/libtorrent.ts'

let server: TestServer
let owner: TestUser
let other: TestUser
let clip: string
let work: string
const SUBTITLE = Buffer.from('1\n00:00:00,000 --> 00:00:01,000\nHello, release\n\n'.repeat(400))

before(async () => {
  server = await startTestServer({ RELEASE_MAX_FILES: '3', RELEASE_MAX_BYTES: '200000' })
  owner = await addUser(server, 'owner', 'uploader')
  other = await addUser(server, 'other', 'uploader')
  clip = await makeVideo({ seconds: 3, noise: 10 })
  work = await mkdtemp(path.join(tmpdir(), 'seedcast-release-'))
})
after(async () => {
  await server.stop()
  await rm(path.dirname(clip), { recursive: true, force: true })
  await rm(work, { recursive: true, force: true })
})

async function upload(auth: string): Promise<VideoJson> {
  const form = new FormData()
  form.append('title', 'Release')
  form.append('file', new Blob([await readFile(clip)], { type: 'video/mp4' }), 'clip.mp4')
  const res = await getJson(`${server.url}/api/videos`, {
    method: 'POST',
    headers: { authorization: auth },
    body: form,
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return res.body
}

function addFiles(video: VideoJson, auth: string, files: { name: string; data: Buffer }[]) {
  const form = new FormData()
  for (const f of files) form.append('files', new Blob([new Uint8Array(f.data)]), f.name)
  return getJson(`${server.url}/api/videos/${video.id}/files`, {
    method: 'POST',
    headers: { authorization: auth },
    body: form,
  })
}

const torrentOf = async (v: VideoJson) =>
  Buffer.from(await (await fetch(`${server.url}/videos/${v.id}/torrent`)).arrayBuffer())
const announce = (infoHash: string) => trackerGet(`${server.url}/announce?${announceQuery(infoHash, { left: 0 })}`)
const storedName = (v: VideoJson) => decodeURIComponent(new URL(v.fileUrl).pathname.split('/').pop()!)

test('a subtitle added to a video makes a new multi-file torrent; the old one stays tracked until the admin removes it', async () => {
  const video = await upload(owner.basic)
  const oldHash = video.torrent!.infoHash
  const fileName = storedName(video)
  const folder = fileName.replace(/\.[^.]*$/, '')

  // Another uploader may not; nothing changes.
  const refused = await addFiles(video, other.basic, [{ name: 'subs.srt', data: SUBTITLE }])
  assert.equal(refused.status, 403, JSON.stringify(refused.body))

  const added = await addFiles(video, owner.basic, [{ name: 'subs.srt', data: SUBTITLE }])
  assert.equal(added.status, 201, JSON.stringify(added.body))
  const now: VideoJson = added.body
  assert.equal(now.status, 'ready')
  assert.ok(now.torrent)
  assert.notEqual(now.torrent.infoHash, oldHash, 'a new infohash')
  assert.deepEqual(
    now.files.map((f) => [f.name, f.size, f.kind]),
    [
      [fileName, video.size, 'video'],
      ['subs.srt', SUBTITLE.length, 'subtitle'],
    ],
  )
  assert.deepEqual(
    now.previousTorrents.map((t) => [t.infoHash, t.reason]),
    [[oldHash, 'subs.srt was added']],
  )
  // The download link of the extra file.
  const sub = await fetch(now.files[1]!.url)
  assert.equal(sub.status, 200)
  assert.deepEqual(Buffer.from(await sub.arrayBuffer()), SUBTITLE)

  // The .torrent: one folder, both files, pads (hybrid, the default) so v1 and v2 pieces agree.
  const body = await torrentOf(now)
  const t = bdecode(body)
  assert.equal(btext(t.info.name), folder)
  assert.equal(t.info['meta version'], 2)
  assert.deepEqual(t['url-list'].map(btext), [`${server.url}/seed/`])
  const entries = t.info.files.map((f: any) => ({
    path: f.path.map(btext).join('/'),
    length: f.length,
    pad: f.attr !== undefined && btext(f.attr) === 'p',
  }))
  const real = entries.filter((e: any) => !e.pad)
  assert.deepEqual(
    real.map((e: any) => [e.path, e.length]).sort(),
    [
      [fileName, video.size],
      ['subs.srt', SUBTITLE.length],
    ].sort(),
  )
  const pieceLength = t.info['piece length']
  let offset = 0
  for (const e of entries) {
    offset += e.length
    if (e.pad) assert.equal(offset % pieceLength, 0, 'a pad ends on a piece boundary')
  }
  assert.equal(entries.filter((e: any) => e.pad).length, 1, 'one pad, after the first file')
  assert.ok(Object.keys(t.info['file tree']).length === 2)

  // Both clients download the release from the web seed alone (no peers: no seeder runs here).
  const original = await readFile(clip)
  const torrentFile = path.join(work, 'release.torrent')
  await writeFile(torrentFile, body)
  const aria = path.join(work, 'aria2c')
  const run = await runAria2c({
    source: torrentFile,
    dir: aria,
    logFile: path.join(work, 'aria2c.log'),
    timeoutMs: 60_000,
  })
  assert.equal(run.code, 0, `${now.torrent.infoHash} ${run.output.slice(-2000)}`)
  assert.deepEqual(await readFile(path.join(aria, folder, fileName)), original)
  assert.deepEqual(await readFile(path.join(aria, folder, 'subs.srt')), SUBTITLE)
  if (hasLibtorrent()) {
    const lt = await libtorrentDownload({ source: torrentFile, saveDir: path.join(work, 'lt'), timeoutMs: 90_000 })
    assert.equal(lt.v1, now.torrent.infoHash)
    assert.ok(lt.v2, 'libtorrent reads the v2 part')
    assert.equal(lt.finished, true, JSON.stringify(lt))
    assert.deepEqual(await readFile(path.join(work, 'lt', folder, fileName)), original)
    assert.deepEqual(await readFile(path.join(work, 'lt', folder, 'subs.srt')), SUBTITLE)
  }

  // The old torrent is still tracked, and the new one; the owner cannot remove the old, the admin can.
  assert.equal((await announce(oldHash)).body['failure reason'], undefined)
  assert.equal((await announce(now.torrent.infoHash)).body['failure reason'], undefined)
  // Private: neither torrent is tracked, the release's files are not web-seeded; published again, both are back.
  const setPublished = (published: boolean) =>
    fetch(`${server.url}/api/videos/${video.id}`, {
      method: 'PATCH',
      headers: { authorization: owner.basic, 'content-type': 'application/json' },
      body: JSON.stringify({ published }),
    })
  assert.equal((await setPublished(false)).status, 200)
  assert.ok((await announce(oldHash)).body['failure reason'], 'a private video: its old torrent is not tracked')
  assert.ok((await announce(now.torrent.infoHash)).body['failure reason'])
  assert.equal((await fetch(`${server.url}/seed/${folder}/subs.srt`)).status, 404)
  assert.equal((await setPublished(true)).status, 200)
  assert.equal((await announce(oldHash)).body['failure reason'], undefined)
  assert.equal((await fetch(`${server.url}/seed/${folder}/subs.srt`)).status, 200)

  const byOwner = await fetch(`${server.url}/api/videos/${video.id}/torrents/${oldHash}`, {
    method: 'DELETE',
    headers: { authorization: owner.basic },
  })
  assert.equal(byOwner.status, 403)
  const byAdmin = await fetch(`${server.url}/api/videos/${video.id}/torrents/${oldHash}`, {
    method: 'DELETE',
    headers: { authorization: server.basicAuth },
  })
  assert.equal(byAdmin.status, 204)
  assert.ok((await announce(oldHash)).body['failure reason'], 'the old torrent is refused now')
  assert.deepEqual((await getJson(`${server.url}/api/videos/${video.id}`)).body.previousTorrents, [])
  assert.ok(!(await ls(mediaDir(server))).some((n) => n.startsWith(`${fileName}.${oldHash.slice(0, 12)}`)))

  // A second file retires the hybrid release torrent: tracked by its v2 infohash too (the tracker's alias).
  const second = await addFiles(video, owner.basic, [{ name: 'subs.fr.srt', data: SUBTITLE }])
  assert.equal(second.status, 201, JSON.stringify(second.body))
  assert.deepEqual(
    second.body.previousTorrents.map((p: { infoHash: string; infoHashV2: string }) => [p.infoHash, p.infoHashV2]),
    [[now.torrent.infoHash, decodeTorrent(body).infoHashV2]],
  )
  const v2Alias = (second.body.previousTorrents[0].infoHashV2 as string).slice(0, 40)
  assert.equal((await announce(v2Alias)).body['failure reason'], undefined, 'the retired hybrid by its v2 infohash')
})

test('bad names, too many and too large extra files are refused with a clear 4xx, and nothing is lost', async () => {
  const video = await upload(owner.basic)
  const fileName = storedName(video)
  const before = await lsMedia(mediaDir(server))
  const cases: [string, { name: string; data: Buffer }[], number, RegExp][] = [
    ['a dot-file', [{ name: '.hidden.srt', data: SUBTITLE }], 400, /dot/],
    ['a Windows special', [{ name: 'a|b.srt', data: SUBTITLE }], 400, /usable/],
    ['an extension not allowed', [{ name: 'page.html', data: SUBTITLE }], 400, /extension/],
    ['the video file, in other letter case', [{ name: fileName.toUpperCase(), data: SUBTITLE }], 400, /letter case/],
    [
      'two names differing in case only',
      [
        { name: 'subs.srt', data: SUBTITLE },
        { name: 'SUBS.srt', data: SUBTITLE },
      ],
      400,
      /letter case/,
    ],
    ['too many', ['a', 'b', 'c', 'd'].map((n) => ({ name: `${n}.srt`, data: Buffer.from(n) })), 400, /at most 3/],
    ['too large together', [{ name: 'big.srt', data: Buffer.alloc(200_001, 65) }], 413, /total 200000 bytes/],
  ]
  for (const [what, files, status, message] of cases) {
    const res = await addFiles(video, owner.basic, files)
    assert.equal(res.status, status, `${what}: ${JSON.stringify(res.body)}`)
    assert.match(res.body.error.message, message, what)
    assert.doesNotMatch(res.body.error.message, /\n/, 'one line')
  }
  const after = await getJson(`${server.url}/api/videos/${video.id}`)
  assert.equal(after.body.torrent.infoHash, video.torrent!.infoHash, 'the torrent is as it was')
  assert.equal(after.body.files.length, 1)
  assert.deepEqual(await lsMedia(mediaDir(server)), before)
  assert.deepEqual(await ls(incomingDir(server)), [], 'no upload left behind')
})

test('extra files sent with the upload are in its first torrent; removing one makes a new torrent', async () => {
  const form = new FormData()
  form.append('title', 'With subtitles')
  form.append('file', new Blob([await readFile(clip)], { type: 'video/mp4' }), 'clip.mp4')
  form.append('files', new Blob([new Uint8Array(SUBTITLE)]), 'subs.en.srt')
  form.append('files', new Blob([Buffer.from('WEBVTT\n')]), 'subs.fr.vtt')
  const res = await getJson(`${server.url}/api/videos`, {
    method: 'POST',
    headers: { authorization: owner.basic },
    body: form,
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  const video = await waitReady(res.body.id)
  assert.deepEqual(
    video.files.map((f) => f.name),
    [storedName(video), 'subs.en.srt', 'subs.fr.vtt'],
  )
  assert.deepEqual(video.previousTorrents, [], 'no earlier torrent')
  const names = bdecode(await torrentOf(video))
    .info.files.filter((f: any) => f.attr === undefined)
    .map((f: any) => f.path.map(btext).join('/'))
  assert.deepEqual(names.sort(), [storedName(video), 'subs.en.srt', 'subs.fr.vtt'].sort())

  const removed = await getJson(`${server.url}/api/videos/${video.id}/files/subs.fr.vtt`, {
    method: 'DELETE',
    headers: { authorization: owner.basic },
  })
  assert.equal(removed.status, 200, JSON.stringify(removed.body))
  assert.notEqual(removed.body.torrent.infoHash, video.torrent!.infoHash)
  assert.deepEqual(
    removed.body.files.map((f: { name: string }) => f.name),
    [storedName(video), 'subs.en.srt'],
  )
  // The torrent that held the removed file is not kept: it could not be seeded whole.
  assert.deepEqual(removed.body.previousTorrents, [])
  assert.ok((await announce(video.torrent!.infoHash)).body['failure reason'])
  assert.equal((await fetch(video.files[2]!.url)).status, 404)
})

async function waitReady(id: string): Promise<VideoJson> {
  for (let i = 0; i < 400; i++) {
    const v = (await getJson(`${server.url}/api/videos/${id}`)).body as VideoJson
    if (v.status === 'ready' && v.torrent) return v
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`video ${id} never got its torrent`)
}

test('on a site that makes v1 torrents, a release is a v1 multi-file torrent (no pads) that aria2c downloads', async () => {
  const setFormat = async (torrentFormat: string) => {
    const current = (await getJson(`${server.url}/api/settings`, { headers: { authorization: server.basicAuth } })).body
    const { siteTrackerUrl: _s, backfill: _b, rewrite: _r, ...writable } = current
    const res = await getJson(`${server.url}/api/settings`, {
      method: 'PUT',
      headers: { authorization: server.basicAuth, 'content-type': 'application/json' },
      body: JSON.stringify({ ...writable, torrentFormat }),
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
  }
  await setFormat('v1')
  try {
    const video = await upload(owner.basic)
    const added = await addFiles(video, owner.basic, [{ name: 'subs.srt', data: SUBTITLE }])
    assert.equal(added.status, 201, JSON.stringify(added.body))
    const body = await torrentOf(added.body)
    const t = bdecode(body)
    assert.equal(t.info['meta version'], undefined, 'no v2 part')
    assert.equal(t.info['file tree'], undefined)
    const fileName = storedName(video)
    assert.deepEqual(
      t.info.files.map((f: any) => [f.path.map(btext).join('/'), f.length, f.attr]),
      [
        [fileName, video.size, undefined],
        ['subs.srt', SUBTITLE.length, undefined],
      ],
    )
    const torrentFile = path.join(work, 'v1-release.torrent')
    await writeFile(torrentFile, body)
    const dir = path.join(work, 'aria2c-v1')
    const run = await runAria2c({
      source: torrentFile,
      dir,
      logFile: path.join(work, 'aria2c-v1.log'),
      timeoutMs: 60_000,
    })
    assert.equal(run.code, 0, run.output.slice(-2000))
    const folder = fileName.replace(/\.[^.]*$/, '')
    assert.deepEqual(await readFile(path.join(dir, folder, fileName)), await readFile(clip))
    assert.deepEqual(await readFile(path.join(dir, folder, 'subs.srt')), SUBTITLE)
  } finally {
    await setFormat('hybrid')
  }
})
