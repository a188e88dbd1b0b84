// When to announce what: one job per (torrent, tracker URL), no timer per torrent. Jobs are due
// at once when added, then at the interval the tracker returned (clamped), or after a growing
// back-off when an announce failed. Each tracker host is a lane with its own pace (at most
// `ratePerSecond` announces per second), so a thousand torrents added at start-up reach the
// site's tracker spread over time instead of tripping its per-address rate limit. Pure: the
// caller passes the clock and runs the announces.
// An announce whose reply showed the swarm changing (outcome `soon`: a peer we had not been
// offered lately, or a different leecher count) is followed by the next one at the tracker's
// `min interval` (at least `soonFloorMs`) instead of its `interval`: a seeder run as its own service
// hears of no new leecher over IPC, and a leecher that cannot or will not dial (transmission on
// loopback, some NATs) waits for our next announce. Bounded: while nothing changes the interval is
// the tracker's; the most a changing swarm costs is one announce per min interval.
import type { AnnounceEvent } from '../../src/bittorrent/tracker/announce.ts'
export interface ScheduleOptions {
  ratePerSecond: number
  minIntervalMs: number
  maxIntervalMs: number
  retryMinMs: number
  retryMaxMs: number
  /** The shortest wait after a reply that showed the swarm changing, whatever the tracker's min interval. */
  soonFloorMs: number
}

const DEFAULT_SCHEDULE: ScheduleOptions = {
  ratePerSecond: 8, // the site tracker allows 600 per minute per address; leave room for others on it
  minIntervalMs: 60_000,
  maxIntervalMs: 3_600_000,
  retryMinMs: 30_000,
  retryMaxMs: 1_800_000,
  soonFloorMs: 15_000,
}

/** `soon`: the reply showed the swarm changing (announce again at the min interval). */
export type AnnounceOutcome = { ok: true; intervalSec: number; minIntervalSec?: number; soon?: boolean } | { ok: false }
export interface DueAnnounce {
  key: string
  event: Extract<AnnounceEvent, 'started' | 'update'>
}

interface Job {
  key: string
  lane: Lane
  dueAt: number
  version: number
  inFlight: boolean
  removed: boolean
  started: boolean
  failures: number
}
interface HeapItem {
  dueAt: number
  job: Job
  version: number
}
interface Lane {
  heap: HeapItem[]
  nextFreeAt: number
}

export class AnnounceSchedule {
  private readonly opts: ScheduleOptions
  private readonly gapMs: number
  private readonly jobs = new Map<string, Job>()
  private readonly lanes = new Map<string, Lane>()

  constructor(opts: Partial<ScheduleOptions> = {}) {
    this.opts = { ...DEFAULT_SCHEDULE, ...opts }
    this.gapMs = 1000 / this.opts.ratePerSecond
  }

  get size(): number {
    return this.jobs.size
  }

  /** A new job, due now (its lane's pace permitting). Adding a known key does nothing. */
  add(key: string, laneName: string, now: number): void {
    if (this.jobs.has(key)) return
    let lane = this.lanes.get(laneName)
    if (!lane) {
      lane = { heap: [], nextFreeAt: 0 }
      this.lanes.set(laneName, lane)
    }
    const job: Job = { key, lane, dueAt: now, version: 0, inFlight: false, removed: false, started: false, failures: 0 }
    this.jobs.set(key, job)
    push(lane.heap, { dueAt: now, job, version: 0 })
  }

  /** Forgets a job; says whether the tracker had taken a `started` from it (so `stopped` is due). */
  remove(key: string): { started: boolean } | null {
    const job = this.jobs.get(key)
    if (!job) return null
    this.jobs.delete(key)
    job.removed = true
    return { started: job.started }
  }

  /** Jobs to run now; each is in flight until `done`. */
  take(now: number): DueAnnounce[] {
    const out: DueAnnounce[] = []
    for (const lane of this.lanes.values()) {
      for (;;) {
        const top = this.top(lane)
        if (!top || top.dueAt > now || lane.nextFreeAt > now) break
        pop(lane.heap)
        top.job.inFlight = true
        lane.nextFreeAt = Math.max(lane.nextFreeAt, now) + this.gapMs
        out.push({ key: top.job.key, event: top.job.started ? 'update' : 'started' })
      }
    }
    return out
  }

  /** Records an announce's outcome and schedules the job's next one. */
  done(key: string, now: number, outcome: AnnounceOutcome): void {
    const job = this.jobs.get(key)
    if (!job?.inFlight) return
    job.inFlight = false
    if (outcome.ok) {
      job.started = true
      job.failures = 0
      const wanted = Math.max(outcome.intervalSec, outcome.minIntervalSec ?? 0) * 1000
      const regular = Math.min(Math.max(wanted, this.opts.minIntervalMs), this.opts.maxIntervalMs)
      // Without a min interval in the reply, a fifth of the interval (the site's tracker sends one).
      const min = (outcome.minIntervalSec ?? outcome.intervalSec / 5) * 1000
      job.dueAt = now + (outcome.soon ? Math.min(regular, Math.max(min, this.opts.soonFloorMs)) : regular)
    } else {
      job.failures++
      job.dueAt = now + Math.min(this.opts.retryMinMs * 2 ** (job.failures - 1), this.opts.retryMaxMs)
    }
    job.version++
    push(job.lane.heap, { dueAt: job.dueAt, job, version: job.version })
  }

  /** When `take` has something next (ms, same clock as `now`), or null if nothing is waiting. */
  nextWake(): number | null {
    let next: number | null = null
    for (const lane of this.lanes.values()) {
      const top = this.top(lane)
      if (!top) continue
      const at = Math.max(top.dueAt, lane.nextFreeAt)
      if (next === null || at < next) next = at
    }
    return next
  }

  /** The lane's earliest live item, dropping stale ones (removed jobs, superseded versions). */
  private top(lane: Lane): HeapItem | undefined {
    for (;;) {
      const item = lane.heap[0]
      if (!item) return undefined
      if (!item.job.removed && item.version === item.job.version && !item.job.inFlight) return item
      pop(lane.heap)
    }
  }
}

// ---- binary min-heap on dueAt ----------------------------------------------------------------

function push(heap: HeapItem[], item: HeapItem): void {
  heap.push(item)
  let i = heap.length - 1
  while (i > 0) {
    const parent = (i - 1) >> 1
    if (heap[parent]!.dueAt <= item.dueAt) break
    heap[i] = heap[parent]!
    i = parent
  }
  heap[i] = item
}

function pop(heap: HeapItem[]): void {
  const last = heap.pop()
  if (!last || heap.length === 0) return
  let i = 0
  for (;;) {
    const l = 2 * i + 1
    if (l >= heap.length) break
    const r = l + 1
    const c = r < heap.length && heap[r]!.dueAt < heap[l]!.dueAt ? r : l
    if (heap[c]!.dueAt >= last.dueAt) break
    heap[i] = heap[c]!
    i = c
  }
  heap[i] = last
}
