import { createHash, type Hash } from 'node:crypto'
import { TorrentError } from './errors.ts'

export interface PieceHashes {
  pieces: Buffer // concatenated 20-byte SHA-1 digests, one per piece
  length: number // total bytes hashed
  pieceLength: number
}

const SHA1_LENGTH = 20

// Streams bytes into per-piece SHA-1 hashes. Chunks are fed straight into the
// running hash (subarray views, no copies), so memory stays O(piece count * 20)
// no matter how large the file is.
export class PieceHasher {
  readonly pieceLength: number
  #digests: Buffer[] = []
  #current: Hash | null = null
  #inPiece = 0 // bytes already fed to #current
  #length = 0
  #done = false

  constructor(pieceLength: number) {
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
      throw new TorrentError('bad_spec', `piece length must be a positive integer, got ${pieceLength}`)
    }
    this.pieceLength = pieceLength
  }

  update(chunk: Buffer): void {
    if (this.#done) throw new TorrentError('hash_failed', 'PieceHasher.update() after digest()')
    let offset = 0
    while (offset < chunk.length) {
      this.#current ??= createHash('sha1')
      const take = Math.min(this.pieceLength - this.#inPiece, chunk.length - offset)
      this.#current.update(chunk.subarray(offset, offset + take))
      this.#inPiece += take
      offset += take
      if (this.#inPiece === this.pieceLength) this.#finishPiece()
    }
    this.#length += chunk.length
  }

  digest(): PieceHashes {
    if (this.#done) throw new TorrentError('hash_failed', 'PieceHasher.digest() called twice')
    this.#done = true
    // Only a started piece is hashed: exact multiples and empty input add no
    // trailing empty piece.
    if (this.#current !== null) this.#finishPiece()
    // Buffer.alloc (not concat) so the result owns a whole, unpooled
    // ArrayBuffer that can be transferred out of a worker.
    const pieces = Buffer.alloc(this.#digests.length * SHA1_LENGTH)
    this.#digests.forEach((d, i) => d.copy(pieces, i * SHA1_LENGTH))
    return { pieces, length: this.#length, pieceLength: this.pieceLength }
  }

  #finishPiece(): void {
    this.#digests.push(this.#current!.digest())
    this.#current = null
    this.#inPiece = 0
  }
}
