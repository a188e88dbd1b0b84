// Turns hashed pieces into the .torrent file written beside the media file.
import { rename, writeFile, unlink } from 'node:fs/promises'
import path from 'node:path'
import { buildTorrent } from './builder.ts'
import { hashFileInWorker } from './hashInWorker.ts'
import { choosePieceLength } from './pieceLength.ts'

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

export async function writeTorrentFile(source: TorrentSource, hashed: { pieceLength: number; pieces: Buffer }, ctx: TorrentContext): Promise<WrittenTorrent> {
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
  })
  const torrentPath = torrentPathFor(source.filePath)
  // Write then rename, so a reader never sees half a .torrent.
  const tmp = path.join(path.dirname(torrentPath), `.${path.basename(torrentPath)}.tmp`)
  await writeFile(tmp, built.buffer)
  await rename(tmp, torrentPath).catch(async (err) => { await unlink(tmp).catch(() => {}); throw err })
  return { infoHash: built.infoHash, pieceLength: hashed.pieceLength, pieceCount: built.pieceCount, trackers: ctx.trackers, webSeeds: ctx.webSeeds, torrentPath }
}

/** For files whose pieces were not hashed on the way in: hash off the main thread, then write. */
export async function hashAndWriteTorrent(source: TorrentSource, ctx: TorrentContext): Promise<WrittenTorrent> {
  const hashed = await hashFileInWorker(source.filePath, choosePieceLength(source.size))
  if (hashed.length !== source.size) throw new Error(`file size changed while hashing (${hashed.length} != ${source.size})`)
  return writeTorrentFile(source, hashed, ctx)
}
