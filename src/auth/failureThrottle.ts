// Failed password checks per client address: a token bucket of `maxFailures`, refilled at
// `maxFailures` per window. An attempt takes a token before the password is hashed (so a burst
// of parallel guesses cannot all slip in before the first one fails) and a correct password gives
// it back. Memory is bounded: past `maxTracked` addresses the oldest is forgotten.
export interface FailureThrottleOptions {
  maxFailures: number
  windowMs: number
  maxTracked: number
}

interface Bucket {
  tokens: number
  updated: number
}

const SWEEP_EVERY_MS = 60_000

export class FailureThrottle {
  private readonly buckets = new Map<string, Bucket>()
  private readonly opts: FailureThrottleOptions
  private readonly perMs: number
  private lastSweep = 0
  /** Called when an address is forgotten to make room (counted as a refusal by the caller). */
  onForget: () => void = () => {}

  constructor(opts: FailureThrottleOptions) {
    this.opts = opts
    this.perMs = opts.maxFailures / opts.windowMs
  }

  get enabled(): boolean {
    return this.opts.maxFailures > 0
  }

  /** Takes one attempt; 0 when allowed, else the whole seconds until the next one is. */
  reserve(key: string, nowMs = Date.now()): number {
    if (!this.enabled) return 0
    this.sweep(nowMs)
    const bucket = this.refilled(key, nowMs)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perMs / 1000))
  }

  /** The password was right (or was never checked): the attempt does not count. */
  refund(key: string, nowMs = Date.now()): void {
    if (!this.buckets.has(key)) return
    const bucket = this.refilled(key, nowMs)
    bucket.tokens = Math.min(this.opts.maxFailures, bucket.tokens + 1)
  }

  get tracked(): number {
    return this.buckets.size
  }

  private refilled(key: string, nowMs: number): Bucket {
    let bucket = this.buckets.get(key)
    if (!bucket) {
      if (this.buckets.size >= this.opts.maxTracked) {
        this.buckets.delete(this.buckets.keys().next().value!)
        this.onForget()
      }
      bucket = { tokens: this.opts.maxFailures, updated: nowMs }
      this.buckets.set(key, bucket)
    } else {
      bucket.tokens = Math.min(this.opts.maxFailures, bucket.tokens + (nowMs - bucket.updated) * this.perMs)
      bucket.updated = nowMs
    }
    return bucket
  }

  // Full buckets carry no information (a new one starts full): dropped once a minute.
  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweep < SWEEP_EVERY_MS) return
    this.lastSweep = nowMs
    for (const [key, b] of this.buckets)
      if (b.tokens + (nowMs - b.updated) * this.perMs >= this.opts.maxFailures) this.buckets.delete(key)
  }
}
