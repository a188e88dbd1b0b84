// One run at a time, and requests coalesce: a request while a run is under way asks for one more
// run right after it (however many requests came) and gets the promise of the run that will
// include it. The offload flusher, the torrent rewriter and the seeder's sync work this way.
export interface CoalescerOptions<T> {
  /** What the finished runs resolve to (default: undefined). */
  result?: () => T
  /** Checked before each extra run: false stops (a shutdown). */
  keepGoing?: () => boolean
  /** Called when the runs are over (after `result`), whether they succeeded or not. */
  onIdle?: () => void
}

export class Coalescer<T = void> {
  private running: Promise<T> | null = null
  private again = false
  private readonly run: () => Promise<void>
  private readonly opts: CoalescerOptions<T>

  constructor(run: () => Promise<void>, opts: CoalescerOptions<T> = {}) {
    this.run = run
    this.opts = opts
  }

  /** Starts a run, or asks for one more after the running one. */
  request(): Promise<T> {
    if (this.running) {
      this.again = true
      return this.running
    }
    this.running = (async () => {
      do {
        this.again = false
        await this.run()
      } while (this.again && (this.opts.keepGoing?.() ?? true))
      return this.opts.result ? this.opts.result() : (undefined as T)
    })().finally(() => {
      this.running = null
      this.opts.onIdle?.()
    })
    return this.running
  }

  /** The runs under way, or null. */
  get current(): Promise<T> | null {
    return this.running
  }
}
