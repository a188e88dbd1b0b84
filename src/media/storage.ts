// The storage layout, and the only way to turn a name into a path: nothing outside STORAGE_DIR.
//   media/<file>          the uploaded media, served as-is (player, downloads, web seed)
//   media/<file>.torrent  its torrent, written beside it
//   media/<file>.thumb.jpg  its poster frame (src/media/mediaDetails.ts), served by video id
//   media/<file>.extras/<name>  the extra files of its release (src/media/releaseFiles.ts): flat,
//                         each a single safe name, beside <file> in the torrent's folder
//   media/<file>.<12 hex>.torrent  a torrent the video had before its files changed (the first 12
//                         hex of its infohash), kept seeded until an admin removes it
//   media/.<file>.*.tmp   a .torrent or thumbnail being written (renamed into place when whole)
//   incoming/*.part       uploads still streaming in; removed when cut off
//   incoming/tus/         resumable uploads not finished yet (<id>, <id>.json): kept across restarts;
//                         the folder is made at the first one
//   orphans/              files found without a record at start-up, kept for the admin
import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { AppError } from '../errors.ts'

export interface StoragePaths {
  root: string
  mediaDir: string
  incomingDir: string
  /** Unfinished resumable (tus) uploads, inside incomingDir: the start-up check leaves them. */
  tusDir: string
  orphansDir: string
}

export function storagePaths(root: string): StoragePaths {
  return {
    root,
    mediaDir: path.join(root, 'media'),
    incomingDir: path.join(root, 'incoming'),
    tusDir: path.join(root, 'incoming', 'tus'),
    orphansDir: path.join(root, 'orphans'),
  }
}

export async function ensureStorage(paths: StoragePaths): Promise<void> {
  for (const dir of [paths.mediaDir, paths.incomingDir, paths.orphansDir]) await mkdir(dir, { recursive: true })
}

const STORED_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/

/** A name storedFileName could have made; anything else names no file (and never reaches the database). */
export function isStoredName(name: string): boolean {
  return STORED_NAME.test(name) && !name.includes('..')
}

/**
 * The stored file name: the upload's base name reduced to safe characters, made unique by the
 * video id, with the extension of the detected container (never the one the client claimed).
 */
export function storedFileName(originalName: string, videoId: string, extension: string): string {
  const base = path.basename(originalName.replace(/\\/g, '/')).replace(/\.[^.]*$/, '')
  const slug = base
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '') // accents split off by NFKD: "é" stays "e", not "e-"
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/\.{2,}/g, '.')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '')
    .slice(0, 80)
  return `${slug || 'video'}-${videoId}.${extension}`
}

/** Resolves a stored name inside a storage folder, refusing anything that could leave it. */
export function resolveInside(dir: string, name: string): string {
  if (!isStoredName(name)) throw new AppError('not_found', 'No such file')
  const full = path.resolve(dir, name)
  if (path.dirname(full) !== path.resolve(dir)) throw new AppError('not_found', 'No such file')
  return full
}

const THUMBNAIL_SUFFIX = '.thumb.jpg'
// Stored media names end in the container's extension (storedFileName), never in these.
const SIDECAR = /^\.?(.+?)(?:\.[0-9a-f]{12})?\.(?:torrent|thumb\.jpg)(\.tmp)?$|^(.+)\.extras$/

export const thumbnailPathFor = (mediaFile: string): string => `${mediaFile}${THUMBNAIL_SUFFIX}`

/**
 * A file kept beside a media file in media/ (its .torrent, its thumbnail, either's temporary
 * file): the media file's name and whether it is a temporary one; null for media itself. The
 * file routes never serve these as media, and the start-up check removes those of no video.
 */
export function sidecarOf(name: string): { owner: string; temporary: boolean } | null {
  const m = SIDECAR.exec(name)
  if (!m) return null
  return m[3] !== undefined ? { owner: m[3], temporary: false } : { owner: m[1]!, temporary: m[2] !== undefined }
}

/** The folder of a video's extra files: media/<file>.extras. */
export const extrasDirFor = (mediaFile: string): string => `${mediaFile}${EXTRAS_SUFFIX}`

/** The .torrent of a retired torrent, kept in media/ beside the video (a name, not a path). */
export const retiredTorrentName = (fileName: string, infoHash: string): string =>
  `${fileName}.${infoHash.slice(0, 12)}.torrent`

/**
 * The folder a multi-file torrent puts a video's release in, and the first part of its web-seed
 * paths (/seed/<folder>/<name>): the stored name without its extension. Not the stored name itself:
 * a client that kept the single-file download <file> in the same folder would have a file where
 * the new torrent wants a folder. It ends in "-<video id>" (storedFileName), so it is unique and
 * never changes.
 */
export const releaseFolder = (fileName: string): string => fileName.replace(/\.[^.]*$/, '')

/** The video id a release folder names (its last "-" part), to find the video by. */
export const videoIdOfFolder = (folder: string): string => folder.slice(folder.lastIndexOf('-') + 1)

/** One path element that is safe everywhere: no separators, controls, leading dot or Windows specials. */
export function isSingleName(name: string): boolean {
  return (
    name.length > 0 &&
    name.isWellFormed() &&
    !name.startsWith('.') &&
    !/[/\\\p{Cc}<>:"|?*]/u.test(name) &&
    !/[. ]$/.test(name) &&
    Buffer.byteLength(name) <= 255
  )
}

export function newVideoId(): string {
  return randomBytes(8)
    .toString('base64url')
    .replace(/[-_]/g, (c) => (c === '-' ? 'x' : 'y'))
    .slice(0, 11)
}

export function incomingPartPath(paths: StoragePaths): string {
  return path.join(paths.incomingDir, `${Date.now()}-${randomBytes(6).toString('hex')}.part`)
}

/** Extras of a multi-file release sit in this folder beside the video (media/<file>.extras/). */
const EXTRAS_SUFFIX = '.extras'

const isSafePart = (part: string): boolean => part.length > 0 && part !== '.' && part !== '..' && !/[/\\\0]/.test(part)

/**
 * Where a file of a video's release is on disk, from its path inside the torrent's folder: the
 * video itself (the path [fileName]) is media/<fileName> as ever, every other file is under
 * media/<fileName>.extras/ at the same path. The one mapping for the upload side and the seeder.
 * Refuses (not_found) a path that could leave that folder.
 */
export function releaseFilePath(
  paths: Pick<StoragePaths, 'mediaDir'>,
  fileName: string,
  torrentPath: string[],
): string {
  const video = resolveInside(paths.mediaDir, fileName)
  if (torrentPath.length === 1 && torrentPath[0] === fileName) return video
  if (torrentPath.length === 0 || !torrentPath.every(isSafePart)) throw new AppError('not_found', 'No such file')
  return path.join(`${video}${EXTRAS_SUFFIX}`, ...torrentPath)
}
