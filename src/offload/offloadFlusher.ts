// Moves counted bytes from memory to the database every few seconds, one transaction per flush.
// Each process (web app, seeder) runs one over its own database connection and adds its own
// increments; a failed write keeps them for the next flush, and stop() flushes what is left.
import { Coalescer } from '../coalesce.ts'
import type { Db } from '../db/client.ts'
import { addIncrements } from './offloadRepository.ts'
import { OFFLOAD_BUCKET_MS } from './offloadRetention.ts'
import { OffloadTally, type OffloadIncrement } from './offloadTally.ts'
import { bucketStart } from '../tracker/swarmRetention.ts'

/** How often counts are written: the page and dashboard lag the wire by at most this. */
const OFFLOAD_FLUSH_MS = 5000

interface OffloadFlusherOptions {
  db: Db
  /** Counters kept elsewhere (the tracker's per swarm, the seeder's per torrent), taken at each flush. */
  sources?: (() => OffloadIncrement[])[]
  log: (line: string) => void
  everyMs?: number
  clock?: () => number
}

export class OffloadFlusher {
  /** Where the counting places add bytes directly. */
  readonly tally = new OffloadTally()
  private readonly opts: OffloadFlusherOptions
  private timer: NodeJS.Timeout | null = null
  private readonly flushes = new Coalescer(() => this.flushOnce())
  private lastError = ''

  constructor(opts: OffloadFlusherOptions) {
    this.opts = opts
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.opts.everyMs ?? OFFLOAD_FLUSH_MS).unref()
  }

  /** Writes everything counted so far; a call during a flush runs one more right after. Never rejects. */
  flush(): Promise<void> {
    return this.flushes.request()
  }

  /** Stops the timer and writes what is left: the database can be closed after this. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    this.timer = null
    await this.flush()
  }

  private async flushOnce(): Promise<void> {
    for (const source of this.opts.sources ?? []) this.tally.addAll(source())
    if (this.tally.dropped > 0) {
      this.opts.log(`[offload] ${this.tally.dropped} bytes not counted: too many videos between two writes`)
      this.tally.dropped = 0
    }
    if (this.tally.size === 0) return
    const batch = this.tally.take()
    const nowMs = (this.opts.clock ?? Date.now)()
    try {
      await addIncrements(this.opts.db, batch, new Date(bucketStart(nowMs, OFFLOAD_BUCKET_MS)))
      if (this.lastError) this.opts.log('[offload] counts are stored again')
      this.lastError = ''
    } catch (err) {
      this.tally.addAll(batch)
      const message = (err as Error).message
      if (message !== this.lastError)
        this.opts.log(`[offload] could not store byte counts (kept for later): ${message}`)
      this.lastError = message
    }
  }
}
