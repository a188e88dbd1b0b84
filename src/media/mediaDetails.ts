// Media details, read after the upload was answered: ffprobe's duration, resolution and codecs,
// and ffmpeg's poster frame beside the file (media/<file>.thumb.jpg). One file at a time, in
// order: a crafted file can keep ffprobe or ffmpeg busy until its timeout, and the web must stay
// quick on a small machine. A file ffprobe cannot read is still published, its details null.
import { unlink } from 'node:fs/promises'
import type { Db } from '../db/client.ts'
import { makeThumbnail, probeMedia, ToolMissing, type ProbedMedia } from './mediaProbe.ts'
import * as repo from './videoRepository.ts'
import { resolveInside, thumbnailPathFor, type StoragePaths } from './storage.ts'

/** A stored video whose details are wanted. */
export interface DetailsSubject {
  id: string
  fileName: string
  mimeType: string
}

export interface MediaDetailsDeps {
  db: Db
  paths: StoragePaths
  log: (line: string) => void
}

// The poster is taken this far into the file (or at 1 s when its length is unknown).
const POSTER_AT = 0.1

export class MediaDetails {
  private readonly deps: MediaDetailsDeps
  private readonly queue: DetailsSubject[] = []
  private readonly queued = new Set<string>()
  private running: Promise<void> | null = null
  private readonly abort = new AbortController()
  // Without ffprobe/ffmpeg nothing is marked failed: the details wait for a start that has them.
  private toolMissing = false

  constructor(deps: MediaDetailsDeps) {
    this.deps = deps
  }

  /** Queues a video; returns at once (the upload is answered without waiting for it). */
  request(video: DetailsSubject): void {
    if (this.abort.signal.aborted || this.toolMissing || this.queued.has(video.id)) return
    this.queued.add(video.id)
    this.queue.push({ id: video.id, fileName: video.fileName, mimeType: video.mimeType })
    this.kick()
  }

  /** At start: every video whose details were never read (older uploads, a stop mid-way). */
  async resumePending(): Promise<void> {
    for (const video of await repo.findVideosPendingDetails(this.deps.db)) this.request(video)
  }

  /** Kills what runs and drops the queue; the videos not done stay pending for the next start. */
  async stop(): Promise<void> {
    this.abort.abort()
    this.queue.length = 0
    await this.running
  }

  private kick(): void {
    this.running ??= this.drain().finally(() => {
      this.running = null
      if (this.queue.length) this.kick()
    })
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      await this.process(next).catch((err) =>
        this.deps.log(`[details] ${next!.fileName}: could not store its details: ${(err as Error).message}`),
      )
      this.queued.delete(next.id)
    }
  }

  private async process(video: DetailsSubject): Promise<void> {
    const { signal } = this.abort
    const file = resolveInside(this.deps.paths.mediaDir, video.fileName)
    let probed: ProbedMedia
    try {
      probed = await probeMedia(file, video.mimeType, signal)
    } catch (err) {
      if (this.setAside(err)) return
      if (await repo.setMediaDetails(this.deps.db, video.id, { detailsStatus: 'failed' }))
        this.deps.log(`[details] ${video.fileName}: ffprobe could not read it (${(err as Error).message})`)
      return
    }
    const thumbnail = thumbnailPathFor(file)
    let hasThumbnail = false
    if (probed.hasPicture) {
      const at = probed.duration === null ? 1 : probed.duration * POSTER_AT
      try {
        await makeThumbnail(file, video.mimeType, at, thumbnail, signal)
        hasThumbnail = true
      } catch (err) {
        if (this.setAside(err)) return
        this.deps.log(`[details] ${video.fileName}: no thumbnail (${(err as Error).message})`)
      }
    }
    const { duration, width, height, videoCodec, audioCodec, formatName } = probed
    const stored = await repo.setMediaDetails(this.deps.db, video.id, {
      detailsStatus: 'ready',
      durationSec: duration,
      width,
      height,
      videoCodec,
      audioCodec,
      formatName,
      hasThumbnail,
    })
    // Deleted meanwhile: its thumbnail must not stay behind.
    if (!stored && hasThumbnail) await unlink(thumbnail).catch(() => {})
  }

  /** A stop, or a missing tool: the video stays pending rather than failed. */
  private setAside(err: unknown): boolean {
    if (this.abort.signal.aborted) return true
    if (!(err instanceof ToolMissing)) return false
    if (!this.toolMissing)
      this.deps.log(`[details] ${err.message}: durations and thumbnails wait until Debian's ffmpeg is installed`)
    this.toolMissing = true
    this.queue.length = 0
    return true
  }
}
