// libtorrent 2 (Debian python3-libtorrent, the only v2 implementation here) reads our hybrid and
// v2-only torrents: its infohashes and pieces root equal ours, and checking the data against each
// torrent finds every piece (libtorrent verifies the SHA-256 piece layers, and in a hybrid the
// SHA-1 pieces too), so the hashes are right. A flipped byte in the data must then fail the check.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MerkleHasher } from '../../src/bittorrent/merkle.ts'
import { buildV2MultiTorrent, buildV2Torrent, v1Layout } from '../../src/bittorrent/metainfoV2.ts'
import { PieceHasher } from '../../src/bittorrent/pieceHasher.ts'
import { libtorrentCheck, libtorrentSkip } from '../helpers/v2.ts'

const skip = libtorrentSkip

let dir = ''
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'seedcast-v2-lt-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

const KiB = 1024
const cases = [
  { format: 'hybrid', size: 37 * 32 * KiB + 4321, pieceLength: 32 * KiB },
  { format: 'v2', size: 37 * 32 * KiB + 4321, pieceLength: 32 * KiB },
  { format: 'hybrid', size: 3 * 16 * KiB + 1, pieceLength: 256 * KiB }, // one piece: no piece layer
  { format: 'v2', size: 5 * 64 * KiB, pieceLength: 64 * KiB }, // exact multiple of the piece length
] as const

for (const c of cases) {
  test(`libtorrent reads and verifies a ${c.format} torrent (${c.size} bytes, pieces of ${c.pieceLength})`, {
    skip,
  }, async () => {
    const name = `clip ${c.format} ${c.size}.mp4`
    const data = randomBytes(c.size)
    const save = join(dir, `${c.format}-${c.size}`)
    await mkdir(save)
    await writeFile(join(save, name), data)
    const v1 = new PieceHasher(c.pieceLength)
    const v2 = new MerkleHasher(c.pieceLength)
    for (let o = 0; o < data.length; o += 50_000) {
      v1.update(data.subarray(o, o + 50_000))
      v2.update(data.subarray(o, o + 50_000))
    }
    const pieces = v1.digest().pieces
    const merkle = v2.digest()
    const t = buildV2Torrent({
      name,
      format: c.format,
      merkle,
      pieces: c.format === 'hybrid' ? pieces : undefined,
      trackers: [],
      webSeeds: [],
      createdBy: 'Seedcast test',
      creationDate: 1_700_000_000,
    })
    const torrentPath = join(dir, `${c.format}-${c.size}.torrent`)
    await writeFile(torrentPath, t.buffer)
    const count = Math.ceil(c.size / c.pieceLength)

    const lt = await libtorrentCheck(torrentPath, save)
    assert.equal(lt.v1, c.format === 'hybrid' ? t.infoHash : null)
    assert.equal(lt.v2, t.infoHashV2)
    assert.deepEqual(lt.roots, [[name, merkle.piecesRoot!.toString('hex'), c.size]])
    assert.equal(lt.pieces, count)
    assert.deepEqual(
      { checked: lt.checked, seeding: lt.seeding, have: lt.have },
      {
        checked: true,
        seeding: true,
        have: count,
      },
    )

    // The check can fail: one flipped byte in the last piece costs that piece.
    data[c.size - 1]! ^= 0xff
    await writeFile(join(save, name), data)
    const broken = await libtorrentCheck(torrentPath, save)
    assert.deepEqual({ seeding: broken.seeding, have: broken.have }, { seeding: false, have: count - 1 })
  })
}

const merkleOf = (data: Buffer, pieceLength: number): ReturnType<MerkleHasher['digest']> => {
  const h = new MerkleHasher(pieceLength)
  h.update(data)
  return h.digest()
}

for (const format of ['hybrid', 'v2'] as const) {
  test(`libtorrent reads and verifies a multi-file ${format} release (BEP 47 pad files in the hybrid)`, {
    skip,
  }, async () => {
    const pieceLength = 32 * KiB
    const contents: [string[], Buffer][] = [
      [['video.mp4'], randomBytes(9 * pieceLength + 777)],
      [['subs', 'en.vtt'], randomBytes(2000)],
      [['subs', 'de.vtt'], randomBytes(16 * KiB + 3)],
      [['empty.txt'], Buffer.alloc(0)],
      [['poster.jpg'], randomBytes(pieceLength)],
      [['a-first.txt'], randomBytes(5)],
    ]
    const name = `release ${format}`
    const save = join(dir, `multi-${format}`)
    for (const [path, data] of contents) {
      await mkdir(join(save, name, ...path.slice(0, -1)), { recursive: true })
      await writeFile(join(save, name, ...path), data)
    }
    const files = contents.map(([path, data]) => ({ path, merkle: merkleOf(data, pieceLength) }))
    let pieces: Buffer | undefined
    if (format === 'hybrid') {
      const v1 = new PieceHasher(pieceLength)
      const byPath = new Map(contents.map(([p, d]) => [p.join('/'), d]))
      for (const e of v1Layout(files, pieceLength))
        v1.update(e.pad ? Buffer.alloc(e.length) : byPath.get(e.path.join('/'))!)
      pieces = v1.digest().pieces
    }
    const t = buildV2MultiTorrent({
      name,
      format,
      pieceLength,
      files,
      pieces,
      trackers: [],
      webSeeds: [],
      createdBy: 'Seedcast test',
      creationDate: 1_700_000_000,
    })
    const torrentPath = join(dir, `multi-${format}.torrent`)
    await writeFile(torrentPath, t.buffer)
    const lt = await libtorrentCheck(torrentPath, save)
    assert.equal(lt.v1, format === 'hybrid' ? t.infoHash : null)
    assert.equal(lt.v2, t.infoHashV2)
    const zeros = '0'.repeat(64)
    const want = files.map((f) => [
      join(name, ...f.path),
      f.merkle.piecesRoot?.toString('hex') ?? zeros,
      f.merkle.length,
    ])
    assert.deepEqual(
      [...lt.roots].sort((a, b) => a[0].localeCompare(b[0])),
      want.sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    )
    assert.equal(lt.pieces, t.pieceCount)
    assert.deepEqual(
      { checked: lt.checked, seeding: lt.seeding, have: lt.have },
      {
        checked: true,
        seeding: true,
        have: t.pieceCount,
      },
    )
  })
}
