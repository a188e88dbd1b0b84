// The hashes a torrent of each format needs, made in one pass over the bytes: v1 SHA-1 pieces
// (PieceHasher) and the v2 merkle (MerkleHasher) side by side, each fed the same chunks.
import type { FileMerkle } from './merkle.ts'
import { MerkleHasher } from './merkle.ts'
import { PieceHasher } from './pieceHasher.ts'

export const TORRENT_FORMATS = ['v1', 'hybrid', 'v2'] as const
export type TorrentFormat = (typeof TORRENT_FORMATS)[number]

export interface TorrentHashes {
  pieceLength: number
  /** v1 SHA-1 piece hashes; null when not made (v2-only). */
  pieces: Buffer | null
  /** v2 merkle of the file; null when not made (v1). */
  merkle: FileMerkle | null
}

export const needsPieces = (format: TorrentFormat): boolean => format !== 'v2'
export const needsMerkle = (format: TorrentFormat): boolean => format !== 'v1'

/** Whether `hashes` hold what a torrent of `format` needs (a setting changed mid-upload: they may not). */
export const hashesFit = (hashes: TorrentHashes, format: TorrentFormat): boolean =>
  (!needsPieces(format) || hashes.pieces !== null) && (!needsMerkle(format) || hashes.merkle !== null)

export class TorrentHasher {
  readonly pieceLength: number
  readonly #pieces: PieceHasher | null
  readonly #merkle: MerkleHasher | null

  constructor(pieceLength: number, format: TorrentFormat) {
    this.pieceLength = pieceLength
    this.#pieces = needsPieces(format) ? new PieceHasher(pieceLength) : null
    this.#merkle = needsMerkle(format) ? new MerkleHasher(pieceLength) : null
  }

  update(chunk: Buffer): void {
    this.#pieces?.update(chunk)
    this.#merkle?.update(chunk)
  }

  digest(): TorrentHashes {
    return {
      pieceLength: this.pieceLength,
      pieces: this.#pieces?.digest().pieces ?? null,
      merkle: this.#merkle?.digest() ?? null,
    }
  }
}
