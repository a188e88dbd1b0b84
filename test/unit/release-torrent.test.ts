// The torrent of a multi-file release in each format the site makes (v1, hybrid, v2): one folder
// with every file, BEP 47 pad files in the hybrid only (each file then starts on a piece
// boundary), read back by the site's reader, and verified against the data by libtorrent 2
// (which checks the v1 SHA-1 pieces and the v2 merkle trees). A flipped byte must fail that check.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { writeReleaseTorrent } from '../../src/media/releaseTorrent.ts'
import { readFileSync } from 'node:fs'
import { hasLibtorrent, libtorrentDownload } from '../helpers/libtorrent.ts'

let dir = ''
const FOLDER = 'clip-abcdefghijk'
// Sizes that are not multiples of the piece length (16 KiB for this total), so pads are needed.
const FILES = [
  { name: 'clip-abcdefghijk.mp4', data: randomBytes(150_001) },
  { name: 'subs.srt', data: Buffer.from('1\n00:00:00,000 --> 00:00:01,000\nHi\n'.repeat(300)) },
  { name: 'poster.jpg', data: randomBytes(40_000) },
]
const ctx = { trackers: ['http://127.0.0.1:1/announce'], webSeeds: [], comment: '', createdBy: 'test', private: false }

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'seedcast-release-torrent-'))
  await mkdir(path.join(dir, 'data', FOLDER), { recursive: true })
  for (const f of FILES) await writeFile(path.join(dir, 'data', FOLDER, f.name), f.data)
})
after(() => rm(dir, { recursive: true, force: true }))

for (const format of ['v1', 'hybrid', 'v2'] as const) {
  test(`a ${format} release torrent holds every file in one folder`, async () => {
    const torrentPath = path.join(dir, `${format}.torrent`)
    const files = FILES.map((f) => ({
      name: f.name,
      size: f.data.length,
      diskPath: path.join(dir, 'data', FOLDER, f.name),
    }))
    const written = await writeReleaseTorrent({ folder: FOLDER, files, format, torrentPath }, { ...ctx, format })
    const t = decodeTorrent(readFileSync(torrentPath))
    assert.equal(t.format, format)
    assert.equal(t.infoHash, written.infoHash)
    assert.equal(t.infoHashV2, written.infoHashV2)
    assert.equal(t.name, FOLDER)
    assert.equal(
      t.length,
      FILES.reduce((n, f) => n + f.data.length, 0),
    )
    const real = t.files.filter((f) => !f.pad)
    assert.deepEqual(
      real.map((f) => [f.path.join('/'), f.length]).sort(),
      FILES.map((f) => [f.name, f.data.length]).sort(),
    )
    const pads = t.files.filter((f) => f.pad)
    assert.equal(pads.length, format === 'hybrid' ? FILES.length - 1 : 0)
    // Hybrid and v2: every file starts on a piece boundary (v2's gaps are implicit, the hybrid's pads explicit).
    if (format !== 'v1') for (const f of real) assert.equal(f.offset % t.pieceLength, 0, f.path.join('/'))

    if (!hasLibtorrent()) return
    const lt = await libtorrentDownload({ source: torrentPath, saveDir: path.join(dir, 'data'), timeoutMs: 30_000 })
    assert.equal(lt.v1, format === 'v2' ? null : written.infoHash)
    assert.equal(lt.v2, written.infoHashV2)
    // Nothing to download: the data is there, and libtorrent's check of it finds every piece.
    assert.deepEqual(
      { finished: lt.finished, downloaded: lt.downloaded },
      { finished: true, downloaded: 0 },
      JSON.stringify(lt),
    )
  })
}

test('libtorrent finds a flipped byte in a release file', {
  skip: hasLibtorrent() ? false : 'no libtorrent',
}, async () => {
  const torrentPath = path.join(dir, 'hybrid.torrent')
  const poster = path.join(dir, 'data', FOLDER, 'poster.jpg')
  const broken = Buffer.from(FILES[2]!.data)
  broken[100]! ^= 0xff
  await writeFile(poster, broken)
  try {
    const lt = await libtorrentDownload({ source: torrentPath, saveDir: path.join(dir, 'data'), timeoutMs: 5000 })
    assert.equal(lt.finished, false)
    assert.ok(lt.have < lt.pieces)
  } finally {
    await writeFile(poster, FILES[2]!.data)
  }
})
