// Which stored offload buckets to merge, and an even series of them for the chart. Pure: the
// caller reads rows, passes the time in and writes what this returns.
//
// Buckets are OFFLOAD_BUCKET_MS long while they are a day old at most, then merged into one per
// hour (their sums: these are amounts, not levels, so nothing is dropped), and deleted after
// 30 days: the swarm history's policy (swarmRetention.ts).
import { RETENTION, bucketStart, type RetentionPolicy } from '../tracker/swarmRetention.ts'

export const OFFLOAD_BUCKET_MS = 5 * 60_000

interface Amounts {
  seederBytes: number
  webSeedBytes: number
  playbackBytes: number
  downloadedBytes: number
}
export interface AmountsAt extends Amounts {
  at: number
}
interface Merge {
  at: number
  replaced: number[]
  sums: Amounts
}

const zero = (): Amounts => ({ seederBytes: 0, webSeedBytes: 0, playbackBytes: 0, downloadedBytes: 0 })
const addTo = (sum: Amounts, r: Amounts) => {
  sum.seederBytes += r.seederBytes
  sum.webSeedBytes += r.webSeedBytes
  sum.playbackBytes += r.playbackBytes
  sum.downloadedBytes += r.downloadedBytes
}

/**
 * The hours to merge among `rows` (which must hold every row of each hour they touch): rows
 * older than the full-detail line, grouped by hour; an hour already held by one row at its
 * start is left alone.
 */
export function hourlyMerges(rows: readonly AmountsAt[], nowMs: number, policy: RetentionPolicy = RETENTION): Merge[] {
  const detailFrom = nowMs - policy.fullDetailMs
  const hours = new Map<number, Merge>()
  for (const r of rows) {
    if (r.at >= detailFrom) continue
    const at = bucketStart(r.at, policy.bucketMs)
    let m = hours.get(at)
    if (!m) hours.set(at, (m = { at, replaced: [], sums: zero() }))
    m.replaced.push(r.at)
    addTo(m.sums, r)
  }
  return [...hours.values()].filter((m) => !(m.replaced.length === 1 && m.replaced[0] === m.at))
}

/** Every bucket of [fromMs, toMs) with the sums of the rows in it: zeros where nothing was sent. */
export function evenBuckets(rows: readonly AmountsAt[], fromMs: number, toMs: number, bucketMs: number): AmountsAt[] {
  const first = bucketStart(fromMs, bucketMs)
  const out: AmountsAt[] = []
  for (let at = first; at < toMs; at += bucketMs) out.push({ at, ...zero() })
  for (const r of rows) {
    const i = Math.floor((r.at - first) / bucketMs)
    const b = out[i]
    if (b !== undefined) addTo(b, r)
  }
  return out
}
