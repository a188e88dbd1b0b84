// Where blocks live: pieces of a single-file torrent, and the read windows the piece cache works
// in. A window is an aligned WINDOW_BYTES range of the file read with one preadv straight into
// ready-made piece messages (13-byte header + 16 KiB block, back to back), so a run of requests
// for consecutive blocks is one contiguous slice of one buffer: one socket write, no copy.
import { PIECE_HEADER_LENGTH, writePieceHeader } from '../../src/bittorrent/wire/messages.ts'

export const BLOCK = 16 * 1024
export const WINDOW_BLOCKS = 16
export const WINDOW_BYTES = WINDOW_BLOCKS * BLOCK // 256 KiB
export const SLOT = PIECE_HEADER_LENGTH + BLOCK
export const WINDOW_BUFFER_BYTES = WINDOW_BLOCKS * SLOT
/** Largest request we serve (clients use 16 KiB; some allow up to 128 KiB). */
const MAX_REQUEST = 128 * 1024

export interface Geometry {
  size: number
  pieceLength: number
  pieceCount: number
}

function pieceSize(g: Geometry, index: number): number {
  return index === g.pieceCount - 1 ? g.size - index * g.pieceLength : g.pieceLength
}

/** Why a request cannot be served, or null if it is within the torrent. */
export function badRequest(g: Geometry, index: number, begin: number, length: number): string | null {
  if (index >= g.pieceCount) return `piece ${index} out of range`
  if (length === 0 || length > MAX_REQUEST) return `block length ${length}`
  if (begin + length > pieceSize(g, index)) return `block ${begin}+${length} past the end of piece ${index}`
  return null
}

/**
 * The window slot of a request, or -1 if the request is not a whole standard block (begin on a
 * 16 KiB boundary, 16 KiB long or up to the end of the file): those are read on their own.
 * Slot = window * WINDOW_BLOCKS + block in window.
 */
export function slotOf(g: Geometry, index: number, begin: number, length: number): number {
  if (g.pieceLength % BLOCK !== 0 || begin % BLOCK !== 0) return -1
  const abs = index * g.pieceLength + begin
  if (length !== Math.min(BLOCK, g.size - abs)) return -1
  return abs / BLOCK
}

export const windowOfSlot = (slot: number): number => Math.floor(slot / WINDOW_BLOCKS)
export const blockInWindow = (slot: number): number => slot % WINDOW_BLOCKS

/** Number of blocks in window `w` (the last window of the file may hold fewer). */
export function windowBlockCount(g: Geometry, w: number): number {
  const start = w * WINDOW_BYTES
  if (start >= g.size) return 0
  return Math.ceil((Math.min(g.size, start + WINDOW_BYTES) - start) / BLOCK)
}

export function windowCount(g: Geometry): number {
  return Math.ceil(g.size / WINDOW_BYTES)
}

/** Length of block `b` of window `w` (only the file's last block is short). */
function blockLength(g: Geometry, w: number, b: number): number {
  return Math.min(BLOCK, g.size - (w * WINDOW_BYTES + b * BLOCK))
}

/**
 * Writes the piece headers of window `w` into `buf` and returns the block views the file is read
 * into (one preadv fills them in order).
 */
export function layoutWindow(g: Geometry, w: number, buf: Buffer): Buffer[] {
  const n = windowBlockCount(g, w)
  const targets: Buffer[] = new Array(n)
  for (let b = 0; b < n; b++) {
    const abs = w * WINDOW_BYTES + b * BLOCK
    const len = Math.min(BLOCK, g.size - abs)
    const at = b * SLOT
    writePieceHeader(buf, at, Math.floor(abs / g.pieceLength), abs % g.pieceLength, len)
    targets[b] = buf.subarray(at + PIECE_HEADER_LENGTH, at + PIECE_HEADER_LENGTH + len)
  }
  return targets
}

/** Byte range in the window buffer of the messages for blocks first..last (inclusive). */
export function messageSpan(g: Geometry, w: number, first: number, last: number): [number, number] {
  return [first * SLOT, last * SLOT + PIECE_HEADER_LENGTH + blockLength(g, w, last)]
}

/** Is window `w + 1` in the same piece as window `w` (worth reading ahead)? */
export function nextWindowInPiece(g: Geometry, w: number): boolean {
  if (g.pieceLength <= WINDOW_BYTES) return false
  const next = (w + 1) * WINDOW_BYTES
  return next < g.size && Math.floor(next / g.pieceLength) === Math.floor((w * WINDOW_BYTES) / g.pieceLength)
}
