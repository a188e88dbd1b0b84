// A video's extra files: which names and kinds a release accepts, and moving accepted uploads into
// media/<file>.extras/. Names come from strangers: each is one safe file name (storage.ts
// isSingleName), no dot-file, unique case-insensitively within the release (clients on macOS and
// Windows would overwrite one with another), with an extension of the allowlist below (it gives
// the kind; nothing that a browser would run, such as .html or .svg, is on it).
import { mkdir, rename, rm, unlink } from 'node:fs/promises'
import path from 'node:path'
import { AppError } from '../errors.ts'
import type { NewExtra } from './releaseRepository.ts'
import { extrasDirFor, isSingleName } from './storage.ts'

export interface ReceivedExtra {
  /** Where the upload is (storage/incoming). */
  path: string
  originalName: string
  size: number
}

export interface ReleaseLimits {
  /** Extra files one video may have. */
  maxFiles: number
  /** Their total bytes. */
  maxBytes: number
}

const KINDS: Record<string, readonly string[]> = {
  subtitle: ['srt', 'vtt', 'ass', 'ssa', 'sub', 'idx', 'sup', 'ttml'],
  video: ['mp4', 'm4v', 'mkv', 'webm', 'mov', 'avi', 'ts', 'ogv'],
  audio: ['mp3', 'm4a', 'aac', 'flac', 'ogg', 'opus', 'wav'],
  image: ['jpg', 'jpeg', 'png', 'webp', 'gif', 'avif'],
  other: ['txt', 'nfo', 'md', 'pdf'],
}
const KIND_OF = new Map(Object.entries(KINDS).flatMap(([kind, exts]) => exts.map((e) => [e, kind] as const)))
const MAX_NAME_BYTES = 200

function kindOf(name: string): string | null {
  const dot = name.lastIndexOf('.')
  return dot > 0 ? (KIND_OF.get(name.slice(dot + 1).toLowerCase()) ?? null) : null
}

function refuse(name: string, why: string): never {
  throw new AppError('bad_request', `${JSON.stringify(name)}: ${why}`)
}

/**
 * The uploads as the release's new files, or the first reason not to take them (nothing is
 * stored before all of them pass). `existing`: the video file's name and its extra files.
 */
export function checkExtras(
  existing: { fileName: string; files: { name: string; size: bigint }[] },
  incoming: ReceivedExtra[],
  limits: ReleaseLimits,
): NewExtra[] {
  const taken = new Set([existing.fileName, ...existing.files.map((f) => f.name)].map((n) => n.toLowerCase()))
  const count = existing.files.length + incoming.length
  if (count > limits.maxFiles)
    throw new AppError(
      'bad_request',
      `A video can have at most ${limits.maxFiles} extra files; this would make ${count}`,
    )
  const bytes = existing.files.reduce((n, f) => n + Number(f.size), 0) + incoming.reduce((n, f) => n + f.size, 0)
  if (bytes > limits.maxBytes)
    throw new AppError(
      'too_large',
      `A video's extra files can total ${limits.maxBytes} bytes; these would make ${bytes}`,
    )
  return incoming.map((f) => {
    const name = f.originalName.normalize('NFC')
    if (name.startsWith('.')) refuse(name, 'a file name must not start with a dot')
    if (!isSingleName(name)) refuse(name, 'not a usable file name (no / \\ < > : " | ? *, controls, or trailing dot)')
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) refuse(name, `a file name can be at most ${MAX_NAME_BYTES} bytes`)
    const kind = kindOf(name)
    if (!kind) refuse(name, `the extension is not one of ${[...KIND_OF.keys()].join(', ')}`)
    if (taken.has(name.toLowerCase())) refuse(name, 'the release has a file of that name already (letter case aside)')
    taken.add(name.toLowerCase())
    return { name, size: f.size, kind }
  })
}

/** Moves checked uploads into media/<file>.extras/; on a failure, the ones moved go back. */
export async function storeExtras(mediaDir: string, fileName: string, incoming: ReceivedExtra[], names: NewExtra[]) {
  const dir = path.join(mediaDir, extrasDirFor(fileName))
  await mkdir(dir, { recursive: true })
  const moved: [string, string][] = []
  try {
    for (const [i, f] of incoming.entries()) {
      const to = path.join(dir, names[i]!.name)
      await rename(f.path, to)
      moved.push([to, f.path])
    }
  } catch (err) {
    await Promise.all(moved.map(([to, from]) => rename(to, from).catch(() => {})))
    throw err
  }
  return moved.map(([to]) => to)
}

/** Removes stored extras (a failed record, a removed video). */
export const removeExtraFiles = (paths: string[]) => Promise.all(paths.map((p) => unlink(p).catch(() => {})))

export const removeExtrasDir = (mediaFile: string) => rm(extrasDirFor(mediaFile), { recursive: true, force: true })
