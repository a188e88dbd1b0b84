// The import folder (IMPORT_DIR): files dropped there by FTP, rsync or scp are taken once they
// have stopped growing (size and mtime unchanged for the settle interval), published as the
// import owner's videos, hashed with progress on their pages, and seeded. Hidden files (rsync's
// and FTP servers' temporary dot-files) and the usual partial-download names are never looked
// at. A file that is refused (not media, unreadable) stays where it is, with one log line, and
// is not tried again until it changes.
import { lstat, mkdir, readdir } from 'node:fs/promises'
import path from 'node:path'
import type { StoragePaths } from './storage.ts'
import type { VideoService } from './videoService.ts'
import { bringIn, ImportRefused, titleFromFileName } from './importer.ts'

/** Names still being written by some client: WinSCP, browsers, wget, many FTP clients. */
const PARTIAL_NAME = /\.(part|partial|filepart|crdownload|tmp)$/i

export interface ImportFolderDeps {
  dir: string
  settleMs: number
  paths: StoragePaths
  videos: VideoService
  /** The owner of imported videos: IMPORT_OWNER, or the first enabled admin; throws when none. */
  ownerId: () => Promise<number>
  log: (line: string) => void
}

interface Seen {
  size: number
  mtimeMs: number
  /** When this size and mtime were first seen. */
  since: number
}

export class ImportFolder {
  private readonly deps: ImportFolderDeps
  private readonly seen = new Map<string, Seen>()
  /** Files refused, by path: size and mtime then. Tried again only when either changes. */
  private readonly refused = new Map<string, { size: number; mtimeMs: number }>()
  private timer: NodeJS.Timeout | null = null
  private scanning: Promise<void> | null = null
  /** The folder's last read error, logged once rather than at every look. */
  private lastError: string | null = null

  constructor(deps: ImportFolderDeps) {
    this.deps = deps
  }

  async start(): Promise<void> {
    await mkdir(this.deps.dir, { recursive: true }).catch(() => {})
    // A few looks per settle interval: a file is taken at most a quarter of it late.
    const every = Math.min(5000, Math.max(250, this.deps.settleMs / 4))
    this.timer = setInterval(() => void this.scan(), every)
    void this.scan()
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.scanning
  }

  /** One look at the folder (a scan still running is not doubled). */
  scan(): Promise<void> {
    this.scanning ??= this.scanOnce()
      .then(() => {
        this.lastError = null
      })
      .catch((err: Error) => {
        if (err.message !== this.lastError) this.deps.log(`[import] cannot read ${this.deps.dir}: ${err.message}`)
        this.lastError = err.message
      })
      .finally(() => {
        this.scanning = null
      })
    return this.scanning
  }

  private async scanOnce(): Promise<void> {
    const now = Date.now()
    const present = new Set<string>()
    for (const rel of await readdir(this.deps.dir, { recursive: true })) {
      // Hidden files and folders, at any depth: rsync's `.name.XXXXXX`, FTP servers' upload files.
      if (rel.split(path.sep).some((part) => part.startsWith('.')) || PARTIAL_NAME.test(rel)) continue
      const file = path.join(this.deps.dir, rel)
      const s = await lstat(file).catch(() => null)
      if (!s?.isFile()) continue
      present.add(file)
      const refused = this.refused.get(file)
      if (refused && refused.size === s.size && refused.mtimeMs === s.mtimeMs) continue
      this.refused.delete(file)
      const before = this.seen.get(file)
      if (!before || before.size !== s.size || before.mtimeMs !== s.mtimeMs) {
        this.seen.set(file, { size: s.size, mtimeMs: s.mtimeMs, since: now })
        continue
      }
      if (now - before.since < this.deps.settleMs) continue
      this.seen.delete(file)
      await this.take(file, s.size, s.mtimeMs)
    }
    // Forget what went away (taken, or removed by someone).
    for (const file of this.seen.keys()) if (!present.has(file)) this.seen.delete(file)
    for (const file of this.refused.keys()) if (!present.has(file)) this.refused.delete(file)
  }

  private async take(file: string, size: number, mtimeMs: number): Promise<void> {
    const { videos, paths, log } = this.deps
    let brought
    try {
      const ownerId = await this.deps.ownerId()
      brought = await bringIn(file, paths)
      const video = await videos.create({
        title: titleFromFileName(file),
        description: '',
        originalName: path.basename(file),
        received: brought.received,
        uploaderId: ownerId,
      })
      await brought
        .removeOriginal()
        .catch((err: Error) =>
          log(`[import] ${file} is published as ${video.id}, but could not be removed: ${err.message}`),
        )
      log(`[import] took ${file} (${size} bytes) as video ${video.id}, ${video.fileName}`)
    } catch (err) {
      await brought?.discard()
      const reason = err instanceof ImportRefused ? err.message : `the import failed: ${(err as Error).message}`
      log(`[import] left ${file} where it is: ${reason} (it is tried again once it changes)`)
      this.refused.set(file, { size, mtimeMs })
    }
  }
}
