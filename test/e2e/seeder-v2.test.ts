// The site's seeder serves BitTorrent v2 (BEP 52): hybrid and v2-only torrents, single- and
// multi-file, to libtorrent 2 (the v2 client here) and to aria2c (v1 only, the v1 side of a
// hybrid). Until uploads make hybrid torrents themselves, each test uploads a clip, builds the
// hybrid or v2 torrent of it here (PieceHasher + MerkleHasher, buildV2Torrent/buildV2MultiTorrent)
// and puts it where the site keeps the clip's torrent: the .torrent beside the file and the
// Torrent row (infoHash, format, infoHashV2), then tells the seeder to rescan. "Alone" means the
// web seed is stripped: the only source is the seeder's peer port.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { aria2LegacyInfoHash } from '../../src/bittorrent/legacyInfoHash.ts'
import { MerkleHasher } from '../../src/bittorrent/merkle.ts'
import { decodeTorrent, stripWebSeeds } from '../../src/bittorrent/metainfo.ts'
import {
  type BuiltV2Torrent,
  buildV2MultiTorrent,
  buildV2Torrent,
  type V2File,
  v1Layout,
} from '../../src/bittorrent/metainfoV2.ts'
import { PieceHasher } from '../../src/bittorrent/pieceHasher.ts'
import { releaseFilePath } from '../../src/media/storage.ts'
import { runAria2c } from '../helpers/aria2.ts'
import { sql } from '../helpers/database.ts'
import { mediaDir, waitFor } from '../helpers/http.ts'
import { hasLibtorrent, libtorrentDownload, type LibtorrentRun } from '../helpers/libtorrent.ts'
import { aria2cFromSeeder, peerHandshake, workDir, type Upload, seedingSite } from '../helpers/seededSite.ts'
import type { TestServer } from '../helpers/server.ts'

const skip = hasLibtorrent() ? false : 'python3-libtorrent not installed (/usr/bin/python3)'
// SEEDER_ENGINE=webtorrent (v1 only) seeds the v1 side of a hybrid and refuses v2-only torrents and
// multi-file releases: only the hybrid's libtorrent downloads are run against it.
const webtorrent = process.env.SEEDER_ENGINE === 'webtorrent'
const v2Skip = skip || (webtorrent ? 'the webtorrent engine is v1 only' : false)
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
type Site = TestServer & { seederPort: number }

async function siteWithClip(t: TestContext): Promise<{ server: Site; upload: Upload; v1: Buffer }> {
  const { server, upload } = await seedingSite(t)
  const v1 = await readFile(path.join(mediaDir(server), `${upload.fileName}.torrent`))
  return { server, upload, v1 }
}

function hashed(data: Buffer, pieceLength: number) {
  const m = new MerkleHasher(pieceLength)
  m.update(data)
  return m.digest()
}

/**
 * Puts `built` in place of the clip's torrent as the upload path will (file, then row), moves the
 * tracker's allow list along, and waits until the seeder answers handshakes for every hash in `peerHashes`.
 */
async function install(server: Site, upload: Upload, oldHash: string, built: BuiltV2Torrent, format: string) {
  await writeFile(path.join(mediaDir(server), `${upload.fileName}.torrent`), built.buffer)
  await sql(
    server,
    'UPDATE "Torrent" SET "infoHash" = ?, "format" = ?, "infoHashV2" = ?, "pieceCount" = ? WHERE "videoId" = ?',
    built.infoHash,
    format,
    built.infoHashV2,
    built.pieceCount,
    upload.video.id,
  )
  server.services.tracker.disallow(oldHash)
  server.services.tracker.allow(
    built.infoHash,
    0,
    upload.original.length,
    format === 'hybrid' ? built.infoHashV2 : null,
  )
  // aria2c < 1.37 (Debian's 1.36 here) names a hybrid by another hash (legacyInfoHash.ts): the
  // seeder answers to it and announces it; the site records it for the torrents it makes
  // (Torrent.legacyInfoHash), and this torrent is made here, so the tracker is told here.
  const legacy = aria2LegacyInfoHash(decodeTorrent(built.buffer).infoBytes)
  if (legacy) server.services.tracker.allow(legacy, 0, upload.original.length)
  server.services.seeder!.notify()
  await waitFor(
    async () => (await peerHandshake(server.seederPort, built.infoHash)) === 'answered',
    `the seeder to seed the ${format} torrent`,
    15_000,
  )
}

/** A single-file hybrid or v2 torrent of the clip, with the site torrent's trackers and web seed. */
function singleFile(upload: Upload, v1: Buffer, format: 'hybrid' | 'v2'): BuiltV2Torrent {
  const site = decodeTorrent(v1)
  const pieces = new PieceHasher(site.pieceLength)
  pieces.update(upload.original)
  return buildV2Torrent({
    name: upload.fileName,
    format,
    merkle: hashed(upload.original, site.pieceLength),
    pieces: format === 'hybrid' ? pieces.digest().pieces : undefined,
    trackers: site.trackers,
    webSeeds: site.webSeeds,
    createdBy: 'Seedcast test',
    creationDate: 1_700_000_000,
  })
}

/** The v1 magnet of a hybrid (btih), naming the site's tracker only. */
function v1Magnet(built: BuiltV2Torrent, name: string, server: Site): string {
  const tracker = decodeTorrent(built.buffer).trackers[0] ?? `${server.url}/announce`
  return `magnet:?xt=urn:btih:${built.infoHash}&dn=${encodeURIComponent(name)}&tr=${encodeURIComponent(tracker)}`
}

async function libtorrentGets(
  t: TestContext,
  server: Site,
  source: Buffer | string,
  files: [string[], Buffer][],
  what: string,
): Promise<LibtorrentRun> {
  const dir = await workDir(t, 'seedcast-lt-')
  let src = source as string
  if (Buffer.isBuffer(source)) {
    src = path.join(dir, 'download.torrent')
    await writeFile(src, source)
  }
  const save = path.join(dir, 'save')
  await mkdir(save)
  const run = await libtorrentDownload({ source: src, saveDir: save, peerPort: server.seederPort, timeoutMs: 60_000 })
  const show = JSON.stringify(run)
  assert.equal(run.finished, true, `${what}: libtorrent finished (${show})`)
  assert.deepEqual(
    { checked: run.checked, complete: run.have === run.pieces && run.pieces > 0, seeding: run.seeding_after_check },
    { checked: true, complete: true, seeding: true },
    `${what}: libtorrent's own check of the data finds every piece (${show})`,
  )
  assert.equal(run.hash_failures, 0, `${what}: no piece failed its hash`)
  assert.ok(run.peers.includes(`127.0.0.1:${server.seederPort}`), `${what}: it talked to the seeder (${show})`)
  for (const [p, data] of files) {
    const got = await readFile(path.join(save, ...p))
    assert.equal(sha256(got), sha256(data), `${what}: ${p.join('/')} byte-identical`)
  }
  t.diagnostic(`${what}: ${run.downloaded} payload bytes from ${run.peers.join(', ')}`)
  return run
}

test('a hybrid torrent: libtorrent 2 from the seeder alone and with the web seed, aria2c (v1) from the seeder alone', {
  skip,
  timeout: 240_000,
}, async (t) => {
  const { server, upload, v1 } = await siteWithClip(t)
  const built = singleFile(upload, v1, 'hybrid')
  await install(server, upload, upload.video.torrent!.infoHash, built, 'hybrid')
  // v2 peers name a hybrid by its truncated v2 infohash; the seeder answers with the same hash.
  if (!webtorrent) assert.equal(await peerHandshake(server.seederPort, built.infoHashV2.slice(0, 40)), 'answered')

  const clip: [string[], Buffer][] = [[[upload.fileName], upload.original]]
  const alone = await libtorrentGets(t, server, stripWebSeeds(built.buffer), clip, 'hybrid, seeder alone')
  assert.ok(alone.downloaded >= upload.original.length, 'all of it came from the seeder')
  await libtorrentGets(t, server, built.buffer, clip, 'hybrid, seeder and web seed')
  if (webtorrent) return // it knows no aria2c hash (below)

  // From the magnet (v1 btih): the info dict comes from the seeder (BEP 9), then the pieces.
  const took = await aria2cFromSeeder(t, server, upload, v1Magnet(built, upload.fileName, server))
  t.diagnostic(`aria2c (v1 side of the hybrid, from the magnet), seeder alone: ${took} ms`)
})

test('a v2-only torrent: libtorrent 2 from the seeder alone (.torrent, and magnet: metadata and piece layers from the seeder) and with the web seed', {
  skip: v2Skip,
  timeout: 240_000,
}, async (t) => {
  const { server, upload, v1 } = await siteWithClip(t)
  const built = singleFile(upload, v1, 'v2')
  assert.equal(built.infoHash, built.infoHashV2.slice(0, 40))
  await install(server, upload, upload.video.torrent!.infoHash, built, 'v2')

  const clip: [string[], Buffer][] = [[[upload.fileName], upload.original]]
  await libtorrentGets(t, server, stripWebSeeds(built.buffer), clip, 'v2, seeder alone')
  await libtorrentGets(t, server, built.buffer, clip, 'v2, seeder and web seed')
  // A magnet has no piece layers: libtorrent gets the info dict by ut_metadata (BEP 9) and the
  // piece hashes by hash requests (BEP 52), both answered by the seeder.
  const magnet = `magnet:?xt=urn:btmh:1220${built.infoHashV2}&dn=${encodeURIComponent(upload.fileName)}`
  const fromMagnet = await libtorrentGets(t, server, magnet, clip, 'v2 magnet, seeder alone')
  assert.ok(
    (fromMagnet.hash_messages.HASHES ?? 0) >= 1,
    `the seeder answered its hash requests (${JSON.stringify(fromMagnet.hash_messages)})`,
  )
  assert.equal(fromMagnet.hash_messages.HASH_REJECT, undefined, 'and rejected none')
})

test('a multi-file hybrid release (video, subtitle, poster; BEP 47 pads) downloads byte-identical in libtorrent 2 and aria2c from the seeder alone, and as v2-only in libtorrent', {
  skip: v2Skip,
  timeout: 240_000,
}, async (t) => {
  const { server, upload, v1 } = await siteWithClip(t)
  const pieceLength = decodeTorrent(v1).pieceLength
  const subtitle = Buffer.from(`WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n`.repeat(40))
  const poster = Buffer.alloc(3 * pieceLength + 1234, 0x5a) // several pieces, ends mid-piece
  const contents: [string[], Buffer][] = [
    [[upload.fileName], upload.original],
    [['subs', 'en.vtt'], subtitle],
    [['poster.jpg'], poster],
  ]
  // The extras where the storage convention puts them (media/<file>.extras/...), before the .torrent.
  for (const [p, data] of contents.slice(1)) {
    const disk = releaseFilePath({ mediaDir: mediaDir(server) }, upload.fileName, p)
    await mkdir(path.dirname(disk), { recursive: true })
    await writeFile(disk, data)
  }
  const files: V2File[] = contents.map(([p, data]) => ({ path: p, merkle: hashed(data, pieceLength) }))
  const byPath = new Map(contents.map(([p, d]) => [p.join('/'), d]))
  const pieces = new PieceHasher(pieceLength)
  const layout = v1Layout(files, pieceLength)
  assert.ok(
    layout.some((e) => e.pad),
    'the v1 side has pad files',
  )
  for (const e of layout) pieces.update(e.pad ? Buffer.alloc(e.length) : byPath.get(e.path.join('/'))!)
  const site = decodeTorrent(v1)
  const name = upload.fileName.replace(/\.[^.]*$/, '')
  const spec = {
    name,
    format: 'hybrid' as const,
    pieceLength,
    files,
    pieces: pieces.digest().pieces,
    trackers: site.trackers,
    webSeeds: [],
    createdBy: 'Seedcast test',
    creationDate: 1_700_000_000,
  }
  const built = buildV2MultiTorrent(spec)
  await install(server, upload, upload.video.torrent!.infoHash, built, 'hybrid')

  const inFolder = contents.map(([p, d]) => [[name, ...p], d] as [string[], Buffer])
  await libtorrentGets(t, server, built.buffer, inFolder, 'multi-file hybrid, libtorrent')

  const dir = await workDir(t, 'seedcast-multi-aria2-')
  const source = path.join(dir, 'release.torrent')
  await writeFile(source, built.buffer)
  const download = path.join(dir, 'download')
  await mkdir(download)
  const run = await runAria2c({
    source,
    dir: download,
    logFile: path.join(dir, 'aria2c.log'),
    timeoutMs: 60_000,
    extraArgs: ['--bt-save-metadata=false'],
  })
  assert.equal(run.code, 0, `aria2c exit ${run.code}\n${run.output.slice(-3000)}`)
  assert.match(run.log, new RegExp(`127\\.0\\.0\\.1:${server.seederPort}\\b`), 'aria2c talked to the seeder peer')
  for (const [p, data] of inFolder) {
    const got = await readFile(path.join(download, ...p))
    assert.equal(sha256(got), sha256(data), `aria2c: ${p.join('/')} byte-identical`)
  }

  // The same release as v2-only: no pad files, each file from a piece boundary (gaps of zeros).
  const v2 = buildV2MultiTorrent({ ...spec, format: 'v2', pieces: undefined })
  await install(server, upload, built.infoHash, v2, 'v2')
  await libtorrentGets(t, server, v2.buffer, inFolder, 'multi-file v2, libtorrent')
})
