// BEP 52 hash messages (hash request 21, hashes 22, hash reject 23): the codecs, and the hashes a
// seeder sends from a file's piece layer, checked against a merkle tree built here from the
// file's bytes (SHA-256 over 16 KiB blocks, padded with zero leaves to a power of two), and by
// climbing from the sent hashes and uncles to the file's pieces root, as a downloader does.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { WireError } from '../../src/bittorrent/errors.ts'
import { MerkleHasher } from '../../src/bittorrent/merkle.ts'
import { PieceTree } from '../../src/bittorrent/merkleProof.ts'
import {
  hashesMessage,
  hashRejectMessage,
  hashRequestMessage,
  parseHashes,
  parseHashRequest,
} from '../../src/bittorrent/wire/hashes.ts'
import { MessageParser } from '../../src/bittorrent/wire/parser.ts'

const KiB = 1024
const sha256 = (...parts: Buffer[]) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Every layer of the file's tree, leaves (16 KiB block hashes, zero-padded) first, root last. */
function fullTree(data: Buffer): Buffer[][] {
  let layer: Buffer[] = []
  for (let o = 0; o < data.length; o += 16 * KiB) layer.push(sha256(data.subarray(o, o + 16 * KiB)))
  let width = 1
  while (width < layer.length) width *= 2
  while (layer.length < width) layer.push(Buffer.alloc(32))
  const layers = [layer]
  while (layer.length > 1) {
    const up: Buffer[] = []
    for (let i = 0; i < layer.length; i += 2) up.push(sha256(layer[i]!, layer[i + 1]!))
    layers.push(up)
    layer = up
  }
  return layers
}

const root = Buffer.from('11'.repeat(32), 'hex')
const req = { piecesRoot: root, baseLayer: 2, index: 512, length: 512, proofLayers: 10 }

test('hash request, hashes and hash reject: built and parsed back, through the message parser', () => {
  const hashes = randomBytes(32 * 3)
  const stream = Buffer.concat([hashRequestMessage(req), hashesMessage(req, hashes), hashRejectMessage(req)])
  assert.equal(hashRequestMessage(req).length, 4 + 1 + 48)
  const items = new MessageParser().feed(stream)
  assert.deepEqual(
    items.map((m) => m.type),
    ['hash-request', 'hashes', 'hash-reject'],
  )
  for (const m of items) {
    const r = m as typeof req & { type: string }
    assert.deepEqual([r.piecesRoot, r.baseLayer, r.index, r.length, r.proofLayers], [root, 2, 512, 512, 10])
  }
  assert.deepEqual((items[1] as { hashes: Buffer }).hashes, hashes)
})

test('hash messages of the wrong size are WireErrors', () => {
  const bad = (fn: () => unknown) => assert.throws(fn, (e) => e instanceof WireError && e.code === 'bad_message')
  bad(() => parseHashRequest(21, Buffer.alloc(47)))
  bad(() => parseHashRequest(21, Buffer.alloc(49)))
  bad(() => parseHashes(Buffer.alloc(47)))
  bad(() => parseHashes(Buffer.alloc(48 + 31)))
  assert.equal(parseHashes(Buffer.alloc(48)).hashes.length, 0)
  bad(() => new MessageParser().feed(Buffer.concat([Buffer.from([0, 0, 0, 10, 21]), Buffer.alloc(9)])))
})

/** Climbs from `length` hashes at `index` of layer `base` and the uncles to the root. */
function climb(hashes: Buffer, index: number, length: number, proofLayers: number): Buffer {
  let layer: Buffer[] = []
  for (let i = 0; i < length; i++) layer.push(hashes.subarray(i * 32, (i + 1) * 32))
  let offset = index
  let used = 0
  while (layer.length > 1) {
    const up: Buffer[] = []
    for (let i = 0; i < layer.length; i += 2) up.push(sha256(layer[i]!, layer[i + 1]!))
    layer = up
    offset >>= 1
    used++
  }
  let node = layer[0]!
  let at = length
  for (; used < proofLayers + 1 && at * 32 < hashes.length; used++, at++) {
    const uncle = hashes.subarray(at * 32, (at + 1) * 32)
    node = offset % 2 === 0 ? sha256(node, uncle) : sha256(uncle, node)
    offset >>= 1
  }
  assert.equal(at * 32, hashes.length, 'every uncle used')
  return node
}

for (const c of [
  { pieceLength: 64 * KiB, pieces: 37, last: 4321 }, // piece layer padded from 37 to 64
  { pieceLength: 16 * KiB, pieces: 1100, last: 16 * KiB }, // more than one 512-hash request
  { pieceLength: 32 * KiB, pieces: 2, last: 1 },
]) {
  test(`hashes from the piece layer and their proof (${c.pieces} pieces of ${c.pieceLength / KiB} KiB)`, () => {
    const data = randomBytes((c.pieces - 1) * c.pieceLength + c.last)
    const h = new MerkleHasher(c.pieceLength)
    h.update(data)
    const merkle = h.digest()
    const layers = fullTree(data)
    assert.deepEqual(layers.at(-1)![0], merkle.piecesRoot, 'the independent tree has the torrent’s root')
    const tree = new PieceTree(merkle.pieceLayer!, c.pieceLength)
    assert.deepEqual(tree.root, merkle.piecesRoot)
    const pieceLayer = Math.log2(c.pieceLength / (16 * KiB))
    const top = layers.length - 1
    assert.equal(tree.rootLayer, top)

    // What libtorrent asks: the piece layer in runs of up to 512, proof up to below the root.
    for (let index = 0; index < c.pieces; index += 512) {
      let length = 2
      while (length < Math.min(512, c.pieces - index)) length *= 2
      const proofLayers = top - pieceLayer - 1
      const got = tree.hashes({ baseLayer: pieceLayer, index, length, proofLayers })
      assert.ok(got)
      const want = layers[pieceLayer]!.slice(index, index + length)
      assert.deepEqual(got.subarray(0, length * 32), Buffer.concat(want), 'the piece hashes, padded as BEP 52 pads')
      // The uncles are the independent tree's siblings of the subtree root's ancestors.
      const sub = Math.log2(length)
      const uncles: Buffer[] = []
      for (let l = pieceLayer + sub; l < top; l++) uncles.push(layers[l]![(index >> (l - pieceLayer)) ^ 1]!)
      assert.deepEqual(got.subarray(length * 32), Buffer.concat(uncles))
      assert.deepEqual(climb(got, index, length, proofLayers), merkle.piecesRoot, 'the proof leads to the root')
    }

    // A layer above the piece layer, with a short proof: fewer uncles.
    if (top - pieceLayer >= 3) {
      const got = tree.hashes({ baseLayer: pieceLayer + 1, index: 0, length: 2, proofLayers: 1 })
      assert.deepEqual(
        got,
        Buffer.concat([layers[pieceLayer + 1]![0]!, layers[pieceLayer + 1]![1]!, layers[pieceLayer + 2]![1]!]),
      )
    }
  })
}

test('what a seeder will not serve from the piece layer: null (then hash reject)', () => {
  const data = randomBytes(37 * 64 * KiB)
  const h = new MerkleHasher(64 * KiB)
  h.update(data)
  const tree = new PieceTree(h.digest().pieceLayer!, 64 * KiB)
  const ok = { baseLayer: 2, index: 0, length: 64, proofLayers: 0 }
  assert.ok(tree.hashes(ok))
  assert.equal(tree.hashes({ ...ok, baseLayer: 0 }), null, 'the block layer (not kept)')
  assert.equal(tree.hashes({ ...ok, baseLayer: 1 }), null, 'below the piece layer')
  assert.equal(tree.hashes({ ...ok, baseLayer: tree.rootLayer }), null, 'the root itself')
  assert.equal(tree.hashes({ ...ok, length: 128 }), null, 'past the end of the layer')
  assert.equal(tree.hashes({ ...ok, length: 48 }), null, 'not a power of two')
  assert.equal(tree.hashes({ ...ok, length: 1 }), null, 'fewer than two')
  assert.equal(tree.hashes({ ...ok, index: 16, length: 32 }), null, 'not aligned')
  assert.equal(tree.hashes({ ...ok, length: 2, proofLayers: 6 }), null, 'a proof up to the root')
  assert.ok(tree.hashes({ ...ok, length: 2, proofLayers: 5 }))
  assert.equal(tree.hashes({ ...ok, index: 2 ** 31, length: 2 }), null, 'an index far out')
})
