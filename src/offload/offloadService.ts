// The site's offload figures for the dashboard and its JSON twin: totals by where the origin
// sent them, what peers served, the videos that moved the most, and the history per bucket. Also
// keeps the stored buckets within the retention policy. Knows nothing of HTTP.
import type { Db } from '../db/client.ts'
import type { SiteUrls } from '../siteUrls.ts'
import { HISTORY_RANGES, type HistoryRange } from '../tracker/swarmHistory.ts'
import { HOUR_MS, RETENTION, bucketStart } from '../tracker/swarmRetention.ts'
import { offloadFigures, share, type OffloadFigures } from './offloadMath.ts'
import type { OffloadFlusher } from './offloadFlusher.ts'
import * as repo from './offloadRepository.ts'
import { OFFLOAD_BUCKET_MS, evenBuckets, hourlyMerges, type AmountsAt } from './offloadRetention.ts'

const TOP_VIDEOS = 20
const THIN_EVERY_MS = HOUR_MS

export interface OffloadPoint {
  at: number
  /** Bytes the origin sent in the bucket, every way together. */
  originBytes: number
  peerBytes: number
}

interface SiteOffload extends OffloadFigures {
  videos: (OffloadFigures & { id: string; title: string; pageUrl: string })[]
  history: { range: HistoryRange; bucketSeconds: number; points: OffloadPoint[] }
}

const amounts = (r: repo.SampleRow): AmountsAt => ({
  at: r.at.getTime(),
  seederBytes: Number(r.seederBytes),
  webSeedBytes: Number(r.webSeedBytes),
  playbackBytes: Number(r.playbackBytes),
  downloadedBytes: Number(r.downloadedBytes),
})

export class OffloadService {
  private readonly deps: { db: Db; flusher: OffloadFlusher; urls: SiteUrls; log: (line: string) => void }
  private readonly clock: () => number
  private timer: NodeJS.Timeout | null = null
  private thinning: Promise<void> | null = null

  constructor(deps: OffloadService['deps'] & { clock?: () => number }) {
    this.deps = deps
    this.clock = deps.clock ?? Date.now
  }

  get tally() {
    return this.deps.flusher.tally
  }

  /** Counting starts; old buckets are merged now and every hour. */
  start(): void {
    this.deps.flusher.start()
    void this.thinOnce()
    this.timer ??= setInterval(() => void this.thinOnce(), THIN_EVERY_MS).unref()
  }

  /** Writes what is counted so far (the flusher does every few seconds; tests and stop() call it). */
  flush(): Promise<void> {
    return this.deps.flusher.flush()
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.thinning
    await this.deps.flusher.stop()
  }

  async site(range: HistoryRange): Promise<SiteOffload> {
    const { db, urls } = this.deps
    const sums = await repo.siteSums(db)
    const total = sums.seeder + sums.webseed + sums.playback
    const videos = (await repo.topVideos(db, TOP_VIDEOS)).map((v) => ({
      id: v.id,
      title: v.title,
      pageUrl: urls.page(v.id),
      ...offloadFigures(v),
    }))
    return {
      originBytes: { seeder: sums.seeder, webseed: sums.webseed, playback: sums.playback, total },
      peerBytes: sums.peer,
      peerShare: share(sums.peer, total),
      videos,
      history: await this.history(range),
    }
  }

  /** Buckets of 5 minutes over the last day, of an hour over 30 days; zeros where nothing moved. */
  async history(range: HistoryRange, nowMs = this.clock()): Promise<SiteOffload['history']> {
    const bucketMs = range === '24h' ? OFFLOAD_BUCKET_MS : RETENTION.bucketMs
    const fromMs = nowMs - HISTORY_RANGES[range]
    const rows = (await repo.samplesSince(this.deps.db, new Date(bucketStart(fromMs, bucketMs)))).map(amounts)
    const points = evenBuckets(rows, fromMs, nowMs, bucketMs).map((b) => {
      const f = offloadFigures(b)
      return { at: b.at, originBytes: f.originBytes.total, peerBytes: f.peerBytes }
    })
    return { range, bucketSeconds: bucketMs / 1000, points }
  }

  /** Deletes buckets past 30 days and merges those past a day into hours, as of `nowMs`. */
  async thin(nowMs = this.clock()): Promise<void> {
    const { db } = this.deps
    const keepFrom = nowMs - RETENTION.keepMs
    await repo.deleteSamplesBefore(db, new Date(keepFrom))
    const to = bucketStart(nowMs - RETENTION.fullDetailMs, RETENTION.bucketMs) + RETENTION.bucketMs
    const rows = (await repo.samplesBetween(db, new Date(keepFrom), new Date(to))).map(amounts)
    const merges = hourlyMerges(rows, nowMs).map((m) => ({
      at: new Date(m.at),
      replaced: m.replaced.map((at) => new Date(at)),
      sums: m.sums,
    }))
    await repo.mergeSamples(db, merges)
  }

  private thinOnce(): Promise<void> {
    this.thinning ??= this.thin()
      .catch((err: Error) => this.deps.log(`[offload] merging old buckets failed: ${err.message}`))
      .finally(() => {
        this.thinning = null
      })
    return this.thinning
  }
}
