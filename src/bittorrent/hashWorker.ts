// Worker entry: hashes one range of pieces of a file with large reads into one reused buffer,
// writing each 20-byte digest into the shared result and counting it in the shared progress.
// Started only by hashInWorker.ts, one per core.
import { closeSync, fstatSync, openSync, readSync, constants } from 'node:fs'
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

function hashRange(job: HashJob): void {
  const fd = openSync(job.path, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    if (fstatSync(fd).size !== job.size) throw new Error(`file size changed while hashing (now ${fstatSync(fd).size})`)
    const perRead = Math.max(1, Math.floor(READ_BYTES / job.pieceLength))
    const buffer = Buffer.allocUnsafeSlow(perRead * job.pieceLength)
    const digests = new Uint8Array(job.digests)
    const progress = new Int32Array(job.progress)
    const pause = job.pieceDelayMs > 0 ? new Int32Array(new SharedArrayBuffer(4)) : null
    for (let piece = job.firstPiece; piece < job.endPiece; piece += perRead) {
      const start = piece * job.pieceLength
      const want = Math.min(buffer.length, job.size - start, (job.endPiece - piece) * job.pieceLength)
      let got = 0
      while (got < want) {
        const n = readSync(fd, buffer, got, want - got, start + got)
        if (n === 0) throw new Error(`file ended at ${start + got} bytes while hashing (expected ${job.size})`)
        got += n
      }
      for (let off = 0, p = piece; off < want; off += job.pieceLength, p++) {
        const digest = createHash('sha1')
          .update(buffer.subarray(off, Math.min(off + job.pieceLength, want)))
          .digest()
        digests.set(digest, p * SHA1_LENGTH)
        Atomics.add(progress, 0, 1)
        if (pause) Atomics.wait(pause, 0, 0, job.pieceDelayMs)
      }
    }
  } finally {
    closeSync(fd)
  }
}

if (isMainThread || parentPort === null) {
  throw new Error('hashWorker.ts must be run as a worker_threads Worker')
}
const port = parentPort
const job = workerData as HashJob
try {
  hashRange(job)
  port.postMessage({ ok: true } satisfies HashReply)
} catch (err) {
  const e = err as NodeJS.ErrnoException
  port.postMessage({ ok: false, code: e.code, message: `hashing ${job.path} failed: ${e.message}` } satisfies HashReply)
}
