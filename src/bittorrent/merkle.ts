// BitTorrent v2 (BEP 52) hashing of one file: SHA-256 per 16 KiB block (the last block hashed as
// it is), a merkle tree over the block hashes, the per-piece subtree roots (the file's entry in
// `piece layers`) and the file's `pieces root`. Fed like PieceHasher (any chunk sizes), so both
// can run in the same pass over the bytes. Memory: one piece's leaves plus 32 bytes per piece.
import { createHash, type Hash } from 'node:crypto'
import { TorrentError } from './errors.ts'
import { MIN_PIECE_LENGTH } from './pieceLength.ts'

const BLOCK_SIZE = 16 * 1024
const HASH_LENGTH = 32

export interface FileMerkle {
  length: number // total bytes hashed
  pieceLength: number
  /** The file's `pieces root`; null for an empty file (BEP 52: empty files have none). */
  piecesRoot: Buffer | null
  /** The piece subtree roots, 32 bytes each; null when the file fits in one piece (no `piece layers` entry). */
  pieceLayer: Buffer | null
}

const sha256 = (...parts: Buffer[]): Buffer => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** The root of `leaves`; their count must be a power of two. */
function rootOf(leaves: Buffer[]): Buffer {
  let layer = leaves
  while (layer.length > 1) {
    const next: Buffer[] = []
    for (let i = 0; i < layer.length; i += 2) next.push(sha256(layer[i]!, layer[i + 1]!))
    layer = next
  }
  return layer[0]!
}

const nextPowerOfTwo = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)))

/** The root of a subtree of `leafCount` zero leaves (a power of two): the padding above piece level. */
function zeroRoot(leafCount: number): Buffer {
  let h: Buffer = Buffer.alloc(HASH_LENGTH)
  for (let n = leafCount; n > 1; n /= 2) h = sha256(h, h)
  return h
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
    if (
      !Number.isSafeInteger(pieceLength) ||
      pieceLength < MIN_PIECE_LENGTH ||
      (pieceLength & (pieceLength - 1)) !== 0
    ) {
      throw new TorrentError(
        'bad_spec',
        `piece length must be a power of two >= ${MIN_PIECE_LENGTH}, got ${pieceLength}`,
      )
    }
    this.pieceLength = pieceLength
    this.#blocksPerPiece = pieceLength / BLOCK_SIZE
  }

  update(chunk: Buffer): void {
    if (this.#done) throw new TorrentError('hash_failed', 'MerkleHasher.update() after digest()')
    let offset = 0
    while (offset < chunk.length) {
      this.#block ??= createHash('sha256')
      const take = Math.min(BLOCK_SIZE - this.#inBlock, chunk.length - offset)
      this.#block.update(chunk.subarray(offset, offset + take))
      this.#inBlock += take
      offset += take
      if (this.#inBlock === BLOCK_SIZE) this.#finishBlock()
    }
    this.#length += chunk.length
  }

  digest(): FileMerkle {
    if (this.#done) throw new TorrentError('hash_failed', 'MerkleHasher.digest() called twice')
    this.#done = true
    if (this.#block !== null) this.#finishBlock()
    const base = { length: this.#length, pieceLength: this.pieceLength }
    if (this.#length === 0) return { ...base, piecesRoot: null, pieceLayer: null }
    if (this.#pieceRoots.length === 0) {
      // A file within one piece: its leaves are padded to the next power of two, not to a piece.
      const leaves = this.#padded(this.#leaves, nextPowerOfTwo(this.#leaves.length), Buffer.alloc(HASH_LENGTH))
      return { ...base, piecesRoot: rootOf(leaves), pieceLayer: null }
    }
    if (this.#leaves.length > 0) this.#finishPiece()
    if (this.#pieceRoots.length === 1) return { ...base, piecesRoot: this.#pieceRoots[0]!, pieceLayer: null }
    const roots = this.#pieceRoots
    const layer = this.#padded(roots, nextPowerOfTwo(roots.length), zeroRoot(this.#blocksPerPiece))
    return { ...base, piecesRoot: rootOf(layer), pieceLayer: Buffer.concat(roots) }
  }

  #padded(hashes: Buffer[], count: number, pad: Buffer): Buffer[] {
    const out = hashes.slice()
    while (out.length < count) out.push(pad)
    return out
  }

  #finishBlock(): void {
    this.#leaves.push(this.#block!.digest())
    this.#block = null
    this.#inBlock = 0
    if (this.#leaves.length === this.#blocksPerPiece) this.#finishPiece()
  }

  // The last piece of a multi-piece file is padded with zero leaves to a whole piece.
  #finishPiece(): void {
    this.#pieceRoots.push(rootOf(this.#padded(this.#leaves, this.#blocksPerPiece, Buffer.alloc(HASH_LENGTH))))
    this.#leaves = []
  }
}
