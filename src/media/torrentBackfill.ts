// Torrents for the videos uploaded while BitTorrent was off, made once it is switched on again:
// queued on the site's hashing (VideoService.hashInBackground), with done/total for the settings page.
import type { Db } from '../db/client.ts'
import type { JobProgress } from './torrentRewriter.ts'
import * as repo from './videoRepository.ts'
import type { VideoRow } from './videoRepository.ts'

export class TorrentBackfill {
  private current: JobProgress | null = null
  private queueing = 0
  private readonly db: Db
  private readonly hash: (video: VideoRow) => Promise<void>

  constructor(db: Db, hash: (video: VideoRow) => Promise<void>) {
    this.db = db
    this.hash = hash
  }

  /**
   * BitTorrent switched on: videos uploaded while it was off get their torrents now. Never
   * rejects: it runs detached from the settings request that switched BitTorrent on.
   */
  run(): Promise<void> {
    // Shown as under way at once (the PUT's answer), total 0 until counted.
    const progress = (this.current ??= { done: 0, total: 0 })
    this.queueing++
    return this.queueBackfill(progress).finally(() => {
      this.queueing--
      this.endBackfillIfDone(progress)
    })
  }

  private endBackfillIfDone(progress: JobProgress): void {
    if (this.current === progress && this.queueing === 0 && progress.done === progress.total) this.current = null
  }

  private async queueBackfill(progress: JobProgress): Promise<void> {
    try {
      for (const video of await repo.findReadyVideosWithoutTorrent(this.db)) {
        // A video deleted in the meantime cannot be updated; skip it.
        const marked = await repo.setVideoStatus(this.db, video.id, 'processing').then(
          () => true,
          () => false,
        )
        if (!marked) continue
        progress.total++
        void this.hash(video).finally(() => {
          progress.done++
          this.endBackfillIfDone(progress)
        })
      }
    } catch (err) {
      console.error(`[torrent] backfilling torrents failed: ${(err as Error).message}`)
    }
  }

  /** done/total of torrents being made for videos uploaded while BitTorrent was off; null when none. */
  progress(): JobProgress | null {
    return this.current ? { ...this.current } : null
  }
}
