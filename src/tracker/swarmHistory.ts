// Swarm sizes over time. Every TRACKER_SAMPLE_SECONDS the counts of every tracked swarm are
// stored; once an hour old samples are thinned (swarmRetention.ts). Also answers the video page's
// live numbers and its charts. Knows nothing of HTTP.
import type { Db } from '../db/client.ts'
import { AppError } from '../errors.ts'
import type { SwarmCounts } from './embeddedTracker.ts'
import * as repo from './historyRepository.ts'
import { DAY_MS, HOUR_MS, RETENTION, bucketStart, onePerBucket, samplesToDelete } from './swarmRetention.ts'

export const HISTORY_RANGES = { '24h': DAY_MS, '30d': 30 * DAY_MS } as const
export type HistoryRange = keyof typeof HISTORY_RANGES

export interface SwarmNow {
  seeders: number
  leechers: number
  completed: number
  updatedAt: Date
}
export interface HistoryPoint {
  at: number
  seeders: number
  leechers: number
}

/** The part of EmbeddedTracker this needs. */
interface TrackerCounts {
  counts(infoHash: string): SwarmCounts
  completed(infoHash: string): number
  isAllowed(infoHash: string): boolean
}

export interface SwarmHistoryDeps {
  db: Db
  tracker: TrackerCounts
  sampleSeconds: number
  log?: (line: string) => void
  clock?: () => number
}

const THIN_EVERY_MS = HOUR_MS
// Many viewers of one video poll together; one database lookup a second serves them all.
const LIVE_CACHE_MS = 1000
const LIVE_CACHE_MAX = 10_000
// Thinning reads samples a few torrents at a time, so memory stays bounded on a big site.
const TORRENTS_PER_THIN_QUERY = 50
// A day at one sample a second would be 86,400 points: more than any chart needs.
const MAX_DAY_POINTS = 1440

export class SwarmHistory {
  private readonly deps: SwarmHistoryDeps
  private readonly clock: () => number
  private timer: NodeJS.Timeout | null = null
  private round: Promise<void> | null = null
  private lastThinMs = Number.NEGATIVE_INFINITY
  // Where the last thinning stopped; null until the first run, which looks at all kept samples.
  private thinnedUntilMs: number | null = null
  private readonly live = new Map<string, { expiresMs: number; value: SwarmNow }>()

  constructor(deps: SwarmHistoryDeps) {
    this.deps = deps
    this.clock = deps.clock ?? Date.now
  }

  /** Takes a first round at once (a fresh page has a point), then one every sampleSeconds. */
  async start(): Promise<void> {
    await this.tick()
    this.timer ??= setInterval(() => {
      void this.tick()
    }, this.deps.sampleSeconds * 1000).unref()
  }

  /** Stops the timer and waits for a round in progress: the database can be closed after this. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.round
  }

  // Rounds never overlap: a slow one makes the next tick a no-op.
  private tick(): Promise<void> {
    if (this.round) return this.round
    this.round = this.runRound().finally(() => {
      this.round = null
    })
    return this.round
  }

  private async runRound(): Promise<void> {
    const log = this.deps.log ?? console.error
    const nowMs = this.clock()
    await this.sample(nowMs).catch((err: Error) => log(`[swarm history] sampling failed: ${err.message}`))
    if (nowMs - this.lastThinMs < THIN_EVERY_MS) return
    this.lastThinMs = nowMs
    await this.thin(nowMs).catch((err: Error) => log(`[swarm history] thinning failed: ${err.message}`))
  }

  /** Stores the counts of every tracked swarm at `nowMs`; returns how many samples were written. */
  async sample(nowMs = this.clock()): Promise<number> {
    const { db, tracker } = this.deps
    const at = new Date(nowMs)
    const rows = (await repo.torrentsToSample(db))
      .filter((t) => tracker.isAllowed(t.infoHash))
      .map((t) => {
        const c = tracker.counts(t.infoHash)
        return { torrentId: t.id, at, seeders: c.seeders, leechers: c.leechers }
      })
    await repo.insertSamples(db, rows)
    return rows.length
  }

  /** Applies the retention rules as of `nowMs`; returns how many samples were deleted. */
  async thin(nowMs = this.clock()): Promise<number> {
    const { db } = this.deps
    const keepFromMs = nowMs - RETENTION.keepMs
    const detailFromMs = nowMs - RETENTION.fullDetailMs
    let deleted = (await repo.deleteSamplesBefore(db, new Date(keepFromMs))).count
    // Resume at the start of the bucket where the last run stopped: that bucket's first sample
    // (already kept) must be seen for the rest of the bucket to go.
    const from = new Date(bucketStart(Math.max(this.thinnedUntilMs ?? keepFromMs, keepFromMs)))
    const to = new Date(detailFromMs)
    if (from < to) {
      const ids = (await repo.torrentsToSample(db)).map((t) => t.id)
      for (let i = 0; i < ids.length; i += TORRENTS_PER_THIN_QUERY) {
        const refs = await repo.sampleRefs(db, ids.slice(i, i + TORRENTS_PER_THIN_QUERY), from, to)
        const drop = samplesToDelete(refs, nowMs)
        await repo.deleteSamples(db, drop)
        deleted += drop.length
      }
    }
    this.thinnedUntilMs = detailFromMs
    return deleted
  }

  /** The video's swarm right now. Throws 404 for an unknown video; no torrent yet means zeros. */
  async current(videoId: string): Promise<SwarmNow> {
    const nowMs = this.clock()
    const cached = this.live.get(videoId)
    if (cached && cached.expiresMs > nowMs) return cached.value
    const t = (await this.findVideo(videoId)).torrent
    const { tracker } = this.deps
    const counts = t ? tracker.counts(t.infoHash) : { seeders: 0, leechers: 0 }
    // The tracker counts a completion before its database write lands: take the larger.
    const completed = t ? Math.max(t.completed, tracker.completed(t.infoHash)) : 0
    const value: SwarmNow = {
      seeders: counts.seeders,
      leechers: counts.leechers,
      completed,
      updatedAt: new Date(nowMs),
    }
    if (this.live.size >= LIVE_CACHE_MAX) this.live.clear()
    this.live.set(videoId, { expiresMs: nowMs + LIVE_CACHE_MS, value })
    return value
  }

  /** The video's stored samples over `range`, oldest first. Throws 404 for an unknown video. */
  async history(videoId: string, range: HistoryRange): Promise<HistoryPoint[]> {
    const t = (await this.findVideo(videoId)).torrent
    return t ? this.torrentHistory(t.id, range) : []
  }

  /** As history(), for a torrent record in hand. */
  async torrentHistory(torrentId: number, range: HistoryRange, nowMs = this.clock()): Promise<HistoryPoint[]> {
    const rows = await repo.samplesSince(this.deps.db, torrentId, new Date(nowMs - HISTORY_RANGES[range]))
    return seriesFor(range, rows.map(toPoint))
  }

  /** Both ranges from one query (the video page draws both: a query less per page). */
  async torrentHistories(torrentId: number, nowMs = this.clock()): Promise<Record<HistoryRange, HistoryPoint[]>> {
    const rows = await repo.samplesSince(this.deps.db, torrentId, new Date(nowMs - HISTORY_RANGES['30d']))
    const month = rows.map(toPoint)
    const dayFrom = nowMs - HISTORY_RANGES['24h']
    const firstOfDay = month.findIndex((p) => p.at >= dayFrom)
    const day = firstOfDay < 0 ? [] : month.slice(firstOfDay)
    return { '24h': seriesFor('24h', day), '30d': seriesFor('30d', month) }
  }

  private async findVideo(videoId: string) {
    const video = await repo.findVideoTorrent(this.deps.db, videoId)
    if (!video) throw new AppError('video_not_found', `No video with id ${videoId}`)
    return video
  }
}

const toPoint = (r: { at: Date; seeders: number; leechers: number }): HistoryPoint => ({
  at: r.at.getTime(),
  seeders: r.seeders,
  leechers: r.leechers,
})

// Older samples are hourly, the last day's denser: the 30-day series is hourly throughout.
const seriesFor = (range: HistoryRange, points: HistoryPoint[]): HistoryPoint[] => {
  if (range === '30d') return onePerBucket(points, RETENTION.bucketMs)
  return points.length > MAX_DAY_POINTS ? onePerBucket(points, DAY_MS / MAX_DAY_POINTS) : points
}
