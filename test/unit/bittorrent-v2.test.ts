// BEP 52 hashing and the hybrid / v2-only single-file builder: each `pieces root` and piece layer
// against a plain merkle computation written here (one full tree over the 16 KiB block hashes,
// zero leaves up to a power of two), in any chunking; the v1 part of a hybrid torrent against
// mktorrent (Debian); the infohashes and the magnet.
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import bencode from 'bencode'
import { decode as magnetDecode } from 'magnet-uri'
import { MerkleHasher } from '../../src/bittorrent/merkle.ts'
import { buildV2MultiTorrent, buildV2Torrent, v1Layout } from '../../src/bittorrent/metainfoV2.ts'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { decodeDict, isDict } from '../../src/bittorrent/bencode.ts'
import { PieceHasher } from '../../src/bittorrent/pieceHasher.ts'
import { referenceMerkle } from '../helpers/v2.ts'
import { buildMagnet } from '../../src/bittorrent/magnet.ts'
import { TorrentError } from '../../src/bittorrent/errors.ts'

const KiB = 1024
const BLOCK = 16 * KiB
const sha256 = (b: Uint8Array): Buffer => createHash('sha256').update(b).digest()

const reference = referenceMerkle

function merkleOf(data: Buffer, pieceLength: number, chunk: number): ReturnType<MerkleHasher['digest']> {
  const h = new MerkleHasher(pieceLength)
  for (let o = 0; o < data.length; o += chunk) h.update(data.subarray(o, o + chunk))
  return h.digest()
}

const PIECE = 64 * KiB // four blocks a piece: a file within one piece pads to 2 leaves, not 4
const sizes: [string, number][] = [
  ['empty', 0],
  ['1 byte', 1],
  ['16 KiB', BLOCK],
  ['16 KiB + 1', BLOCK + 1],
  ['three blocks', 3 * BLOCK - 5],
  ['one piece exactly', PIECE],
  ['one piece + 1', PIECE + 1],
  ['several pieces, short last', 5 * PIECE + 3 * BLOCK + 77],
  ['a power of two of pieces', 8 * PIECE],
]

for (const [what, size] of sizes) {
  test(`pieces root and piece layer equal the plain merkle tree: ${what} (${size} bytes)`, () => {
    const data = randomBytes(size)
    const want = reference(data, PIECE)
    for (const chunk of [1 + (size >> 3), 7, BLOCK, BLOCK + 1, 1 << 20]) {
      if (chunk < 64 && size > 4 * BLOCK) continue // byte-sized feeds only where quick
      const got = merkleOf(data, PIECE, chunk)
      assert.equal(got.length, size)
      assert.deepEqual(got.piecesRoot, want.root, `root, chunks of ${chunk}`)
      assert.deepEqual(got.pieceLayer, want.layer, `piece layer, chunks of ${chunk}`)
    }
    if (size > PIECE) assert.equal(want.layer?.length, 32 * Math.ceil(size / PIECE))
    if (size <= PIECE) assert.equal(want.layer, null)
  })
}

test('the piece length is a power of two of at least 16 KiB; no feeding after digest', () => {
  for (const bad of [8 * KiB, 48 * KiB, 0, -BLOCK, 1.5])
    assert.throws(
      () => new MerkleHasher(bad),
      (e: unknown) => e instanceof TorrentError && e.code === 'bad_spec',
    )
  const h = new MerkleHasher(BLOCK)
  h.update(Buffer.from('x'))
  h.digest()
  assert.throws(() => h.update(Buffer.from('y')), TorrentError)
  assert.throws(() => h.digest(), TorrentError)
})

const common = {
  trackers: ['http://tracker.seedcast.test/announce'],
  webSeeds: ['http://seedcast.test/media/clip.mp4'],
  createdBy: 'Seedcast test',
  creationDate: 1_700_000_000,
}

function hashBoth(data: Buffer, pieceLength: number): { pieces: Buffer; merkle: ReturnType<MerkleHasher['digest']> } {
  const v1 = new PieceHasher(pieceLength)
  const v2 = new MerkleHasher(pieceLength)
  for (let o = 0; o < data.length; o += 100_000) {
    const c = data.subarray(o, o + 100_000)
    v1.update(c)
    v2.update(c)
  }
  return { pieces: v1.digest().pieces, merkle: v2.digest() }
}

type Dict = Record<string, any>
const decode = (b: Uint8Array): Dict => bencode.decode(b) as Dict

let dir = ''
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'seedcast-v2-'))
})
after(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('hybrid: v1 pieces equal mktorrent’s, both infohashes are of the stored info dict', {
  skip: existsSync('/usr/bin/mktorrent') ? false : 'mktorrent not installed',
}, async () => {
  const pieceLength = 32 * KiB
  const data = randomBytes(40 * pieceLength + 1234)
  const file = join(dir, 'clip.mp4')
  await writeFile(file, data)
  const out = join(dir, 'mk.torrent')
  execFileSync('mktorrent', ['-l', '15', '-a', common.trackers[0]!, '-o', out, file], { stdio: 'ignore' })
  const { pieces, merkle } = hashBoth(data, pieceLength)
  const t = buildV2Torrent({ ...common, name: 'clip.mp4', format: 'hybrid', merkle, pieces })
  const ours = decodeTorrent(t.buffer)
  assert.ok(ours.pieces?.equals(decodeTorrent(await readFile(out)).pieces!), 'pieces differ from mktorrent')
  assert.equal(t.infoHash, createHash('sha1').update(ours.infoBytes).digest('hex'))
  assert.equal(t.infoHashV1, t.infoHash)
  assert.equal(t.infoHashV2, sha256(ours.infoBytes).toString('hex'))
  const top = decode(t.buffer)
  const info = top.info as Dict
  assert.equal(info['meta version'], 2)
  assert.equal(info.length, data.length)
  const entry = info['file tree']['clip.mp4']['']
  assert.equal(entry.length, data.length)
  const want = reference(data, pieceLength)
  assert.deepEqual(Buffer.from(entry['pieces root']), want.root)
  // piece layers' key is the raw 32-byte root.
  const raw = t.buffer.toString('latin1')
  assert.ok(raw.includes(`12:piece layersd32:${want.root!.toString('latin1')}${want.layer!.length}:`))
  assert.equal(t.pieceCount, 41)
})

test('v2-only: no v1 fields; infoHash is the v2 one truncated to 20 bytes; a one-piece file has no layer', () => {
  const data = randomBytes(BLOCK + 5)
  const { merkle } = hashBoth(data, PIECE)
  const t = buildV2Torrent({ ...common, name: 'small.webm', format: 'v2', merkle })
  const info = decode(t.buffer).info as Dict
  assert.equal(info.pieces, undefined)
  assert.equal(info.length, undefined)
  assert.equal(t.infoHashV1, null)
  assert.equal(t.infoHash, t.infoHashV2.slice(0, 40))
  assert.deepEqual(decode(t.buffer)['piece layers'], {})
})

test('refuses specs that do not fit', () => {
  const data = randomBytes(3 * PIECE)
  const { pieces, merkle } = hashBoth(data, PIECE)
  const isSpec = (e: unknown): boolean => e instanceof TorrentError && e.code === 'bad_spec'
  const base = { ...common, name: 'x.mp4' }
  assert.throws(() => buildV2Torrent({ ...base, format: 'hybrid', merkle }), isSpec)
  assert.throws(() => buildV2Torrent({ ...base, format: 'v2', merkle, pieces }), isSpec)
  assert.throws(() => buildV2Torrent({ ...base, format: 'hybrid', merkle, pieces: pieces.subarray(20) }), isSpec)
  const empty = new MerkleHasher(PIECE).digest()
  assert.throws(() => buildV2Torrent({ ...base, format: 'v2', merkle: empty }), isSpec)
  const noLayer = { ...merkle, pieceLayer: null }
  assert.throws(() => buildV2Torrent({ ...base, format: 'v2', merkle: noLayer }), isSpec)
  assert.throws(() => buildV2Torrent({ ...base, name: '../x', format: 'v2', merkle }), isSpec)
})

test('magnet carries btih and btmh (multihash 1220 + the 64-hex v2 infohash), or btmh alone', () => {
  const v1 = '0123456789abcdef0123456789abcdef01234567'
  const v2 = 'ab'.repeat(32)
  const uri = buildMagnet({ infoHash: v1, infoHashV2: v2, name: 'clip', length: 5, trackers: [], webSeeds: [] })
  assert.ok(uri.startsWith(`magnet:?xt=urn:btih:${v1}&xt=urn:btmh:1220${v2}&dn=clip`))
  const read = magnetDecode(uri)
  assert.equal(read.infoHash, v1)
  assert.equal(read.infoHashV2, v2)
  const only = buildMagnet({ infoHashV2: v2.toUpperCase(), name: 'c', length: 1, trackers: [], webSeeds: [] })
  assert.ok(only.startsWith(`magnet:?xt=urn:btmh:1220${v2}&dn=c`))
  const base = { name: 'c', length: 1, trackers: [], webSeeds: [] }
  assert.throws(() => buildMagnet(base), TorrentError)
  assert.throws(() => buildMagnet({ ...base, infoHashV2: v1 }), TorrentError)
})

test('multi-file: file tree by path, v1 files in the same order with pad files to each piece boundary', () => {
  const pl = 32 * KiB
  const file = (path: string[], size: number) => ({ path, merkle: merkleOf(randomBytes(size), pl, 1 << 20) })
  const same = randomBytes(3 * pl)
  const files = [
    file(['video.mp4'], 3 * pl + 10),
    file(['subs', 'en.vtt'], 100),
    file(['empty'], 0),
    file(['aligned.bin'], 2 * pl),
    { path: ['copy', 'a.bin'], merkle: merkleOf(same, pl, 4096) },
    { path: ['copy', 'b.bin'], merkle: merkleOf(same, pl, 1 << 20) },
  ]
  const layout = v1Layout(files, pl)
  assert.deepEqual(
    layout.map((e) => [e.path.join('/'), e.length, e.pad]),
    [
      ['aligned.bin', 2 * pl, false],
      ['copy/a.bin', 3 * pl, false],
      ['copy/b.bin', 3 * pl, false],
      ['empty', 0, false],
      ['subs/en.vtt', 100, false],
      [`.pad/${pl - 100}`, pl - 100, true],
      ['video.mp4', 3 * pl + 10, false], // the last file needs no pad
    ],
  )
  const v1 = new PieceHasher(pl)
  for (const e of layout) v1.update(Buffer.alloc(e.length)) // contents do not matter to the layout checks
  const t = buildV2MultiTorrent({
    ...common,
    name: 'release',
    format: 'hybrid',
    pieceLength: pl,
    files,
    pieces: v1.digest().pieces,
  })
  const top = decode(t.buffer)
  const info = top.info as Dict
  const str = (b: Uint8Array): string => Buffer.from(b).toString()
  assert.equal(str(info.name), 'release')
  assert.equal(str(info.files[5].attr), 'p')
  assert.deepEqual(info.files[5].path.map(str), ['.pad', String(pl - 100)])
  assert.deepEqual(Object.keys(info['file tree']), ['aligned.bin', 'copy', 'empty', 'subs', 'video.mp4'])
  assert.deepEqual(info['file tree'].empty[''], { length: 0 }) // BEP 52: no pieces root
  assert.deepEqual(Buffer.from(info['file tree'].subs['en.vtt']['']['pieces root']), files[1]!.merkle.piecesRoot)
  // One layer per distinct multi-piece file, keyed by raw root, keys in byte order.
  const keys = decodeTorrentKeys(t.buffer)
  const roots = [files[0]!, files[3]!, files[4]!].map((f) => f.merkle.piecesRoot!).sort(Buffer.compare)
  assert.deepEqual(keys, roots)
  assert.equal(t.pieceCount, 4 + 1 + 0 + 2 + 3 + 3)
})

// The raw keys of `piece layers`, in stored order (our strict reader keeps bytes as they are).
function decodeTorrentKeys(buf: Buffer): Buffer[] {
  const layers = decodeDict(buf)['piece layers']
  assert.ok(isDict(layers))
  return Object.keys(layers).map((k) => Buffer.from(k, 'latin1'))
}

test('multi-file refusals: clashing paths, unsafe names, another piece length, no files', () => {
  const pl = 32 * KiB
  const m = merkleOf(randomBytes(10), pl, 10)
  const base = { ...common, name: 'r', format: 'v2' as const, pieceLength: pl }
  const isSpec = (e: unknown): boolean => e instanceof TorrentError && e.code === 'bad_spec'
  assert.throws(() => buildV2MultiTorrent({ ...base, files: [] }), isSpec)
  for (const files of [
    [
      { path: ['a'], merkle: m },
      { path: ['a'], merkle: m },
    ],
    [
      { path: ['a'], merkle: m },
      { path: ['a', 'b'], merkle: m },
    ],
    [{ path: ['..', 'b'], merkle: m }],
    [{ path: ['x/y'], merkle: m }],
    [{ path: [], merkle: m }],
    [{ path: ['a'], merkle: merkleOf(randomBytes(10), 2 * pl, 10) }],
  ])
    assert.throws(() => buildV2MultiTorrent({ ...base, files }), isSpec)
  assert.throws(() => buildV2MultiTorrent({ ...base, format: 'hybrid', files: [{ path: ['a'], merkle: m }] }), isSpec)
  const ok = buildV2MultiTorrent({ ...base, files: [{ path: ['a'], merkle: m }] })
  assert.equal(ok.infoHashV1, null)
  // Names are the uploader's: '__proto__' is a folder like any other, and nothing leaks into Object.prototype.
  const proto = buildV2MultiTorrent({ ...base, files: [{ path: ['__proto__', 'polluted'], merkle: m }] })
  assert.equal(({} as Dict).polluted, undefined)
  assert.ok(decodeDict(proto.buffer).info && proto.buffer.includes('9:__proto__d8:polluted'))
})
