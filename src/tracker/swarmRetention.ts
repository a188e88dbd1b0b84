// Which stored swarm samples to keep, and an even series of them for a chart. Pure: the caller
// reads samples, passes the time in, and deletes what samplesToDelete returns.
//
// Full detail for a day, then one sample per hour (the first of each hour, so the choice never
// changes between runs), then nothing after 30 days.

export const HOUR_MS = 3_600_000
export const DAY_MS = 24 * HOUR_MS

export interface RetentionPolicy {
  /** Samples younger than this are all kept. */
  fullDetailMs: number
  /** Older ones keep one per bucket... */
  bucketMs: number
  /** ...and none older than this. */
  keepMs: number
}

export const RETENTION: RetentionPolicy = { fullDetailMs: DAY_MS, bucketMs: HOUR_MS, keepMs: 30 * DAY_MS }

export interface SampleRef {
  id: number
  torrentId: number
  at: number
}

/**
 * The ids of the samples to delete. Within a torrent and a bucket the earliest sample stays (ties:
 * the lower id), so the bucket that straddles the full-detail line keeps the same sample as it
 * ages out. `samples` must include every sample of each bucket it touches.
 */
export function samplesToDelete(
  samples: readonly SampleRef[],
  nowMs: number,
  policy: RetentionPolicy = RETENTION,
): number[] {
  const detailFrom = nowMs - policy.fullDetailMs
  const keepFrom = nowMs - policy.keepMs
  const drop: number[] = []
  const firstOf = new Map<string, SampleRef>()
  for (const s of samples) {
    if (s.at < keepFrom) {
      drop.push(s.id)
      continue
    }
    if (s.at >= detailFrom) continue
    const key = `${s.torrentId}:${Math.floor(s.at / policy.bucketMs)}`
    const first = firstOf.get(key)
    if (!first) {
      firstOf.set(key, s)
      continue
    }
    if (s.at < first.at || (s.at === first.at && s.id < first.id)) {
      drop.push(first.id)
      firstOf.set(key, s)
    } else {
      drop.push(s.id)
    }
  }
  return drop
}

/**
 * A sorted series at an even density for a chart: the first point of each bucket (the one the
 * thinning keeps), plus the newest point so the series still ends at the latest value.
 */
export function onePerBucket<T extends { at: number }>(sortedPoints: readonly T[], bucketMs: number): T[] {
  const out: T[] = []
  let last = Number.NaN
  for (const p of sortedPoints) {
    const bucket = Math.floor(p.at / bucketMs)
    if (bucket === last) continue
    last = bucket
    out.push(p)
  }
  const newest = sortedPoints[sortedPoints.length - 1]
  if (newest !== undefined && out[out.length - 1] !== newest) out.push(newest)
  return out
}

/** Start of the bucket holding `ms`: thinning resumes there so it sees that bucket's first sample. */
export const bucketStart = (ms: number, bucketMs: number = RETENTION.bucketMs): number =>
  Math.floor(ms / bucketMs) * bucketMs
