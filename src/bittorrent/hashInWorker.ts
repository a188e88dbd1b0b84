import { Worker } from 'node:worker_threads'
import { TorrentError } from './errors.ts'
import type { PieceHashes } from './pieceHasher.ts'
import type { HashJob, HashReply } from './hashWorker.ts'

const WORKER_URL = new URL('./hashWorker.ts', import.meta.url)

// Same result as hashFile(), computed in a fresh worker thread. One worker per
// call keeps failure isolation simple; thread start-up (~tens of ms) is noise
// next to hashing a video.
export function hashFileInWorker(path: string, pieceLength: number): Promise<PieceHashes> {
  return new Promise((resolve, reject) => {
    const job: HashJob = { path, pieceLength }
    const worker = new Worker(WORKER_URL, { workerData: job })
    let settled = false
    const settle = (fn: () => void): void => {
      if (settled) return
      settled = true
      fn()
    }

    worker.once('message', (reply: HashReply) => {
      settle(() => {
        if (reply.ok) {
          resolve({ pieces: Buffer.from(reply.pieces), length: reply.length, pieceLength: reply.pieceLength })
        } else {
          reject(new TorrentError(reply.code, reply.message))
        }
      })
    })
    worker.once('error', (err: Error) => {
      settle(() => reject(new TorrentError('hash_failed', `hash worker crashed: ${err.message}`)))
    })
    worker.once('exit', (code: number) => {
      settle(() => reject(new TorrentError('hash_failed', `hash worker exited with code ${code} before replying`)))
    })
  })
}
