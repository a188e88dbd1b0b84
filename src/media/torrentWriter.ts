// Turns hashed pieces into the .torrent file written beside the media file, in the format the
// settings call for when it is made: v1 (buildTorrent), hybrid or v2 (buildV2Torrent).
import { open, rename, unlink } from 'node:fs/promises'
import path from 'node:path'
import { aria2LegacyInfoHash } from '../bittorrent/legacyInfoHash.ts'
import { buildTorrent, type CommonSpec, decodeTorrent } from '../bittorrent/metainfo.ts'
import { buildV2Torrent } from '../bittorrent/metainfoV2.ts'
import { hashFileForTorrent, type HashOptions } from '../bittorrent/hashInWorker.ts'
import { choosePieceLength } from '../bittorrent/pieceLength.ts'
import { hashesFit, type TorrentFormat, type TorrentHashes } from '../bittorrent/torrentHasher.ts'

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
  /** The torrent's format (also inside the info dict). */
  format: TorrentFormat
}

export interface WrittenTorrent {
  /** v1 SHA-1 infohash (v1, hybrid), or the v2 one truncated to 20 bytes (v2-only): what trackers see. */
  infoHash: string
  /** The full SHA-256 infohash (64 hex) of a hybrid or v2 torrent; null for v1. */
  infoHashV2: string | null
  /** A hybrid's infohash as aria2c < 1.37 computes it (a tracker alias); null otherwise. */
  legacyInfoHash: string | null
  format: TorrentFormat
  pieceLength: number
  pieceCount: number
  trackers: string[]
  webSeeds: string[]
  torrentPath: string
}

export const torrentPathFor = (filePath: string) => `${filePath}.torrent`

/** What every torrent the site writes takes from its context: the links, comment and flags. */
export const commonSpec = (name: string, ctx: TorrentContext): CommonSpec => ({
  name,
  trackers: ctx.trackers,
  webSeeds: ctx.webSeeds,
  comment: ctx.comment,
  createdBy: ctx.createdBy,
  creationDate: Math.floor(Date.now() / 1000),
  private: ctx.private,
})

/** `hashed` must fit ctx.format (hashesFit); what it holds beyond that is not used. */
export async function writeTorrentFile(
  source: TorrentSource,
  hashed: TorrentHashes,
  ctx: TorrentContext,
): Promise<WrittenTorrent> {
  if (!hashesFit(hashed, ctx.format)) throw new Error(`the hashes made do not fit a ${ctx.format} torrent`)
  // v2 takes the file's length from its merkle: it must be this file's.
  if (ctx.format !== 'v1' && hashed.merkle!.length !== source.size)
    throw new Error(`hashed ${hashed.merkle!.length} bytes of a ${source.size}-byte file`)
  const common = commonSpec(source.fileName, ctx)
  const built =
    ctx.format === 'v1'
      ? {
          ...buildTorrent({ ...common, length: source.size, pieceLength: hashed.pieceLength, pieces: hashed.pieces! }),
          infoHashV2: null,
        }
      : buildV2Torrent({
          ...common,
          format: ctx.format,
          merkle: hashed.merkle!,
          pieces: ctx.format === 'hybrid' ? hashed.pieces! : undefined,
        })
  const torrentPath = torrentPathFor(source.filePath)
  await writeFileAtomic(torrentPath, built.buffer)
  return {
    infoHash: built.infoHash,
    infoHashV2: built.infoHashV2,
    legacyInfoHash: legacyAliasOf(built.buffer, ctx.format),
    format: ctx.format,
    pieceLength: hashed.pieceLength,
    pieceCount: built.pieceCount,
    trackers: ctx.trackers,
    webSeeds: ctx.webSeeds,
    torrentPath,
  }
}

/** aria2c < 1.37's infohash of a hybrid (legacyInfoHash.ts): only hybrids have one it could use. */
export const legacyAliasOf = (torrent: Buffer, format: TorrentFormat): string | null =>
  format === 'hybrid' ? aria2LegacyInfoHash(decodeTorrent(torrent).infoBytes) : null

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
  const { hashes, length } = await hashFileForTorrent(source.filePath, choosePieceLength(source.size), ctx.format, opts)
  if (length !== source.size) throw new Error(`file size changed while hashing (${length} != ${source.size})`)
  return writeTorrentFile(source, hashes, ctx)
}
