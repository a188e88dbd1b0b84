// Worker entry: hashes one range of pieces of a file with large reads into one reused buffer,
// writing each 20-byte digest into the shared result and counting it in the shared progress.
// Started only by hashInWorker.ts, one per core.
import { closeSync, constants, fstatSync, openSync, read } from 'node:fs'
import { createHash } from 'node:crypto'
import { isMainThread, parentPort, workerData } from 'node:worker_threads'

export interface HashJob {
  path: string
  pieceLength: number
  /** The file's size when the hashing started: every worker checks it still has it. */
  size: number
  firstPiece: number
  endPiece: number
  /** pieceCount × 20 bytes, the digests in piece order. */
  digests: SharedArrayBuffer
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
    const digests = new Uint8Array(job.digests)
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
        const digest = createHash('sha1')
          .update(buffer.subarray(off, Math.min(off + job.pieceLength, want)))
          .digest()
        digests.set(digest, p * SHA1_LENGTH)
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
