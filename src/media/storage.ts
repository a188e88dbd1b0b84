// The storage layout, and the only way to turn a name into a path: nothing outside STORAGE_DIR.
//   media/<file>          the uploaded media, served as-is (player, downloads, web seed)
//   media/<file>.torrent  its torrent, written beside it
//   media/<file>.thumb.jpg  its poster frame (src/media/mediaDetails.ts), served by video id
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

function isStoredName(name: string): boolean {
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
const SIDECAR = /^\.?(.+)\.(?:torrent|thumb\.jpg)(\.tmp)?$/

export const thumbnailPathFor = (mediaFile: string): string => `${mediaFile}${THUMBNAIL_SUFFIX}`

/**
 * A file kept beside a media file in media/ (its .torrent, its thumbnail, either's temporary
 * file): the media file's name and whether it is a temporary one; null for media itself. The
 * file routes never serve these as media, and the start-up check removes those of no video.
 */
export function sidecarOf(name: string): { owner: string; temporary: boolean } | null {
  const m = SIDECAR.exec(name)
  return m ? { owner: m[1]!, temporary: m[2] !== undefined } : null
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
