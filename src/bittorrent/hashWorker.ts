// Worker entry: hashes one file off the main thread so a multi-GiB upload
// doesn't stall the HTTP event loop. Started only by hashInWorker.ts.
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { TorrentError } from './errors.ts'
import { hashFile } from './hashFile.ts'

export interface HashJob {
  path: string
  pieceLength: number
}

export type HashReply =
  | { ok: true; pieces: ArrayBuffer; length: number; pieceLength: number }
  | { ok: false; code: string; message: string }

if (isMainThread || parentPort === null) {
  throw new Error('hashWorker.ts must be run as a worker_threads Worker')
}
const port = parentPort
const job = workerData as HashJob

try {
  const result = await hashFile(job.path, job.pieceLength)
  // Copy only if the Buffer is a view into a larger ArrayBuffer; the normal
  // case (PieceHasher allocates exactly) transfers with zero copies.
  const { pieces } = result
  const whole = pieces.byteOffset === 0 && pieces.byteLength === pieces.buffer.byteLength
  const ab = whole
    ? (pieces.buffer as ArrayBuffer)
    : (pieces.buffer.slice(pieces.byteOffset, pieces.byteOffset + pieces.byteLength) as ArrayBuffer)
  const reply: HashReply = { ok: true, pieces: ab, length: result.length, pieceLength: result.pieceLength }
  port.postMessage(reply, [ab])
} catch (err) {
  const e = err as NodeJS.ErrnoException
  const reply: HashReply = {
    ok: false,
    code: err instanceof TorrentError ? err.code : 'hash_failed',
    message: `hashing ${job.path} failed: ${e?.message ?? String(err)}`,
  }
  port.postMessage(reply)
}
