// The torrent of a multi-file release: a folder (releaseFolder) holding the video file and its
// extra files. v1: one `files` list; hybrid: v1 `files` with BEP 47 pad files (v1Layout) so each
// file starts on a piece boundary as in its v2 tree; v2: the `file tree` only. One read of each
// file feeds both the SHA-1 pieces (in v1Layout order, pads as zeros) and that file's merkle tree.
//
// Hashing streams on this thread (PieceHasher + MerkleHasher): the worker pool
// (src/bittorrent/hashInWorker.ts) hashes one file's SHA-1 pieces only; once it hashes merkle
// trees too, the video file of a hybrid release (which starts on a piece boundary) can go there.
import { createReadStream } from 'node:fs'
import path from 'node:path'
import { type FileMerkle, MerkleHasher } from '../bittorrent/merkle.ts'
import { buildTorrent } from '../bittorrent/metainfo.ts'
import { buildV2MultiTorrent, v1Layout, type V2File } from '../bittorrent/metainfoV2.ts'
import { PieceHasher } from '../bittorrent/pieceHasher.ts'
import { choosePieceLength } from '../bittorrent/pieceLength.ts'
import type { TorrentFormat } from '../bittorrent/torrentHasher.ts'
import { releaseFilePath, releaseFolder } from './storage.ts'
import {
  commonSpec,
  legacyAliasOf,
  type TorrentContext,
  torrentPathFor,
  type WrittenTorrent,
  writeFileAtomic,
} from './torrentWriter.ts'

interface ReleaseFile {
  /** Its name inside the release's folder. */
  name: string
  /** Where it is on disk. */
  diskPath: string
  size: number
}

export interface Release {
  folder: string
  files: ReleaseFile[]
  format: TorrentFormat
  torrentPath: string
}

/** A video's release as it is now: its file, then its extra files, in the folder releaseFolder names. */
export function releaseOf(
  mediaDir: string,
  video: { fileName: string; size: bigint; files: { name: string; size: bigint }[] },
  format: TorrentFormat,
): Release {
  const all = [{ name: video.fileName, size: video.size }, ...video.files]
  const files = all.map((f) => ({
    name: f.name,
    size: Number(f.size),
    diskPath: releaseFilePath({ mediaDir }, video.fileName, [f.name]),
  }))
  const torrentPath = torrentPathFor(path.join(mediaDir, video.fileName))
  return { folder: releaseFolder(video.fileName), files, format, torrentPath }
}

const ZEROS = Buffer.alloc(64 * 1024)

const placeholder = (length: number, pieceLength: number): FileMerkle => ({
  length,
  pieceLength,
  piecesRoot: null,
  pieceLayer: null,
})

async function feedFile(file: ReleaseFile, sinks: { update(chunk: Buffer): void }[]): Promise<number> {
  let read = 0
  for await (const chunk of createReadStream(file.diskPath, { highWaterMark: 1024 * 1024 })) {
    const buf = chunk as Buffer
    read += buf.length
    for (const s of sinks) s.update(buf)
  }
  if (read !== file.size) throw new Error(`${file.name} changed while hashing (${read} != ${file.size} bytes)`)
  return read
}

/** Hashes the release's files (one read each), builds its .torrent and writes it atomically. */
export async function writeReleaseTorrent(release: Release, ctx: TorrentContext): Promise<WrittenTorrent> {
  const total = release.files.reduce((n, f) => n + f.size, 0)
  const pieceLength = choosePieceLength(Math.max(1, total))
  const byName = new Map(release.files.map((f) => [f.name, f]))
  // The v1 piece order (with pads for hybrid) is the file tree's order: v1Layout decides both.
  const layout = v1Layout(
    release.files.map((f) => ({ path: [f.name], merkle: placeholder(f.size, pieceLength) })),
    pieceLength,
  ).filter((e) => release.format === 'hybrid' || !e.pad)
  const v1 = release.format === 'v2' ? null : new PieceHasher(pieceLength)
  const merkles = new Map<string, FileMerkle>()
  for (const entry of layout) {
    if (entry.pad) {
      for (let left = entry.length; left > 0; left -= ZEROS.length)
        v1!.update(ZEROS.subarray(0, Math.min(left, ZEROS.length)))
      continue
    }
    const file = byName.get(entry.path[0]!)!
    const merkle = release.format === 'v1' ? null : new MerkleHasher(pieceLength)
    await feedFile(
      file,
      [v1, merkle].filter((s) => s !== null),
    )
    if (merkle) merkles.set(file.name, merkle.digest())
  }
  const pieces = v1?.digest().pieces
  const common = commonSpec(release.folder, ctx)
  let built: { buffer: Buffer; infoHash: string; pieceCount: number; infoHashV2: string | null }
  if (release.format === 'v1') {
    const files = layout.map((e) => ({ path: e.path, length: e.length }))
    built = { ...buildTorrent({ ...common, length: total, pieceLength, pieces: pieces!, files }), infoHashV2: null }
  } else {
    const files: V2File[] = release.files.map((f) => ({ path: [f.name], merkle: merkles.get(f.name)! }))
    built = buildV2MultiTorrent({ ...common, format: release.format, pieceLength, files, pieces })
  }
  await writeFileAtomic(release.torrentPath, built.buffer)
  return {
    infoHash: built.infoHash,
    infoHashV2: built.infoHashV2,
    legacyInfoHash: legacyAliasOf(built.buffer, release.format),
    format: release.format,
    pieceLength,
    pieceCount: built.pieceCount,
    trackers: ctx.trackers,
    webSeeds: ctx.webSeeds,
    torrentPath: release.torrentPath,
  }
}
