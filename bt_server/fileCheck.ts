// Decides whether a stored file may be seeded as it is: unchanged since it was hashed (size and
// mtime match the record), or rehashed now and found identical to its torrent's pieces.
import { lstat, readFile } from 'node:fs/promises'
import { hashFileInWorkers } from '../src/bittorrent/hashInWorker.ts'
import { decodeTorrent } from '../src/bittorrent/metainfo.ts'

export type FileVerdict =
  | { ok: true; torrent: Buffer; size: number; mtimeMs: number; rehashed: boolean }
  | { ok: false; reason: string }

export interface FileExpectation {
  filePath: string
  torrentPath: string
  size: number
  fileMtimeMs: number | null
}

export async function statFile(filePath: string): Promise<{ size: number; mtimeMs: number } | null> {
  try {
    // lstat: a symlink put into media/ is not the file that was uploaded, and is never served.
    const s = await lstat(filePath)
    return s.isFile() ? { size: s.size, mtimeMs: Math.floor(s.mtimeMs) } : null
  } catch {
    return null
  }
}

export async function checkFile(e: FileExpectation): Promise<FileVerdict> {
  const now = await statFile(e.filePath)
  if (!now) {
    const link = await lstat(e.filePath).then(
      (s) => s.isSymbolicLink(),
      () => false,
    )
    return {
      ok: false,
      reason: link ? 'the media file is a symbolic link (never seeded)' : 'the media file has vanished',
    }
  }
  if (now.size !== e.size)
    return { ok: false, reason: `the media file changed size (${now.size} bytes, expected ${e.size})` }
  let torrent: Buffer
  try {
    torrent = await readFile(e.torrentPath)
  } catch {
    return { ok: false, reason: 'the .torrent file is missing' }
  }
  if (e.fileMtimeMs !== null && now.mtimeMs === e.fileMtimeMs)
    return { ok: true, torrent, size: now.size, mtimeMs: now.mtimeMs, rehashed: false }

  // Modified (or never recorded): only an identical file is seeded.
  const { pieceLength, pieces } = decodeTorrent(torrent)
  const hashed = await hashFileInWorkers(e.filePath, pieceLength)
  if (!hashed.pieces.equals(pieces))
    return { ok: false, reason: "the media file's content no longer matches its torrent" }
  return { ok: true, torrent, size: now.size, mtimeMs: now.mtimeMs, rehashed: true }
}
