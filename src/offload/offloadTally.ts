// Bytes to add to the store, per video, gathered in memory where they are counted (the file
// route, the tracker, the seeder) and taken by the flusher every few seconds. Pure.
//
// A video is named by what the counting place knows: the file route its stored file name, the
// tracker and the seeder its infohash; the store resolves either to the video in the same write.

/** Where the origin sent bytes: the seeder (peer wire), the web seed (BEP 19 over HTTP), page playback. */
type OriginVia = 'seeder' | 'webseed' | 'playback'
export type HttpVia = Exclude<OriginVia, 'seeder'>

export interface OffloadIncrement {
  by: 'fileName' | 'infoHash'
  key: string
  seeder: number
  webseed: number
  playback: number
  /** Increase of what the swarm's peers announced as downloaded (see swarmStore.ts). */
  downloaded: number
}

type OffloadField = OriginVia | 'downloaded'

/**
 * Distinct videos held between two flushes. Only real files (200/206 answers) and allowed
 * infohashes are counted, so this is a guard against a bug, not a bound a stranger can reach.
 */
const MAX_ROWS = 100_000

export class OffloadTally {
  private readonly rows = new Map<string, OffloadIncrement>()
  /** Bytes that found no room (MAX_ROWS), for the log. */
  dropped = 0

  add(by: OffloadIncrement['by'], key: string, field: OffloadField, bytes: number): void {
    if (!(bytes > 0)) return
    const id = `${by} ${key}`
    let row = this.rows.get(id)
    if (row === undefined) {
      if (this.rows.size >= MAX_ROWS) {
        this.dropped += bytes
        return
      }
      row = { by, key, seeder: 0, webseed: 0, playback: 0, downloaded: 0 }
      this.rows.set(id, row)
    }
    row[field] += bytes
  }

  /** Adds every field of each increment (a write that failed puts its batch back this way). */
  addAll(list: readonly OffloadIncrement[]): void {
    for (const inc of list) for (const field of FIELDS) if (inc[field] > 0) this.add(inc.by, inc.key, field, inc[field])
  }

  get size(): number {
    return this.rows.size
  }

  /** Everything counted since the last take; the tally starts again from nothing. */
  take(): OffloadIncrement[] {
    const out = [...this.rows.values()]
    this.rows.clear()
    return out
  }
}

const FIELDS: readonly OffloadField[] = ['seeder', 'webseed', 'playback', 'downloaded']
