// Hashes a whole file at the machine's speed: one worker thread per core, each hashing its own
// contiguous range of pieces (so each reads sequentially and the kernel's read-ahead follows),
// all writing into shared result buffers. The pieces are those of any BitTorrent v1 tool
// (mktorrent's, for the same piece length): SHA-1 of each piece, the last one short. For v2 and
// hybrid each worker also makes each piece's merkle subtree root (pieces are whole subtrees), and
// the file's pieces root is made here from them, by the same rules as MerkleHasher (merkle.ts).
import { stat } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { TorrentError } from './errors.ts'
import { checkMerklePieceLength, fileMerkleOf, MERKLE_HASH_LENGTH } from './merkle.ts'
import type { PieceHashes } from './pieceHasher.ts'
import { needsMerkle, needsPieces, type TorrentFormat, type TorrentHashes } from './torrentHasher.ts'
import type { HashJob, HashReply } from './hashWorker.ts'
import { MODULE_EXT } from '../projectPaths.ts'

const WORKER_URL = new URL(`./hashWorker${MODULE_EXT}`, import.meta.url)
const PROGRESS_EVERY_MS = 200

export interface HashProgress {
  done: number
  total: number
}

export interface HashOptions {
  /** Worker threads; default one per core (os.availableParallelism()). */
  threads?: number
  /** Called every 200 ms while it runs, and once at the end. */
  onProgress?: (progress: HashProgress) => void
  /** Tests only: a pause after each piece (in each worker), so that progress can be watched. */
  pieceDelayMs?: number
}

/** The v1 pieces of a file (any piece length). */
export async function hashFileInWorkers(
  path: string,
  pieceLength: number,
  opts: HashOptions = {},
): Promise<PieceHashes> {
  const { hashes, length } = await hashFileForTorrent(path, pieceLength, 'v1', opts)
  return { pieces: hashes.pieces!, length, pieceLength }
}

/** What a torrent of `format` needs of a file: v1 pieces, the v2 merkle, or both from one read. */
export async function hashFileForTorrent(
  path: string,
  pieceLength: number,
  format: TorrentFormat,
  opts: HashOptions = {},
): Promise<{ hashes: TorrentHashes; length: number }> {
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0)
    throw new TorrentError('bad_spec', `piece length must be a positive integer, got ${pieceLength}`)
  if (needsMerkle(format)) checkMerklePieceLength(pieceLength)
  const statNow = () =>
    stat(path).then(
      (s) => ({ size: s.size, mtimeMs: s.mtimeMs, regular: s.isFile() }),
      (err: Error) => {
        throw new TorrentError('hash_failed', `hashing ${path} failed: ${err.message}`)
      },
    )
  const before = await statNow()
  if (!before.regular) throw new TorrentError('hash_failed', `hashing ${path} failed: not a regular file`)
  const { size } = before
  const total = Math.ceil(size / pieceLength)
  const digests = needsPieces(format) ? new SharedArrayBuffer(total * 20) : null
  const roots = needsMerkle(format) ? new SharedArrayBuffer(total * MERKLE_HASH_LENGTH) : null
  const progress = new SharedArrayBuffer(4)
  const done = new Int32Array(progress)
  const threads = Math.max(1, Math.min(opts.threads ?? availableParallelism(), total))
  const report = () => opts.onProgress?.({ done: Atomics.load(done, 0), total })
  const timer = opts.onProgress ? setInterval(report, PROGRESS_EVERY_MS) : null
  try {
    const ranges = Array.from({ length: threads }, (_, i) => [
      Math.floor((i * total) / threads),
      Math.floor(((i + 1) * total) / threads),
    ])
    const workers: Worker[] = []
    // One failure ends the others: their work is lost anyway.
    await Promise.all(
      ranges.map(([firstPiece, endPiece]) =>
        runWorker(workers, {
          path,
          pieceLength,
          size,
          firstPiece: firstPiece!,
          endPiece: endPiece!,
          digests,
          roots,
          progress,
          pieceDelayMs: opts.pieceDelayMs ?? 0,
        }),
      ),
    ).catch(async (err: unknown) => {
      await Promise.all(workers.map((w) => w.terminate()))
      throw err
    })
  } finally {
    if (timer) clearInterval(timer)
  }
  // Written to while it was read: the pieces may mix old and new bytes.
  const after = await statNow()
  if (after.size !== before.size || after.mtimeMs !== before.mtimeMs)
    throw new TorrentError('hash_failed', `hashing ${path} failed: the file changed while it was hashed`)
  report()
  // Copied out of the shared memory: callers keep ordinary Buffers.
  const hashes: TorrentHashes = {
    pieceLength,
    pieces: digests ? Buffer.from(new Uint8Array(digests)) : null,
    merkle: roots ? fileMerkleOf(size, pieceLength, Buffer.from(new Uint8Array(roots))) : null,
  }
  return { hashes, length: size }
}

function runWorker(workers: Worker[], job: HashJob): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: job })
    workers.push(worker)
    let settled = false
    const settle = (fn: () => void): void => {
      if (settled) return
      settled = true
      fn()
    }
    worker.once('message', (reply: HashReply) => {
      settle(() => (reply.ok ? resolve() : reject(new TorrentError('hash_failed', reply.message))))
    })
    worker.once('error', (err: Error) => {
      settle(() => reject(new TorrentError('hash_failed', `hash worker crashed: ${err.message}`)))
    })
    worker.once('exit', (code: number) => {
      settle(() => reject(new TorrentError('hash_failed', `hash worker exited with code ${code} before replying`)))
    })
  })
}
