// Brings every stored .torrent in line with the settings: trackers, web seed and comment are
// outside the info dict, so each file is spliced (same infohash) and replaced atomically, one at
// a time in the background. Crash-safe by construction: a file is old or new, its record says
// which (trackers, webSeeds), and a pass after a restart redoes whatever still differs.
import { Coalescer } from '../coalesce.ts'
import { readFile, unlink } from 'node:fs/promises'
import path from 'node:path'
import type { Db } from '../db/client.ts'
import type { SettingsService } from '../admin/settingsService.ts'
import { decodeTorrent, retrackTorrent } from '../bittorrent/metainfo.ts'
import { torrentPathFor, writeFileAtomic } from './torrentWriter.ts'
import type { SiteUrls } from '../siteUrls.ts'
import { linksDiffer, torrentLinks } from './torrentLinks.ts'
import * as repo from './videoRepository.ts'
import type { StoragePaths } from './storage.ts'

export interface JobProgress {
  done: number
  total: number
}

export interface RewriterDeps {
  db: Db
  paths: StoragePaths
  urls: SiteUrls
  settings: SettingsService
  /** The seeder re-reads the trackers of files rewritten since (throttled to once a second). */
  onTorrentsChanged?: () => void
  log: (line: string) => void
}

const NOTIFY_EVERY_MS = 1000

const linked = (r: repo.TorrentLinksRow) => ({
  id: r.videoId,
  fileName: r.fileName,
  files: Number(r.multiFile) ? [r.fileName] : [],
})

export class TorrentRewriter {
  private readonly deps: RewriterDeps
  private readonly passes = new Coalescer<boolean>(() => this.nextPass(), {
    keepGoing: () => !this.stopped,
    result: () => !this.stopped,
    onIdle: () => {
      this.current = null
    },
  })
  private forceAll = false
  private stopped = false
  private current: JobProgress | null = null

  constructor(deps: RewriterDeps) {
    this.deps = deps
  }

  /** done/total of the pass under way; null when every file is current. */
  progress(): JobProgress | null {
    return this.current ? { ...this.current } : null
  }

  /**
   * Starts a pass, or one more after the running one (requests coalesce). `all` rewrites files
   * whose record looks current too: after a PUBLIC_URL change the comment (not recorded) moved.
   * Resolves when a pass that started after this call has finished: true, or false when it
   * was cut short by stop().
   */
  request(opts: { all?: boolean } = {}): Promise<boolean> {
    if (opts.all) this.forceAll = true
    // Shown as under way at once (the PUT's answer, the page after saving), total 0 until counted.
    if (!this.passes.current) this.current = { done: 0, total: 0 }
    return this.passes.request()
  }

  /** Stops after the file in hand (shutdown); a later start finishes the job. */
  async stop(): Promise<void> {
    this.stopped = true
    await this.passes.current
  }

  private async nextPass(): Promise<void> {
    const all = this.forceAll
    this.forceAll = false
    await this.pass(all).catch((err) =>
      this.deps.log(`[torrents] rewriting torrent files failed: ${(err as Error).message}`),
    )
  }

  private async pass(all: boolean): Promise<void> {
    const { db, urls, settings, log } = this.deps
    const rows = await repo.allTorrentLinks(db)
    const current = settings.get()
    const todo = all ? rows : rows.filter((r) => linksDiffer(r, torrentLinks(current, urls, linked(r))))
    this.current = { done: 0, total: todo.length }
    if (todo.length === 0) return
    log(`[torrents] rewriting ${todo.length} torrent file(s) for the current settings`)
    let failed = 0
    let notifiedAt = Date.now()
    for (const row of todo) {
      if (this.stopped) return
      if (!(await this.rewriteOne(row))) failed++
      this.current.done++
      if (Date.now() - notifiedAt >= NOTIFY_EVERY_MS) {
        notifiedAt = Date.now()
        this.deps.onTorrentsChanged?.()
      }
    }
    this.deps.onTorrentsChanged?.()
    log(
      `[torrents] rewrote ${todo.length - failed} torrent file(s)${failed ? `; ${failed} could not be rewritten (see above)` : ''}`,
    )
  }

  /** False when this file could not be brought up to date (logged). */
  private async rewriteOne(row: repo.TorrentLinksRow): Promise<boolean> {
    const { db, paths, urls, settings, log } = this.deps
    // The settings as they are now: a change during the pass is picked up by the next one.
    const want = torrentLinks(settings.get(), urls, linked(row))
    const file = torrentPathFor(path.join(paths.mediaDir, row.fileName))
    try {
      const old = await readFile(file)
      const next = retrackTorrent(old, want)
      const hash = decodeTorrent(next).infoHash
      if (hash !== row.infoHash) throw new Error(`it is the torrent of ${hash}, not of ${row.infoHash}`)
      if (!next.equals(old)) await writeFileAtomic(file, next)
      const { count } = await repo.updateTorrentLinks(db, row.torrentId, want)
      // Deleted meanwhile: the delete removed the file before we put it back.
      if (count === 0) await unlink(file).catch(() => {})
      return true
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !(await repo.findVideo(db, row.videoId))) return true
      log(`[torrents] could not rewrite ${path.basename(file)}: ${(err as Error).message}`)
      return false
    }
  }
}
