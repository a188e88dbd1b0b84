// BitTorrent v2 (BEP 52) hashing of one file: SHA-256 per 16 KiB block (the last block hashed as
// it is), a merkle tree over the block hashes, the per-piece subtree roots (the file's entry in
// `piece layers`) and the file's `pieces root`. The tree rules live here once: MerkleHasher (fed
// like PieceHasher, any chunk sizes, so both run in the same pass over the bytes) and the worker
// pool (src/bittorrent/hashWorker.ts: pieceSubtreeRoot per piece, fileMerkleOf in the main thread)
// both use them. Memory: one piece's leaves plus 32 bytes per piece.
import { createHash, type Hash, hash } from 'node:crypto'
import { TorrentError } from './errors.ts'
import { MIN_PIECE_LENGTH } from './pieceLength.ts'

export const MERKLE_BLOCK_SIZE = 16 * 1024
export const MERKLE_HASH_LENGTH = 32
const ZERO_HASH = Buffer.alloc(MERKLE_HASH_LENGTH)

export interface FileMerkle {
  length: number // total bytes hashed
  pieceLength: number
  /** The file's `pieces root`; null for an empty file (BEP 52: empty files have none). */
  piecesRoot: Buffer | null
  /** The piece subtree roots, 32 bytes each; null when the file fits in one piece (no `piece layers` entry). */
  pieceLayer: Buffer | null
}

/** SHA-256 of one block (a leaf). */
export const sha256 = (data: Buffer): Buffer => hash('sha256', data, 'buffer')

/** The root of a layer of concatenated 32-byte hashes; their count must be a power of two. */
function rootOf(layer: Buffer): Buffer {
  let current = layer
  while (current.length > MERKLE_HASH_LENGTH) {
    const next = Buffer.allocUnsafe(current.length / 2)
    for (let i = 0; i < next.length; i += MERKLE_HASH_LENGTH)
      sha256(current.subarray(2 * i, 2 * i + 2 * MERKLE_HASH_LENGTH)).copy(next, i)
    current = next
  }
  return Buffer.from(current)
}

const nextPowerOfTwo = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)))

/** `hashes` (concatenated) followed by copies of `pad` up to `count` hashes. */
function padded(hashes: Buffer, count: number, pad: Buffer): Buffer {
  const have = hashes.length / MERKLE_HASH_LENGTH
  if (have >= count) return hashes
  const out = Buffer.allocUnsafe(count * MERKLE_HASH_LENGTH)
  hashes.copy(out, 0)
  for (let i = have; i < count; i++) pad.copy(out, i * MERKLE_HASH_LENGTH)
  return out
}

/** The root of a subtree of `leafCount` zero leaves (a power of two): the padding above piece level. */
function zeroRoot(leafCount: number): Buffer {
  let h: Buffer = ZERO_HASH
  for (let n = leafCount; n > 1; n /= 2) h = sha256(Buffer.concat([h, h]))
  return h
}

export function checkMerklePieceLength(pieceLength: number): void {
  if (!Number.isSafeInteger(pieceLength) || pieceLength < MIN_PIECE_LENGTH || (pieceLength & (pieceLength - 1)) !== 0) {
    throw new TorrentError('bad_spec', `piece length must be a power of two >= ${MIN_PIECE_LENGTH}, got ${pieceLength}`)
  }
}

/**
 * The subtree root of one piece from its block hashes (`leaves`, concatenated). A piece of a
 * multi-piece file is padded with zero leaves to a whole piece; a file within one piece
 * (`onlyPiece`) only to the next power of two, and that root is the file's `pieces root`.
 */
export function pieceSubtreeRoot(leaves: Buffer, pieceLength: number, onlyPiece: boolean): Buffer {
  const count = leaves.length / MERKLE_HASH_LENGTH
  const want = onlyPiece ? nextPowerOfTwo(count) : pieceLength / MERKLE_BLOCK_SIZE
  return rootOf(padded(leaves, want, ZERO_HASH))
}

/**
 * The `pieces root` of a file of more than one piece from its piece layer (32 bytes per piece):
 * the layer padded to a power of two with roots of all-zero pieces. The reader checks a stored
 * layer with it; the hashers end with it.
 */
export function piecesRootFromLayer(layer: Buffer, pieceLength: number): Buffer {
  const count = layer.length / MERKLE_HASH_LENGTH
  return rootOf(padded(layer, nextPowerOfTwo(count), zeroRoot(pieceLength / MERKLE_BLOCK_SIZE)))
}

/** The file's merkle from its piece subtree roots (concatenated, in piece order). */
export function fileMerkleOf(length: number, pieceLength: number, pieceRoots: Buffer): FileMerkle {
  const base = { length, pieceLength }
  const count = pieceRoots.length / MERKLE_HASH_LENGTH
  if (count !== Math.ceil(length / pieceLength))
    throw new TorrentError('hash_failed', `${count} piece roots for ${length} bytes in pieces of ${pieceLength}`)
  if (length === 0) return { ...base, piecesRoot: null, pieceLayer: null }
  if (count === 1) return { ...base, piecesRoot: Buffer.from(pieceRoots), pieceLayer: null }
  const layer = Buffer.from(pieceRoots)
  return { ...base, piecesRoot: piecesRootFromLayer(layer, pieceLength), pieceLayer: layer }
}

export class MerkleHasher {
  readonly pieceLength: number
  readonly #blocksPerPiece: number
  #block: Hash | null = null
  #inBlock = 0 // bytes already fed to #block
  #leaves: Buffer[] = [] // block hashes of the piece being hashed
  #pieceRoots: Buffer[] = []
  #length = 0
  #done = false

  constructor(pieceLength: number) {
    checkMerklePieceLength(pieceLength)
    this.pieceLength = pieceLength
    this.#blocksPerPiece = pieceLength / MERKLE_BLOCK_SIZE
  }

  update(chunk: Buffer): void {
    if (this.#done) throw new TorrentError('hash_failed', 'MerkleHasher.update() after digest()')
    let offset = 0
    while (offset < chunk.length) {
      // A whole block in the chunk: hashed in one call, the common case.
      if (this.#inBlock === 0 && chunk.length - offset >= MERKLE_BLOCK_SIZE) {
        this.#addLeaf(sha256(chunk.subarray(offset, offset + MERKLE_BLOCK_SIZE)))
        offset += MERKLE_BLOCK_SIZE
        continue
      }
      this.#block ??= createHash('sha256')
      const take = Math.min(MERKLE_BLOCK_SIZE - this.#inBlock, chunk.length - offset)
      this.#block.update(chunk.subarray(offset, offset + take))
      this.#inBlock += take
      offset += take
      if (this.#inBlock === MERKLE_BLOCK_SIZE) this.#finishBlock()
    }
    this.#length += chunk.length
  }

  digest(): FileMerkle {
    if (this.#done) throw new TorrentError('hash_failed', 'MerkleHasher.digest() called twice')
    this.#done = true
    if (this.#block !== null) this.#finishBlock()
    if (this.#leaves.length > 0) this.#finishPiece(this.#pieceRoots.length === 0)
    return fileMerkleOf(this.#length, this.pieceLength, Buffer.concat(this.#pieceRoots))
  }

  #finishBlock(): void {
    const leaf = this.#block!.digest()
    this.#block = null
    this.#inBlock = 0
    this.#addLeaf(leaf)
  }

  #addLeaf(leaf: Buffer): void {
    this.#leaves.push(leaf)
    // A whole piece: the same root whether or not it turns out to be the file's only piece.
    if (this.#leaves.length === this.#blocksPerPiece) this.#finishPiece(false)
  }

  #finishPiece(onlyPiece: boolean): void {
    this.#pieceRoots.push(pieceSubtreeRoot(Buffer.concat(this.#leaves), this.pieceLength, onlyPiece))
    this.#leaves = []
  }
}
