import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { PieceHasher } from '../../src/bittorrent/pieceHasher.ts'
import { TorrentError } from '../../src/bittorrent/errors.ts'

// Reference: hash each whole piece slice directly.
function referencePieces(data: Buffer, pieceLength: number): Buffer {
  const out: Buffer[] = []
  for (let off = 0; off < data.length; off += pieceLength) {
    out.push(
      createHash('sha1')
        .update(data.subarray(off, off + pieceLength))
        .digest(),
    )
  }
  return Buffer.concat(out)
}

function hashInChunks(data: Buffer, pieceLength: number, nextSize: () => number): ReturnType<PieceHasher['digest']> {
  const h = new PieceHasher(pieceLength)
  for (let off = 0; off < data.length; ) {
    const n = nextSize()
    h.update(data.subarray(off, off + n))
    off += n
  }
  return h.digest()
}

test('random chunk sizes give the same pieces as whole-piece hashing', () => {
  for (const pieceLength of [1000, 16384]) {
    const data = randomBytes(pieceLength * 7 + 321)
    const expected = referencePieces(data, pieceLength)
    for (let round = 0; round < 20; round++) {
      // Sizes from 0 (empty chunks) to > 2 pieces, so chunks span boundaries.
      const r = hashInChunks(data, pieceLength, () => randomInt(0, pieceLength * 2 + 2))
      assert.deepEqual(r.pieces, expected)
      assert.equal(r.length, data.length)
      assert.equal(r.pieceLength, pieceLength)
    }
  }
})

test('one-byte chunks and one huge chunk agree', () => {
  const data = randomBytes(5000)
  const expected = referencePieces(data, 1024)
  assert.deepEqual(hashInChunks(data, 1024, () => 1).pieces, expected)
  assert.deepEqual(hashInChunks(data, 1024, () => data.length).pieces, expected)
})

test('short last piece is hashed on digest', () => {
  const data = randomBytes(2500)
  const r = hashInChunks(data, 1000, () => 700)
  assert.equal(r.pieces.length, 3 * 20)
  assert.deepEqual(r.pieces.subarray(40), createHash('sha1').update(data.subarray(2000)).digest())
})

test('exact multiple of piece length adds no empty trailing piece', () => {
  const data = randomBytes(4 * 1024)
  const r = hashInChunks(data, 1024, () => 1024)
  assert.equal(r.pieces.length, 4 * 20)
  assert.deepEqual(r.pieces, referencePieces(data, 1024))
  const emptySha1 = createHash('sha1').digest()
  for (let i = 0; i < 4; i++) assert.notDeepEqual(r.pieces.subarray(i * 20, i * 20 + 20), emptySha1)
})

test('no input gives no pieces', () => {
  const h = new PieceHasher(16384)
  h.update(Buffer.alloc(0))
  const r = h.digest()
  assert.equal(r.pieces.length, 0)
  assert.equal(r.length, 0)
})

test('pieces buffer owns its memory (transferable)', () => {
  const r = hashInChunks(randomBytes(3000), 1000, () => 100)
  assert.equal(r.pieces.byteOffset, 0)
  assert.equal(r.pieces.buffer.byteLength, r.pieces.length)
})

test('misuse is rejected', () => {
  const isTorrentError = (err: unknown): boolean => err instanceof TorrentError
  assert.throws(() => new PieceHasher(0), isTorrentError)
  assert.throws(() => new PieceHasher(1.5), isTorrentError)
  const h = new PieceHasher(1024)
  h.digest()
  assert.throws(() => h.update(Buffer.from('x')), isTorrentError)
  assert.throws(() => h.digest(), isTorrentError)
})
