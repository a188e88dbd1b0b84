// The one reader (decodeTorrent) reads hybrid and v2-only torrents, one file or a folder: the
// format, both infohashes, every file at its offset in the piece space (pads included), the
// checked piece layers. libtorrent 2 reads the same torrents for the offsets, so the layout is
// not only ours; and a torrent whose parts disagree, or whose names leave the folder, is refused.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode, dictEntries, encode, isDict, type BDict } from '../../src/bittorrent/bencode.ts'
import { MerkleHasher } from '../../src/bittorrent/merkle.ts'
import { decodeTorrent, spliceTopLevel } from '../../src/bittorrent/metainfo.ts'
import { buildV2MultiTorrent, buildV2Torrent, v1Layout, type V2File } from '../../src/bittorrent/metainfoV2.ts'
import { PieceHasher } from '../../src/bittorrent/pieceHasher.ts'
import { libtorrentSkip, PYTHON } from '../helpers/libtorrent.ts'

const KiB = 1024
const PL = 32 * KiB
const common = {
  trackers: ['http://127.0.0.1:1/announce'],
  webSeeds: [],
  createdBy: 'test',
  creationDate: 1_700_000_000,
}

const merkleOf = (data: Buffer) => {
  const m = new MerkleHasher(PL)
  m.update(data)
  return m.digest()
}
const v1Pieces = (data: Buffer) => {
  const h = new PieceHasher(PL)
  h.update(data)
  return h.digest().pieces
}

// Names chosen so that object-key order ("10" before "9" numerically, "9" before "10" by bytes)
// and byte order differ: the reader must keep the stored order.
const release = (): { files: V2File[]; data: Map<string, Buffer> } => {
  const data = new Map<string, Buffer>([
    ['9', randomBytes(3 * PL + 100)],
    ['10', randomBytes(PL / 2)],
    ['sub/b.vtt', randomBytes(5000)],
    ['a.srt', randomBytes(2 * PL)],
  ])
  const files = [...data].map(([p, d]) => ({ path: p.split('/'), merkle: merkleOf(d) }))
  return { files, data }
}

function hybridPieces(files: V2File[], data: Map<string, Buffer>): Buffer {
  const h = new PieceHasher(PL)
  for (const e of v1Layout(files, PL)) h.update(e.pad ? Buffer.alloc(e.length) : data.get(e.path.join('/'))!)
  return h.digest().pieces
}

test('hybrid single file: format, both infohashes, one file with its root, pieces', () => {
  const data = randomBytes(5 * PL + 7)
  const merkle = merkleOf(data)
  const built = buildV2Torrent({ ...common, name: 'clip.mp4', format: 'hybrid', merkle, pieces: v1Pieces(data) })
  const t = decodeTorrent(built.buffer)
  assert.equal(t.format, 'hybrid')
  assert.equal(t.infoHash, built.infoHash)
  assert.equal(t.infoHashV2, built.infoHashV2)
  assert.equal(t.infoHash, createHash('sha1').update(t.infoBytes).digest('hex'))
  assert.equal(t.multiFile, false)
  assert.equal(t.length, data.length)
  assert.equal(t.pieceSpace, data.length)
  assert.equal(t.pieceCount, 6)
  assert.ok(t.pieces?.equals(v1Pieces(data)))
  assert.deepEqual(
    t.files.map((f) => ({ ...f, piecesRoot: f.piecesRoot?.toString('hex') })),
    [
      {
        path: ['clip.mp4'],
        length: data.length,
        offset: 0,
        pad: false,
        piecesRoot: merkle.piecesRoot!.toString('hex'),
      },
    ],
  )
  assert.ok(t.pieceLayers.get(merkle.piecesRoot!.toString('hex'))?.equals(merkle.pieceLayer!))
})

test('v2-only single file: no v1 pieces, the infohash is the SHA-256 cut to 20 bytes', () => {
  const data = randomBytes(3 * PL)
  const built = buildV2Torrent({ ...common, name: 'clip.webm', format: 'v2', merkle: merkleOf(data) })
  const t = decodeTorrent(built.buffer)
  assert.equal(t.format, 'v2')
  assert.equal(t.pieces, null)
  assert.equal(t.infoHashV2, built.infoHashV2)
  assert.equal(t.infoHash, built.infoHashV2.slice(0, 40))
  assert.equal(t.pieceCount, 3)
})

test('a v1 torrent reads as before, now with its one file', () => {
  const data = randomBytes(PL + 1)
  const t = decodeTorrent(
    encode({
      announce: 'http://t/a',
      info: { length: data.length, name: 'x.mp4', 'piece length': PL, pieces: v1Pieces(data) },
    }),
  )
  assert.equal(t.format, 'v1')
  assert.equal(t.infoHashV2, null)
  assert.deepEqual(t.files, [{ path: ['x.mp4'], length: data.length, offset: 0, pad: false, piecesRoot: null }])
  assert.equal(t.pieceLayers.size, 0)
})

// libtorrent's own view of the files: path inside the folder, offset, size, pad flag.
function libtorrentFiles(torrentPath: string): { path: string; offset: number; size: number; pad: boolean }[] {
  const script = `
import json, sys, libtorrent as lt
fs = lt.torrent_info(sys.argv[1]).files()
print(json.dumps([{'path': fs.file_path(i), 'offset': fs.file_offset(i), 'size': fs.file_size(i),
  'pad': bool(fs.file_flags(i) & lt.file_storage.flag_pad_file)} for i in range(fs.num_files())]))`
  return JSON.parse(execFileSync(PYTHON, ['-c', script, torrentPath], { encoding: 'utf8' }))
}

for (const format of ['hybrid', 'v2'] as const) {
  test(`${format} folder: files in stored order at libtorrent's offsets, layers checked`, {
    skip: libtorrentSkip,
  }, async () => {
    const { files, data } = release()
    const pieces = format === 'hybrid' ? hybridPieces(files, data) : undefined
    const built = buildV2MultiTorrent({ ...common, name: 'release', format, pieceLength: PL, files, pieces })
    const t = decodeTorrent(built.buffer)
    assert.equal(t.format, format)
    assert.equal(t.infoHash, built.infoHash)
    assert.equal(t.multiFile, true)
    assert.equal(
      t.length,
      [...data.values()].reduce((n, d) => n + d.length, 0),
    )
    const dir = await mkdtemp(join(tmpdir(), 'v2read-'))
    try {
      const file = join(dir, 't.torrent')
      await writeFile(file, built.buffer)
      const theirs = libtorrentFiles(file)
      // libtorrent lists v2-only gaps as pad files too; ours are implicit there.
      const ours = t.files.map((f) => ({
        path: ['release', ...f.path].join('/'),
        offset: f.offset,
        size: f.length,
        pad: f.pad,
      }))
      assert.deepEqual(
        ours.filter((f) => !f.pad),
        theirs.filter((f) => !f.pad),
      )
      if (format === 'hybrid') assert.deepEqual(ours, theirs)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
    assert.deepEqual(
      t.files.filter((f) => !f.pad).map((f) => f.path.join('/')),
      ['10', '9', 'a.srt', 'sub/b.vtt'],
    )
    for (const f of t.files.filter((x) => !x.pad)) {
      assert.equal(f.offset % PL, 0, `${f.path.join('/')} starts on a piece`)
      const m = merkleOf(data.get(f.path.join('/'))!)
      assert.ok(f.piecesRoot?.equals(m.piecesRoot!))
      if (m.pieceLayer) assert.ok(t.pieceLayers.get(m.piecesRoot!.toString('hex'))?.equals(m.pieceLayer))
    }
    const last = t.files.at(-1)!
    assert.equal(t.pieceSpace, last.offset + last.length)
    assert.equal(t.pieceCount, Math.ceil(t.pieceSpace / PL))
  })
}

// Rewrites the info dict (and so the infohash) of a built torrent; the reader must refuse it.
function withInfo(torrent: Buffer, change: (info: BDict) => void): Buffer {
  const top = decode(torrent) as BDict
  const info = top.info as BDict
  change(info)
  const layers = dictEntries(torrent).find((e) => e.key === 'piece layers')
  const rebuilt = encode({ ...top, info, 'piece layers': undefined })
  return layers === undefined
    ? rebuilt
    : Buffer.concat([rebuilt.subarray(0, -1), torrent.subarray(layers.keyStart, layers.end), Buffer.from('e')])
}

test('refused: parts that disagree, names that leave the folder, layers that do not hash to the root', () => {
  const { files, data } = release()
  const built = buildV2MultiTorrent({
    ...common,
    name: 'release',
    format: 'hybrid',
    pieceLength: PL,
    files,
    pieces: hybridPieces(files, data),
  })
  assert.doesNotThrow(() => decodeTorrent(built.buffer))
  const refused = (buf: Buffer, why: RegExp) =>
    assert.throws(() => decodeTorrent(buf), { code: 'bad_torrent', message: why })
  const v1Files = (info: BDict) => info.files as BDict[]
  refused(
    withInfo(built.buffer, (i) => {
      v1Files(i)[0]!.path = [Buffer.from('other')]
    }),
    /differ/,
  )
  refused(
    withInfo(built.buffer, (i) => {
      v1Files(i)[0]!.path = [Buffer.from('..')]
    }),
    /plain name/,
  )
  refused(
    withInfo(built.buffer, (i) => {
      const tree = i['file tree'] as BDict
      tree['..'] = tree['10']!
      delete tree['10']
    }),
    /plain name|differ/,
  )
  refused(
    withInfo(built.buffer, (i) => {
      i['meta version'] = 3
    }),
    /meta version/,
  )
  // Pads removed: the files no longer start on piece boundaries.
  refused(
    withInfo(built.buffer, (i) => {
      i.files = v1Files(i).filter((f) => !isDict(f) || f.attr === undefined)
      const n = (i.files as BDict[]).reduce((s, f) => s + (f.length as number), 0)
      i.pieces = Buffer.alloc(20 * Math.ceil(n / PL))
    }),
    /piece/,
  )
  const layers = dictEntries(built.buffer).find((e) => e.key === 'piece layers')!
  const tampered = Buffer.from(built.buffer)
  tampered[layers.end - 2] = tampered[layers.end - 2]! ^ 1 // the last byte of the last layer
  refused(tampered, /does not match its pieces root/)
  refused(spliceTopLevel(built.buffer, { 'piece layers': {} }), /no piece layer/)
})
