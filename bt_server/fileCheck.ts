// Decides whether a stored release may be seeded as it is: unchanged since it was hashed (size
// and mtime match the record; a multi-file release's other files have their sizes and are no
// newer than the .torrent written after them), or rehashed now and found identical to its
// torrent (v1 pieces for a v1 torrent, each file's v2 pieces root for hybrid and v2).
import { lstat, readFile } from 'node:fs/promises'
import path from 'node:path'
import { hashFileForTorrent, hashFileInWorkers } from '../src/bittorrent/hashInWorker.ts'
import { type DecodedTorrent, decodeTorrent } from '../src/bittorrent/metainfo.ts'
import { releaseFilePath } from '../src/media/storage.ts'

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

const isLink = (p: string): Promise<boolean> =>
  lstat(p).then(
    (s) => s.isSymbolicLink(),
    () => false,
  )

/** A file of the torrent with bytes, where it is on disk, and whether it is the video. */
interface Part {
  disk: string
  length: number
  piecesRoot: Buffer | null
  video: boolean
}

function partsOf(d: DecodedTorrent, videoPath: string): Part[] {
  if (!d.multiFile)
    return [{ disk: videoPath, length: d.length, piecesRoot: d.files[0]?.piecesRoot ?? null, video: true }]
  const media = { mediaDir: path.dirname(videoPath) }
  const fileName = path.basename(videoPath)
  return d.files
    .filter((f) => !f.pad && f.length > 0)
    .map((f) => {
      const disk = releaseFilePath(media, fileName, f.path)
      return { disk, length: f.length, piecesRoot: f.piecesRoot, video: disk === videoPath }
    })
}

export async function checkFile(e: FileExpectation): Promise<FileVerdict> {
  const now = await statFile(e.filePath)
  if (!now) {
    return {
      ok: false,
      reason: (await isLink(e.filePath))
        ? 'the media file is a symbolic link (never seeded)'
        : 'the media file has vanished',
    }
  }
  if (now.size !== e.size)
    return { ok: false, reason: `the media file changed size (${now.size} bytes, expected ${e.size})` }
  let torrent: Buffer
  let torrentMtime: number
  try {
    torrent = await readFile(e.torrentPath)
    torrentMtime = Math.floor((await lstat(e.torrentPath)).mtimeMs)
  } catch {
    return { ok: false, reason: 'the .torrent file is missing' }
  }
  const decoded = decodeTorrent(torrent)
  const parts = partsOf(decoded, e.filePath)
  // Which files must be rehashed: the video if its mtime is not the recorded one, another file
  // of the release if it is newer than the .torrent (written once the release was complete).
  const stale: Part[] = []
  for (const p of parts) {
    const s = p.video ? now : await statFile(p.disk)
    const name = path.basename(p.disk)
    if (!s)
      return {
        ok: false,
        reason: (await isLink(p.disk))
          ? `${name} is a symbolic link (never seeded)`
          : `${name} of the release has vanished`,
      }
    if (s.size !== p.length)
      return { ok: false, reason: `${name} changed size (${s.size} bytes, expected ${p.length})` }
    const unchanged = p.video ? e.fileMtimeMs !== null && s.mtimeMs === e.fileMtimeMs : s.mtimeMs <= torrentMtime
    if (!unchanged) stale.push(p)
  }
  if (stale.length === 0) return { ok: true, torrent, size: now.size, mtimeMs: now.mtimeMs, rehashed: false }

  // Modified (or never recorded): only identical files are seeded.
  if (decoded.format === 'v1') {
    const hashed = await hashFileInWorkers(e.filePath, decoded.pieceLength)
    if (!decoded.pieces || !hashed.pieces.equals(decoded.pieces))
      return { ok: false, reason: "the media file's content no longer matches its torrent" }
  } else {
    for (const p of stale) {
      // The worker pool, as the upload's background path: a big video is hashed off this thread,
      // which keeps serving peers meanwhile.
      const root = (await hashFileForTorrent(p.disk, decoded.pieceLength, 'v2')).hashes.merkle?.piecesRoot ?? null
      if (!root || !p.piecesRoot?.equals(root))
        return { ok: false, reason: `the content of ${path.basename(p.disk)} no longer matches its torrent` }
    }
  }
  return { ok: true, torrent, size: now.size, mtimeMs: now.mtimeMs, rehashed: true }
}
