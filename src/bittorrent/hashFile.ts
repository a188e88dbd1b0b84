import { createReadStream } from 'node:fs'
import { PieceHasher, type PieceHashes } from './pieceHasher.ts'

// 1 MiB reads: few syscalls, while memory stays bounded regardless of file size.
const READ_CHUNK = 1024 * 1024

// Hashes a file on the calling thread. fs errors (e.g. ENOENT) propagate as-is
// so callers can tell a missing file from a hashing bug.
export async function hashFile(path: string, pieceLength: number): Promise<PieceHashes> {
  const hasher = new PieceHasher(pieceLength)
  const stream = createReadStream(path, { highWaterMark: READ_CHUNK })
  for await (const chunk of stream) hasher.update(chunk as Buffer)
  return hasher.digest()
}
