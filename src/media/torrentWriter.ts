// Turns hashed pieces into the .torrent file written beside the media file.
import { open, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { buildTorrent } from '../bittorrent/metainfo.ts'
import { hashFileInWorkers, type HashOptions } from '../bittorrent/hashInWorker.ts'
import { choosePieceLength } from '../bittorrent/pieceLength.ts'

export interface TorrentSource {
  /** Stored file name; becomes info.name, so a retitle keeps the infohash. */
  fileName: string
  filePath: string
  size: number
}

export interface TorrentContext {
  trackers: string[]
  webSeeds: string[]
  comment: string
  createdBy: string
  /** BEP 27 private flag (inside the info dict: it decides the infohash). */
  private: boolean
}

export interface WrittenTorrent {
  infoHash: string
  pieceLength: number
  pieceCount: number
  trackers: string[]
  webSeeds: string[]
  torrentPath: string
}

export const torrentPathFor = (filePath: string) => `${filePath}.torrent`

export async function writeTorrentFile(
  source: TorrentSource,
  hashed: { pieceLength: number; pieces: Buffer },
  ctx: TorrentContext,
): Promise<WrittenTorrent> {
  const built = buildTorrent({
    name: source.fileName,
    length: source.size,
    pieceLength: hashed.pieceLength,
    pieces: hashed.pieces,
    trackers: ctx.trackers,
    webSeeds: ctx.webSeeds,
    comment: ctx.comment,
    createdBy: ctx.createdBy,
    creationDate: Math.floor(Date.now() / 1000),
    private: ctx.private,
  })
  const torrentPath = torrentPathFor(source.filePath)
  await writeFileAtomic(torrentPath, built.buffer)
  return {
    infoHash: built.infoHash,
    pieceLength: hashed.pieceLength,
    pieceCount: built.pieceCount,
    trackers: ctx.trackers,
    webSeeds: ctx.webSeeds,
    torrentPath,
  }
}

/** The temporary name writeFileAtomic uses; the start-up check removes leftovers. */
const atomicTempPath = (file: string) => path.join(path.dirname(file), `.${path.basename(file)}.tmp`)

/**
 * Write to a temporary file, fsync it, rename it over the target, fsync the folder: a reader
 * (or a crash at any point) sees the old file or the new one, never half of one.
 */
export async function writeFileAtomic(file: string, data: Buffer): Promise<void> {
  const tmp = atomicTempPath(file)
  try {
    const handle = await open(tmp, 'w', 0o644)
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, file)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  const dir = await open(path.dirname(file), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

/** For files whose pieces were not hashed on the way in: hash off the main thread, then write. */
export async function hashAndWriteTorrent(
  source: TorrentSource,
  ctx: TorrentContext,
  opts: HashOptions = {},
): Promise<WrittenTorrent> {
  const hashed = await hashFileInWorkers(source.filePath, choosePieceLength(source.size), opts)
  if (hashed.length !== source.size)
    throw new Error(`file size changed while hashing (${hashed.length} != ${source.size})`)
  return writeTorrentFile(source, hashed, ctx)
}
