// Worker entry: hashes one range of pieces of a file with large reads into one reused buffer,
// writing each piece's 20-byte SHA-1 digest and (v2, hybrid) its 32-byte merkle subtree root into
// the shared results, and counting it in the shared progress. Both hashes are made from the same
// read, while the buffer is in the cache. Started only by hashInWorker.ts, one per core.
import { closeSync, constants, fstatSync, openSync, read } from 'node:fs'
import { hash } from 'node:crypto'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { MERKLE_BLOCK_SIZE, MERKLE_HASH_LENGTH, pieceSubtreeRoot, sha256 } from './merkle.ts'

export interface HashJob {
  path: string
  pieceLength: number
  /** The file's size when the hashing started: every worker checks it still has it. */
  size: number
  firstPiece: number
  endPiece: number
  /** pieceCount × 20 bytes, the SHA-1 digests in piece order; null: no v1 pieces wanted (v2-only). */
  digests: SharedArrayBuffer | null
  /** pieceCount × 32 bytes, each piece's merkle subtree root in piece order; null: no v2 (v1). */
  roots: SharedArrayBuffer | null
  /** One Int32: pieces done, by all workers. */
  progress: SharedArrayBuffer
  /** Tests only: a pause after each piece, so that progress can be watched. */
  pieceDelayMs: number
}

export type HashReply = { ok: true } | { ok: false; code?: string; message: string }

/** Reads of about this much (whole pieces, at least one): few syscalls, and the buffer stays in the L2 cache for the hash. */
const READ_BYTES = 2 * 1024 * 1024
const SHA1_LENGTH = 20

/** Fills `buffer[0, want)` from `position`; the read runs on libuv's pool, off this thread. */
function readFully(fd: number, buffer: Buffer, want: number, position: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (got: number) => {
      if (got === want) return resolve()
      read(fd, buffer, got, want - got, position + got, (err, n) => {
        if (err) return reject(err)
        if (n === 0) return reject(new Error(`file ended at ${position + got} bytes while hashing`))
        step(got + n)
      })
    }
    step(0)
  })
}

/**
 * Two buffers: while one is hashed here, the next chunk is read into the other (as mktorrent's
 * reader thread does), so a file that is not in the page cache costs the disk's time, not the
 * disk's time plus the hashing's.
 */
async function hashRange(job: HashJob): Promise<void> {
  const fd = openSync(job.path, constants.O_RDONLY | constants.O_NOFOLLOW)
  let pending: Promise<void> | null = null
  try {
    const now = fstatSync(fd).size
    if (now !== job.size) throw new Error(`file size changed while hashing (now ${now} bytes, was ${job.size})`)
    const perRead = Math.max(1, Math.floor(READ_BYTES / job.pieceLength))
    const buffers = [
      Buffer.allocUnsafeSlow(perRead * job.pieceLength),
      Buffer.allocUnsafeSlow(perRead * job.pieceLength),
    ]
    const digests = job.digests ? new Uint8Array(job.digests) : null
    const roots = job.roots ? new Uint8Array(job.roots) : null
    const leaves = Buffer.allocUnsafeSlow(roots ? (job.pieceLength / MERKLE_BLOCK_SIZE) * MERKLE_HASH_LENGTH : 0)
    // A file within one piece: its tree is padded to the next power of two, not to a whole piece.
    const onlyPiece = job.size <= job.pieceLength
    const progress = new Int32Array(job.progress)
    const pause = job.pieceDelayMs > 0 ? new Int32Array(new SharedArrayBuffer(4)) : null
    const chunk = (piece: number) => {
      const start = piece * job.pieceLength
      return {
        start,
        want: Math.min(perRead * job.pieceLength, job.size - start, (job.endPiece - piece) * job.pieceLength),
      }
    }
    let turn = 0
    pending =
      job.firstPiece < job.endPiece
        ? readFully(fd, buffers[0]!, chunk(job.firstPiece).want, chunk(job.firstPiece).start)
        : null
    for (let piece = job.firstPiece; piece < job.endPiece; piece += perRead) {
      await pending
      const buffer = buffers[turn]!
      const { want } = chunk(piece)
      const next = piece + perRead
      turn ^= 1
      pending = next < job.endPiece ? readFully(fd, buffers[turn]!, chunk(next).want, chunk(next).start) : null
      for (let off = 0, p = piece; off < want; off += job.pieceLength, p++) {
        const bytes = buffer.subarray(off, Math.min(off + job.pieceLength, want))
        if (digests) digests.set(hash('sha1', bytes, 'buffer'), p * SHA1_LENGTH)
        if (roots) {
          let n = 0
          for (let b = 0; b < bytes.length; b += MERKLE_BLOCK_SIZE, n++)
            sha256(bytes.subarray(b, b + MERKLE_BLOCK_SIZE)).copy(leaves, n * MERKLE_HASH_LENGTH)
          roots.set(
            pieceSubtreeRoot(leaves.subarray(0, n * MERKLE_HASH_LENGTH), job.pieceLength, onlyPiece),
            p * MERKLE_HASH_LENGTH,
          )
        }
        Atomics.add(progress, 0, 1)
        if (pause) Atomics.wait(pause, 0, 0, job.pieceDelayMs)
      }
    }
    await pending
  } finally {
    // A read still running (hashing failed) must not land in a closed descriptor.
    await pending?.catch(() => {})
    closeSync(fd)
  }
}

if (isMainThread || parentPort === null) {
  throw new Error('hashWorker.ts must be run as a worker_threads Worker')
}
const port = parentPort
const job = workerData as HashJob
try {
  await hashRange(job)
  port.postMessage({ ok: true } satisfies HashReply)
} catch (err) {
  const e = err as NodeJS.ErrnoException
  port.postMessage({ ok: false, code: e.code, message: `hashing ${job.path} failed: ${e.message}` } satisfies HashReply)
}
