// Per-address token buckets for tracker requests. Memory is bounded: idle buckets are swept,
// and past `maxTracked` addresses the oldest are dropped (they start over with a full bucket).
export interface RateLimitOptions {
  perMinute: number
  burst: number
  maxTracked: number
}

interface Bucket {
  tokens: number
  updated: number
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>()
  private readonly opts: RateLimitOptions
  private readonly perMs: number

  constructor(opts: RateLimitOptions) {
    this.opts = opts
    this.perMs = opts.perMinute / 60_000
  }

  get enabled(): boolean {
    return this.opts.perMinute > 0
  }

  /** Takes one token; returns 0 when allowed, else the seconds until the next token. */
  take(address: string, nowMs: number): number {
    if (!this.enabled) return 0
    let bucket = this.buckets.get(address)
    if (!bucket) {
      if (this.buckets.size >= this.opts.maxTracked) this.buckets.delete(this.buckets.keys().next().value!)
      bucket = { tokens: this.opts.burst, updated: nowMs }
      this.buckets.set(address, bucket)
    } else {
      bucket.tokens = Math.min(this.opts.burst, bucket.tokens + (nowMs - bucket.updated) * this.perMs)
      bucket.updated = nowMs
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return 0
    }
    return Math.ceil((1 - bucket.tokens) / this.perMs / 1000)
  }

  /** Forgets addresses whose bucket has refilled: they would start full anyway. */
  sweep(nowMs: number): void {
    const fullAfterMs = this.opts.burst / this.perMs
    for (const [address, bucket] of this.buckets)
      if (nowMs - bucket.updated >= fullAfterMs) this.buckets.delete(address)
  }

  get tracked(): number {
    return this.buckets.size
  }
}
