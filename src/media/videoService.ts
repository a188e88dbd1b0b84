// Videos: publishing an upload (file in place, torrent beside it, records, tracker allow list),
// listing, deleting, and finishing torrents that were not hashed on the way in.
import { constants } from 'node:fs'
import { readFile, rename, unlink, stat } from 'node:fs/promises'
import path from 'node:path'
import type { Db } from '../db/client.ts'
import { AppError } from '../errors.ts'
import type { SettingsService } from '../admin/settingsService.ts'
import type { SiteTracker } from '../tracker/siteTracker.ts'
import {
  hashAndWriteTorrent,
  torrentPathFor,
  writeTorrentFile,
  type TorrentContext,
  type TorrentSource,
  type WrittenTorrent,
} from './torrentWriter.ts'
import type { SiteUrls } from '../siteUrls.ts'
import { linksDiffer, torrentLinks } from './torrentLinks.ts'
import type { JobProgress } from './torrentRewriter.ts'
import * as repo from './videoRepository.ts'
import type { VideoRow } from './videoRepository.ts'
import {
  isStoredName,
  newVideoId,
  resolveInside,
  retiredTorrentName,
  storedFileName,
  thumbnailPathFor,
  type StoragePaths,
} from './storage.ts'
import { releaseOf, writeReleaseTorrent } from './releaseTorrent.ts'
import { checkExtras, type ReceivedExtra, type ReleaseLimits, removeExtrasDir, storeExtras } from './releaseFiles.ts'
import * as releases from './releaseRepository.ts'
import { retrackTorrent } from '../bittorrent/metainfo.ts'
import { hashesFit, type TorrentFormat } from '../bittorrent/torrentHasher.ts'
import type { ReceivedFile } from './uploadEngine.ts'
import { encodeCursor } from './videoCursor.ts'
import { TorrentBackfill } from './torrentBackfill.ts'
import { canManage, canSee, isAdmin, type Actor } from '../auth/rights.ts'

export interface NewVideo {
  title: string
  description: string
  originalName: string
  received: ReceivedFile
  uploaderId: number
  /** Extra files of the release, uploaded with it: its first torrent holds them (hashed after the answer). */
  extras?: ReceivedExtra[]
}

/** An owner's or admin's change to a video: title and description (the infohash stays), visibility. */
export interface VideoChange {
  title?: string
  description?: string
  published?: boolean
}

export interface VideoPage {
  videos: VideoRow[]
  /** The page of older videos; null on the last. */
  next: string | null
  /** The page of newer videos; null on the first. */
  prev: string | null
}

export interface VideoServiceDeps {
  db: Db
  paths: StoragePaths
  urls: SiteUrls
  settings: SettingsService
  tracker: Pick<SiteTracker, 'allow' | 'disallow' | 'reconcile'>
  createdBy: string
  releaseLimits: ReleaseLimits
  /** Called after a torrent is published or a video deleted (the seeder rescans). */
  onTorrentsChanged?: () => void
  /** A torrent was published with settings that changed while it was made (the rewrite runs). */
  onStaleTorrent?: () => void
  /** A video was stored: its media details are read in the background (src/media/mediaDetails.ts). */
  onStored?: (video: VideoRow) => void
  /** Tests only: a pause after each hashed piece, so that the page's progress can be watched. */
  hashPieceDelayMs?: number
}

export class VideoService {
  private readonly deps: VideoServiceDeps
  // One file at a time, hashed by one worker per core: each file is ready as soon as can be.
  private hashQueue: Promise<unknown> = Promise.resolve()
  /** Pieces hashed so far, per video being hashed (the video page shows it). */
  private readonly hashing = new Map<string, JobProgress>()
  private readonly backfill: TorrentBackfill

  constructor(deps: VideoServiceDeps) {
    this.deps = deps
    this.backfill = new TorrentBackfill(deps.db, (video) => this.hashInBackground(video))
  }

  get urls(): SiteUrls {
    return this.deps.urls
  }

  filePath(fileName: string): string {
    return path.join(this.deps.paths.mediaDir, fileName)
  }

  private torrentContext(video: { id: string; fileName: string; files?: readonly unknown[] }): TorrentContext {
    const { urls, settings, createdBy } = this.deps
    const current = settings.get()
    return {
      ...torrentLinks(current, urls, video),
      createdBy,
      private: current.privateTorrents,
      format: current.torrentFormat,
    }
  }

  /** The format the torrents of uploads starting now are hashed for (their hashes are made as the bytes land). */
  torrentFormat(): TorrentFormat {
    return this.deps.settings.get().torrentFormat
  }

  private source(video: { fileName: string; size: bigint }): TorrentSource {
    return { fileName: video.fileName, filePath: this.filePath(video.fileName), size: Number(video.size) }
  }

  /** Hashes and writes a video's torrent: a release (folder) torrent once it has extra files. */
  private writeTorrent(video: VideoRow, opts: { onProgress: (p: JobProgress) => void }): Promise<WrittenTorrent> {
    const ctx = this.torrentContext(video)
    if (video.files.length === 0)
      return hashAndWriteTorrent(this.source(video), ctx, { ...opts, pieceDelayMs: this.deps.hashPieceDelayMs })
    return writeReleaseTorrent(releaseOf(this.deps.paths.mediaDir, video, ctx.format), ctx)
  }

  private async recordTorrent(
    video: { id: string; fileName: string; size: bigint; files?: { size: bigint }[] },
    written: WrittenTorrent,
  ): Promise<void> {
    // The mtime lets the seeder trust the file later without rehashing it.
    const { mtimeMs } = await stat(this.filePath(video.fileName))
    const published = await repo.publishTorrent(this.deps.db, video.id, {
      ...written,
      fileMtimeMs: Math.floor(mtimeMs),
    })
    // A private video's torrent is made but not tracked until it is published.
    const size = (video.files ?? []).reduce((n, f) => n + Number(f.size), Number(video.size))
    if (published) await this.deps.tracker.allow(written.infoHash, 0, size, written.infoHashV2, written.legacyInfoHash)
    // It may have been a retired torrent (a release back at an earlier set of files): current now.
    await unlink(path.join(this.deps.paths.mediaDir, retiredTorrentName(video.fileName, written.infoHash))).catch(
      () => {},
    )
    this.deps.onTorrentsChanged?.()
    const now = torrentLinks(this.deps.settings.get(), this.deps.urls, video)
    if (linksDiffer({ trackers: JSON.stringify(written.trackers), webSeeds: JSON.stringify(written.webSeeds) }, now))
      this.deps.onStaleTorrent?.()
  }

  async create(input: NewVideo): Promise<VideoRow> {
    const { db, settings } = this.deps
    const id = newVideoId()
    const fileName = storedFileName(input.originalName, id, input.received.container.extension)
    const extras = input.extras ?? []
    // Refused before anything is stored.
    const checked = checkExtras({ fileName, files: [] }, extras, this.deps.releaseLimits)
    const bittorrent = settings.get().bittorrentEnabled
    // File first, then the record: a crash in between leaves an orphan file that the start-up
    // check sets aside, never a record pointing at nothing.
    await rename(input.received.path, this.filePath(fileName))
    let video: VideoRow
    try {
      video = await repo.createVideo(db, {
        id,
        fileName,
        title: input.title,
        description: input.description,
        mimeType: input.received.container.mimeType,
        size: BigInt(input.received.size),
        status: bittorrent ? 'processing' : 'ready',
        uploaderId: input.uploaderId,
      })
    } catch (err) {
      // No record: the file must not stay in media/, where it would be served to anyone. Moved
      // back, the caller's clean-up of the upload removes it.
      await rename(this.filePath(fileName), input.received.path).catch(() =>
        unlink(this.filePath(fileName)).catch(() => {}),
      )
      throw err
    }
    const ctx = this.torrentContext(video)
    const streamed = input.received.streamedHashes
    if (extras.length > 0) {
      try {
        await storeExtras(this.deps.paths.mediaDir, fileName, extras, checked)
        await releases.addExtras(db, id, checked, null)
        if (!bittorrent) await repo.setVideoStatus(db, id, 'ready')
      } catch (err) {
        await this.delete(id).catch(() => {})
        throw err
      }
      if (bittorrent) void this.hashInBackground((await repo.findVideo(db, id))!)
      // Hashed on the way in for the format asked now (it may have changed during the upload).
    } else if (bittorrent && streamed && hashesFit(streamed, ctx.format)) {
      try {
        await this.recordTorrent(video, await writeTorrentFile(this.source(video), streamed, ctx))
      } catch (err) {
        // The client is told the upload failed (a full disk, the database gone): leave nothing of it.
        await this.delete(id).catch(() => {})
        const file = this.filePath(fileName)
        await Promise.all([unlink(file), unlink(torrentPathFor(file))].map((p) => p.catch(() => {})))
        throw err
      }
    } else if (bittorrent) {
      // Not awaited: hashing a big file again takes a while, and the uploader is answered now
      // ('processing'; the page refreshes itself until the torrent is there).
      void this.hashInBackground(video)
    }
    this.deps.onStored?.(video)
    return (await repo.findVideo(db, id))!
  }

  /** Queues worker hashing for a video; resolves when its torrent is written (or it failed). */
  hashInBackground(video: VideoRow): Promise<void> {
    const job = this.hashQueue.then(async () => {
      try {
        const written = await this.writeTorrent(video, { onProgress: (p) => this.hashing.set(video.id, p) })
        await this.recordTorrent(video, written)
      } catch (err) {
        // Deleted while queued or hashing: not a failure, but the .torrent written for it must go too.
        if (!(await repo.findVideo(this.deps.db, video.id).catch(() => video))) {
          await unlink(torrentPathFor(this.filePath(video.fileName))).catch(() => {})
          return
        }
        console.error(`[torrent] hashing ${video.fileName} failed: ${(err as Error).message}`)
        await repo
          .setVideoStatus(this.deps.db, video.id, 'failed', `Torrent creation failed: ${(err as Error).message}`)
          .catch(() => {})
      } finally {
        this.hashing.delete(video.id)
      }
    })
    this.hashQueue = job
    return job
  }

  /** A release's files changed: its new torrent, awaited (with BitTorrent off: none until it is on). */
  async remakeTorrent(video: VideoRow): Promise<void> {
    if (this.deps.settings.get().bittorrentEnabled) await this.hashInBackground(video)
    else await repo.setVideoStatus(this.deps.db, video.id, 'ready')
  }

  /** done/total pieces of a video whose torrent is being hashed now; null when it is not. */
  hashProgress(id: string): JobProgress | null {
    const p = this.hashing.get(id)
    return p ? { ...p } : null
  }

  /**
   * The video's .torrent as the site serves it: the stored file, with the trackers and web seeds
   * the settings call for while the background rewrite has not reached it yet. Throws no_torrent.
   */
  async torrentBody(video: VideoRow): Promise<Buffer> {
    if (!video.torrent || video.status !== 'ready') throw new AppError('no_torrent', 'This video has no torrent (yet)')
    const full = torrentPathFor(resolveInside(this.deps.paths.mediaDir, video.fileName))
    // O_NOFOLLOW: a symlink in its place is refused (ELOOP), not followed.
    const body = await readFile(full, { flag: constants.O_RDONLY | constants.O_NOFOLLOW }).catch(
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ELOOP')
          throw new AppError('no_torrent', 'The .torrent file is missing')
        throw err
      },
    )
    const want = torrentLinks(this.deps.settings.get(), this.deps.urls, video)
    return linksDiffer(video.torrent, want) ? retrackTorrent(body, want) : body
  }

  /** The poster frame's path (media/<file>.thumb.jpg); not_found until one was made. */
  thumbnailFile(video: VideoRow): string {
    if (!video.hasThumbnail) throw new AppError('not_found', 'This video has no thumbnail (yet)')
    return thumbnailPathFor(resolveInside(this.deps.paths.mediaDir, video.fileName))
  }

  /** Who may fetch a stored file (null: no video has it): the file routes ask for private videos. */
  fileAccess(fileName: string): Promise<{ uploaderId: number | null; published: boolean } | null> {
    // A name no upload can have is answered without the database (PostgreSQL refuses NUL in text).
    return isStoredName(fileName) ? repo.fileAccess(this.deps.db, fileName) : Promise.resolve(null)
  }

  /** The infoHash of a stored file's torrent, or null (the web seed's gate asks). */
  infoHashOfFile(fileName: string): Promise<string | null> {
    return isStoredName(fileName) ? repo.infoHashOfFile(this.deps.db, fileName) : Promise.resolve(null)
  }

  async get(id: string): Promise<VideoRow> {
    const video = await repo.findVideo(this.deps.db, id)
    if (!video) throw new AppError('video_not_found', `No video with id ${id}`)
    return video
  }

  /** A video as `viewer` may see it: a private one is "no such video" to everyone but its owner and admins. */
  async getFor(viewer: Actor | undefined, id: string): Promise<VideoRow> {
    const video = await repo.findVideo(this.deps.db, id)
    if (!video || !canSee(viewer, video)) throw new AppError('video_not_found', `No video with id ${id}`)
    return video
  }

  /** 404 unless `viewer` may see the video; reads only what that takes (the swarm API asks on every poll). */
  async assertVisible(viewer: Actor | undefined, id: string): Promise<void> {
    const access = await repo.videoAccess(this.deps.db, id)
    if (!access || !canSee(viewer, access)) throw new AppError('video_not_found', `No video with id ${id}`)
  }

  /** A video `actor` may change: 404 when they cannot see it, 403 when they can but it is not theirs. */
  async getManaged(actor: Actor | undefined, id: string): Promise<VideoRow> {
    const video = await this.getFor(actor, id)
    if (!canManage(actor, video)) throw new AppError('forbidden', 'Only its owner or an admin can change this video')
    return video
  }

  /**
   * Edits a video. Title and description live in the database only (the torrent's name is the
   * stored file's), so the infohash stays. Unpublishing takes its torrent off the tracker and the
   * seeder; publishing puts it back.
   */
  async update(actor: Actor | undefined, id: string, change: VideoChange): Promise<VideoRow> {
    const before = await this.getManaged(actor, id)
    const video = await repo.updateVideo(this.deps.db, id, change)
    const tracked = [...(video.torrent ? [{ ...video.torrent, size: releaseBytes(video) }] : []), ...video.retired]
    if (video.published !== before.published && tracked.length > 0) {
      for (const t of tracked)
        if (video.published)
          await this.deps.tracker.allow(t.infoHash, t.completed, Number(t.size), t.infoHashV2, t.legacyInfoHash)
        else await this.deps.tracker.disallow(t.infoHash)
      this.deps.onTorrentsChanged?.()
    }
    return video
  }

  /** Deletes a video its owner or an admin asks to. */
  async deleteFor(actor: Actor | undefined, id: string): Promise<void> {
    await this.getManaged(actor, id)
    await this.delete(id)
  }

  /**
   * A page of the videos `viewer` may see, newest first: the first, the one older than `from`, or
   * (`newer`) the one just newer than `from`. `next`/`prev`: cursors of the pages on either side.
   */
  async list(
    limit: number,
    from: { createdAt: Date; id: string } | undefined,
    viewer: Actor | undefined,
    direction: 'older' | 'newer' = 'older',
  ): Promise<VideoPage> {
    const who = viewer ? { id: viewer.id, admin: isAdmin(viewer) } : undefined
    const rows = await repo.listVideos(this.deps.db, limit + 1, from, who, direction)
    // One more than asked says whether there is a page beyond (older, or newer).
    const more = rows.length > limit
    const videos = direction === 'older' ? rows.slice(0, limit) : rows.slice(rows.length - limit)
    const first = videos[0]
    const last = videos[videos.length - 1]
    const olderExists = direction === 'older' ? more : from !== undefined
    const newerExists = direction === 'newer' ? more : from !== undefined
    return {
      videos,
      next: olderExists && last ? encodeCursor(last) : null,
      prev: newerExists && first ? encodeCursor(first) : null,
    }
  }

  count(): Promise<number> {
    return repo.countVideos(this.deps.db)
  }

  async delete(id: string): Promise<void> {
    const video = await this.get(id)
    for (const t of [...(video.torrent ? [video.torrent] : []), ...video.retired])
      await this.deps.tracker.disallow(t.infoHash)
    await repo.deleteVideo(this.deps.db, id)
    const file = this.filePath(video.fileName)
    const retired = video.retired.map((t) => this.filePath(t.torrentFile))
    const sidecars = [torrentPathFor(file), thumbnailPathFor(file), ...retired]
    await Promise.all([file, ...sidecars].map((p) => unlink(p).catch(() => {})))
    await removeExtrasDir(file).catch(() => {})
    this.deps.onTorrentsChanged?.()
  }

  async recordCompleted(infoHash: string): Promise<void> {
    await repo.incrementCompleted(this.deps.db, infoHash)
    await releases.incrementRetiredCompleted(this.deps.db, infoHash)
  }

  /** BitTorrent switched on: videos uploaded while it was off get their torrents now (never rejects). */
  backfillTorrents(): Promise<void> {
    return this.backfill.run()
  }

  /** done/total of torrents being made for videos uploaded while BitTorrent was off; null when none. */
  backfillProgress(): JobProgress | null {
    return this.backfill.progress()
  }

  /** The tracker's allow list made what the database holds: at start, and when another process changed it. */
  loadAllowList(): Promise<void> {
    return this.deps.tracker.reconcile(async () => [
      ...(await repo.allTorrentCounts(this.deps.db)),
      ...(await releases.allRetiredCounts(this.deps.db)),
    ])
  }

  async fileExists(fileName: string): Promise<boolean> {
    return stat(this.filePath(fileName)).then(
      (s) => s.isFile(),
      () => false,
    )
  }
}

/** Bytes of a video's release: its file and its extra files (a torrent's content). */
const releaseBytes = (video: { size: bigint; files: { size: bigint }[] }): number =>
  video.files.reduce((n, f) => n + Number(f.size), Number(video.size))
