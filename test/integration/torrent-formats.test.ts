// The torrentFormat setting and what each upload path makes of it, on a real server: hybrid (the
// default) through the multipart upload and tus, loaded by libtorrent 2 with the infohashes the
// API reports, its v1 pieces mktorrent's and its pieces root a plain merkle computation's; the
// worker pool (BitTorrent switched on after the upload) makes the same info dict as the streaming
// hashers; v1 is what it always was; v2-only has no btih; bad values change nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import bencode from 'bencode'
import { buildTorrent, decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { PieceHasher } from '../../src/bittorrent/pieceHasher.ts'
import { TorrentHasher } from '../../src/bittorrent/torrentHasher.ts'
import { writeTorrentFile } from '../../src/media/torrentWriter.ts'
import { getJson, getVideo, mediaDir, uploadOk, waitFor, type VideoJson } from '../helpers/http.ts'
import { makeVideo } from '../helpers/media.ts'
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts'
import { PageSession } from '../helpers/pageSession.ts'
import { makeSizedVideo, mktorrentPieces, tusUpload } from '../helpers/tus.ts'
import { libtorrentCheck, libtorrentSkip, referenceMerkle } from '../helpers/v2.ts'

const MiB = 1024 * 1024
// Over 2,000 pieces of 16 KiB: pieces of 32 KiB, the smallest mktorrent makes.
const SIZE = 34 * MiB + 12345

const putSettings = (server: TestServer, body: unknown) =>
  getJson(`${server.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: server.basicAuth },
    body: JSON.stringify(body),
  })

const storedPath = (server: TestServer, v: VideoJson) =>
  path.join(mediaDir(server), decodeURIComponent(new URL(v.fileUrl).pathname.split('/').pop()!))

interface Served {
  raw: Buffer
  top: any
  info: any
  infoBytes: Buffer
}

async function servedTorrent(v: VideoJson): Promise<Served> {
  const res = await fetch(v.torrent!.torrentUrl)
  assert.equal(res.status, 200)
  const raw = Buffer.from(await res.arrayBuffer())
  const top = bencode.decode(raw) as any
  return { raw, top, info: top.info, infoBytes: Buffer.from(bencode.encode(top.info)) }
}

const sha = (alg: string, b: Buffer) => createHash(alg).update(b).digest('hex')

/** A hybrid torrent as the site serves it, checked against independent tools and libtorrent. */
async function checkHybrid(server: TestServer, v: VideoJson, input: string): Promise<void> {
  assert.equal(v.status, 'ready', 'the torrent is ready when the upload is answered')
  const t = v.torrent!
  assert.equal(t.format, 'hybrid')
  const { raw, info, infoBytes } = await servedTorrent(v)
  assert.equal(t.infoHash, sha('sha1', infoBytes), 'infoHash: the v1 SHA-1 of the info dict')
  assert.equal(t.infoHashV2, sha('sha256', infoBytes), 'infoHashV2: its full SHA-256')
  assert.ok(t.magnet.includes(`xt=urn:btih:${t.infoHash}`), t.magnet)
  assert.ok(t.magnet.includes(`xt=urn:btmh:1220${t.infoHashV2}`), t.magnet)
  // For clients that refuse a btmh (rTorrent 0.9): the same magnet without it, on the API and the page.
  assert.equal(t.magnetV1, t.magnet.replace(/&xt=urn:btmh:[^&]*/, ''))
  const page = await (await fetch(v.pageUrl)).text()
  assert.ok(page.includes(`id="magnet-link-v1" href="${t.magnetV1!.replaceAll('&', '&amp;')}"`), 'the page offers it')
  assert.equal(info['meta version'], 2)

  const stored = storedPath(server, v)
  const data = await readFile(stored)
  assert.ok(data.equals(await readFile(input)), 'the stored file is the input')
  const pieceLength = info['piece length'] as number
  assert.equal(pieceLength, t.pieceLength)
  assert.ok(Buffer.from(info.pieces).equals(await mktorrentPieces(stored, pieceLength)), 'v1 pieces equal mktorrent’s')
  const name = Buffer.from(info.name).toString()
  const fileEntry = info['file tree'][name]['']
  assert.equal(fileEntry.length, data.length)
  const ref = referenceMerkle(data, pieceLength)
  const root = Buffer.from(fileEntry['pieces root'])
  assert.ok(root.equals(ref.root!), 'pieces root equals the plain merkle computation')
  const layerEntry = Buffer.concat([Buffer.from('32:'), root, Buffer.from(`${ref.layer!.length}:`), ref.layer!])
  assert.ok(raw.includes(layerEntry), 'its piece layer is the plain computation’s too')

  if (libtorrentSkip) return
  const torrentFile = `${stored}.torrent`
  const lt = await libtorrentCheck(torrentFile, mediaDir(server))
  assert.equal(lt.v1, t.infoHash, 'libtorrent’s v1 infohash is the API’s')
  assert.equal(lt.v2, t.infoHashV2, 'libtorrent’s v2 infohash is the API’s')
  assert.deepEqual(
    { checked: lt.checked, seeding: lt.seeding, have: lt.have },
    { checked: true, seeding: true, have: Math.ceil(data.length / pieceLength) },
    'libtorrent finds every piece of the stored file (SHA-1 and SHA-256)',
  )
}

test('hybrid by default: multipart and tus uploads make a hybrid torrent ready at upload end', async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const input = await makeSizedVideo(SIZE)
  t.after(() => rm(path.dirname(input), { recursive: true, force: true }))
  const settings = await getJson(`${server.url}/api/settings`, { headers: { authorization: server.basicAuth } })
  assert.equal(settings.body.torrentFormat, 'hybrid')

  const multipart = await uploadOk(server, { title: 'hybrid multipart' }, { path: input })
  await checkHybrid(server, multipart, input)

  const { videoId } = await tusUpload(input, {
    endpoint: `${server.url}/api/uploads`,
    headers: { authorization: server.basicAuth },
    chunkSize: 8 * MiB,
  })
  assert.ok(videoId)
  await checkHybrid(server, await getVideo(server, videoId), input)

  // The page shows both infohashes and the format.
  const page = await (await fetch(multipart.pageUrl)).text()
  assert.match(page, new RegExp(`id="infohash">${multipart.torrent!.infoHash}<`))
  assert.match(page, new RegExp(`id="infohash-v2">${multipart.torrent!.infoHashV2}<`))
  assert.match(page, /id="torrent-format">Hybrid/)
  // The feed's magnet is the API's: both infohashes.
  const rss = await (await fetch(`${server.url}/feed.rss`)).text()
  assert.ok(rss.includes(`<torrent:magnetURI>${multipart.torrent!.magnet.replaceAll('&', '&amp;')}<`), 'the RSS magnet')
})

test('the worker pool (torrents made when BitTorrent is switched on) makes the streaming hashers’ info dict', async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const input = await makeSizedVideo(SIZE)
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-formats-'))
  t.after(async () => {
    await rm(path.dirname(input), { recursive: true, force: true })
    await rm(dir, { recursive: true, force: true })
  })
  assert.equal((await putSettings(server, { bittorrentEnabled: false })).status, 200)
  const off = await uploadOk(server, { title: 'made while off' }, { path: input })
  assert.equal(off.torrent, null)
  assert.equal((await putSettings(server, { bittorrentEnabled: true })).status, 200)
  const v = await waitFor(
    async () => {
      const now = await getVideo(server, off.id)
      return now.status === 'ready' && now.torrent ? now : null
    },
    'the backfill to make the torrent',
    120_000,
  )
  await checkHybrid(server, v, input)

  // The same file, same name, hashed by the streaming hashers (the upload paths' TorrentHasher).
  const stored = storedPath(server, v)
  const copy = path.join(dir, path.basename(stored))
  await copyFile(stored, copy)
  const bytes = await readFile(copy)
  const hasher = new TorrentHasher(v.torrent!.pieceLength, 'hybrid')
  for (let o = 0; o < bytes.length; o += 65_536) hasher.update(bytes.subarray(o, o + 65_536))
  const streamed = await writeTorrentFile(
    { fileName: path.basename(stored), filePath: copy, size: bytes.length },
    hasher.digest(),
    { trackers: v.torrent!.trackers, webSeeds: [], comment: '', createdBy: 'test', private: false, format: 'hybrid' },
  )
  const theirs = bencode.decode(await readFile(streamed.torrentPath)) as any
  const { infoBytes } = await servedTorrent(v)
  assert.ok(Buffer.from(bencode.encode(theirs.info)).equals(infoBytes), 'the same info dict, byte for byte')
  assert.equal(streamed.infoHash, v.torrent!.infoHash)
  assert.equal(streamed.infoHashV2, v.torrent!.infoHashV2)
})

test('the setting switches formats: v1 as before, v2-only without btih; bad values are 400 and change nothing', async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const clip = await makeVideo({ seconds: 1 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const audit = async () =>
    (await getJson(`${server.url}/api/settings/audit`, { headers: { authorization: server.basicAuth } })).body
      .entries as { field: string; from: unknown; to: unknown }[]

  // v1: the torrent this site always made (buildTorrent's bytes), no v2 in it.
  const v1Put = await putSettings(server, { torrentFormat: 'v1' })
  assert.equal(v1Put.status, 200)
  assert.equal(v1Put.body.torrentFormat, 'v1')
  assert.deepEqual(
    (await audit()).filter((e) => e.field === 'torrentFormat').map((e) => [e.from, e.to]),
    [['hybrid', 'v1']],
    'audited',
  )
  const v1 = await uploadOk(server, { title: 'v1' }, { path: clip })
  assert.equal(v1.torrent!.format, 'v1')
  assert.equal(v1.torrent!.infoHashV2, null)
  assert.ok(!v1.torrent!.magnet.includes('btmh'), v1.torrent!.magnet)
  assert.equal(v1.torrent!.magnetV1, v1.torrent!.magnet, 'a v1 magnet is v1 only already')
  assert.ok(!(await (await fetch(v1.pageUrl)).text()).includes('magnet-link-v1'), 'one magnet link on its page')
  const v1File = await readFile(`${storedPath(server, v1)}.torrent`)
  const top = bencode.decode(v1File) as any
  assert.deepEqual(Object.keys(top.info).sort(), ['length', 'name', 'piece length', 'pieces'])
  const data = await readFile(clip)
  const pieces = new PieceHasher(v1.torrent!.pieceLength)
  pieces.update(data)
  const before = buildTorrent({
    name: path.basename(storedPath(server, v1)),
    length: data.length,
    pieceLength: v1.torrent!.pieceLength,
    pieces: pieces.digest().pieces,
    trackers: v1.torrent!.trackers,
    webSeeds: v1.torrent!.webSeeds,
    comment: Buffer.from(top.comment).toString(),
    createdBy: Buffer.from(top['created by']).toString(),
    creationDate: top['creation date'],
    private: false,
  })
  assert.ok(before.buffer.equals(v1File), 'byte-identical to the v1 writer’s output')
  assert.equal(v1.torrent!.infoHash, before.infoHash)

  // v2-only: no SHA-1 anywhere; the infohash trackers see is the v2 one truncated (BEP 52).
  assert.equal((await putSettings(server, { torrentFormat: 'v2' })).status, 200)
  const v2 = await uploadOk(server, { title: 'v2' }, { path: clip })
  const t2 = v2.torrent!
  assert.equal(t2.format, 'v2')
  assert.match(t2.infoHashV2 ?? '', /^[0-9a-f]{64}$/)
  assert.equal(t2.infoHash, t2.infoHashV2!.slice(0, 40))
  assert.ok(!t2.magnet.includes('btih'), t2.magnet)
  assert.equal(t2.magnetV1, null, 'a v2-only torrent has no v1 side')
  assert.ok(t2.magnet.includes(`xt=urn:btmh:1220${t2.infoHashV2}`), t2.magnet)
  const served = await servedTorrent(v2)
  assert.equal(sha('sha256', served.infoBytes), t2.infoHashV2)
  assert.equal(served.info.pieces, undefined)
  assert.equal(served.info.length, undefined)
  const name = Buffer.from(served.info.name).toString()
  const root = Buffer.from(served.info['file tree'][name]['']['pieces root'])
  assert.ok(root.equals(referenceMerkle(data, t2.pieceLength).root!), 'pieces root equals the plain merkle computation')
  if (!libtorrentSkip) {
    const lt = await libtorrentCheck(`${storedPath(server, v2)}.torrent`, mediaDir(server))
    assert.deepEqual({ v1: lt.v1, v2: lt.v2, seeding: lt.seeding }, { v1: null, v2: t2.infoHashV2, seeding: true })
  }
  const page = await (await fetch(v2.pageUrl)).text()
  assert.match(page, /id="torrent-format">BitTorrent v2 only/)
  assert.ok(!page.includes('data-torrent-url'), 'no WebTorrent playback for a v2-only torrent (it reads v1 only)')
  // Existing torrents keep their format.
  assert.equal((await getVideo(server, v1.id)).torrent!.format, 'v1')

  const entries = (await audit()).length
  for (const bad of ['v3', 'V1', '', 1, null, true, ['v1'], { v1: true }]) {
    const res = await putSettings(server, { torrentFormat: bad, privateTorrents: true })
    assert.equal(res.status, 400, JSON.stringify(bad))
    assert.equal(res.body.error.code, 'invalid_settings')
    assert.equal(res.body.error.message, 'torrentFormat: must be one of: v1, hybrid, v2')
    const now = await getJson(`${server.url}/api/settings`, { headers: { authorization: server.basicAuth } })
    assert.deepEqual([now.body.torrentFormat, now.body.privateTorrents], ['v2', false], 'nothing changed')
  }
  assert.equal((await audit()).length, entries, 'nothing audited')

  // The settings rewrite of existing torrents (trackers, web seed) keeps each one's format and infohashes.
  assert.equal((await putSettings(server, { torrentFormat: 'hybrid' })).status, 200)
  const hybrid = await uploadOk(server, { title: 'hybrid' }, { path: clip })
  const tracker = 'udp://tracker.example:6969/announce'
  const trackerUrls = [...hybrid.torrent!.trackers, tracker]
  assert.equal((await putSettings(server, { trackerUrls, webSeedEnabled: false })).status, 200)
  const settled = () => getJson(`${server.url}/api/settings`, { headers: { authorization: server.basicAuth } })
  await waitFor(async () => (await settled()).body.rewrite === null, 'the rewrite to finish')
  for (const v of [v1, v2, hybrid]) {
    const file = await readFile(`${storedPath(server, v)}.torrent`)
    const now = decodeTorrent(file)
    assert.deepEqual(
      [now.format, now.infoHash, now.infoHashV2, now.trackers, now.webSeeds],
      [v.torrent!.format, v.torrent!.infoHash, v.torrent!.infoHashV2, trackerUrls, []],
      `${v.torrent!.format}: rewritten in place, same format and infohashes`,
    )
    assert.deepEqual((await getVideo(server, v.id)).torrent!.trackers, trackerUrls)
  }
})

test('the settings page: the format as radio buttons, saved from the form, a bad one refused beside its field', async (t) => {
  const server = await startTestServer()
  t.after(() => server.stop())
  const admin = await PageSession.logIn(server, 'admin', ADMIN_PASSWORD)
  const page = await admin.get('/admin/settings')
  assert.equal(page.status, 200)
  assert.match(page.body, /id="torrentFormat-hybrid" value="hybrid"[^>]*checked/)
  assert.match(page.body, /Applies to torrents made from now on only: existing torrents keep their format/)
  const form = {
    bittorrentEnabled: 'on',
    siteTracker: 'on',
    webSeedEnabled: 'on',
    seederUploadCap: '0',
    webSeedUploadCap: '0',
    p2pPlayback: 'on',
  }
  const saved = await admin.post('/admin/settings', { ...form, torrentFormat: 'v2' })
  assert.equal(saved.status, 303, saved.body.slice(0, 300))
  assert.match((await admin.get('/admin/settings')).body, /id="torrentFormat-v2" value="v2"[^>]*checked/)
  const refused = await admin.post('/admin/settings', { ...form, torrentFormat: 'v9' })
  assert.equal(refused.status, 400)
  assert.match(refused.body, /<p class="error field-error">must be one of: v1, hybrid, v2<\/p>/)
  const now = await getJson(`${server.url}/api/settings`, { headers: { authorization: server.basicAuth } })
  assert.equal(now.body.torrentFormat, 'v2', 'nothing changed')
})
