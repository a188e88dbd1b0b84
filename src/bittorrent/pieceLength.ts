import { TorrentError } from './errors.ts'

export const MIN_PIECE_LENGTH = 16 * 1024
export const MAX_PIECE_LENGTH = 16 * 1024 * 1024

// Aim for 1000–2000 pieces: few enough to keep the .torrent small, many
// enough that peers can swap pieces early and a bad piece costs little.
const TARGET_MAX_PIECES = 2000

export function choosePieceLength(size: number): number {
  if (!Number.isSafeInteger(size) || size <= 0) {
    throw new TorrentError('bad_size', `size must be a positive integer, got ${size}`)
  }
  let pieceLength = MIN_PIECE_LENGTH
  while (pieceLength < MAX_PIECE_LENGTH && Math.ceil(size / pieceLength) > TARGET_MAX_PIECES) {
    pieceLength *= 2
  }
  return pieceLength
}
