// One upload rate cap shared by many senders (the seeder's peers, the web seed's connections):
// a token bucket, and senders that find it empty wait in one queue served in turn, so a sender
// that asks often gets no more than one that asks seldom. Each sender asks for one unit at a
// time (a block, a file read) and asks again at the back of the queue, which makes the turns
// round-robin. At the top of src/ because bt_server/ and media/ both use it.
// Rate 0 means no cap: take() is then always true at once.

/** A sender: told when the bytes it waited for are taken for it. */
export interface ThrottleWaiter {
  tokensGranted(bytes: number): void
}

/** Tokens a bucket left alone keeps: 50 ms at the rate (what an idle spell lets burst through). */
const BURST_SECONDS = 0.05
/** The longest the queue waits between turns (a low rate refills slowly; a rate change is seen by then). */
const MAX_WAIT_MS = 200

export class FairThrottle {
  private rate = 0
  private tokens = 0
  private last = 0
  /** Insertion order is the queue's order; the value is what the waiter asked for. */
  private readonly waiting = new Map<ThrottleWaiter, number>()
  private timer: NodeJS.Timeout | null = null
  private readonly onWait: () => void

  /** `onWait`: called each time a sender has to wait (counted in /metrics). */
  constructor(onWait: () => void = () => {}) {
    this.onWait = onWait
  }

  get limited(): boolean {
    return this.rate > 0
  }

  /** Senders waiting now. */
  get queued(): number {
    return this.waiting.size
  }

  /** Takes effect at once; 0 lets every waiting sender go. */
  setRate(bytesPerSecond: number): void {
    const rate = Number.isFinite(bytesPerSecond) && bytesPerSecond > 0 ? bytesPerSecond : 0
    if (rate === this.rate) return
    if (this.rate > 0) this.refill(performance.now())
    else {
      this.tokens = 0
      this.last = performance.now()
    }
    this.rate = rate
    this.tokens = Math.min(this.tokens, this.burst())
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    if (rate === 0) this.releaseAll()
    else this.schedule()
  }

  /**
   * True: `bytes` are taken, send now. False: the sender waits in the queue (it keeps its place
   * if it was there already) and `tokensGranted` is called once its bytes are taken for it.
   * The bucket may go below zero by one unit; the next ones wait until that is repaid.
   */
  take(w: ThrottleWaiter, bytes: number): boolean {
    if (this.rate === 0) return true
    if (this.waiting.has(w)) return false
    if (this.waiting.size === 0) {
      this.refill(performance.now())
      if (this.tokens > 0) {
        this.tokens -= bytes
        return true
      }
    }
    this.waiting.set(w, bytes)
    this.onWait()
    this.schedule()
    return false
  }

  /** A sender that is gone leaves the queue. */
  forget(w: ThrottleWaiter): void {
    this.waiting.delete(w)
  }

  /** Stops the timer and drops every waiter (shutdown). */
  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.waiting.clear()
  }

  private burst(): number {
    return this.rate * BURST_SECONDS
  }

  private refill(now: number): void {
    this.tokens = Math.min(this.burst(), this.tokens + ((now - this.last) * this.rate) / 1000)
    this.last = now
  }

  private readonly turn = () => {
    this.timer = null
    this.refill(performance.now())
    // A granted sender usually asks again at once, at the back: the loop goes round the queue.
    // The next turn is set up whatever a sender does, or the queue would stall for good.
    try {
      while (this.tokens > 0 && this.waiting.size > 0 && this.rate > 0) {
        const [w, bytes] = this.waiting.entries().next().value!
        this.waiting.delete(w)
        this.tokens -= bytes
        w.tokensGranted(bytes)
      }
    } finally {
      this.schedule()
    }
  }

  private schedule(): void {
    if (this.timer || this.waiting.size === 0 || this.rate === 0) return
    const ms = Math.ceil(((1 - this.tokens) * 1000) / this.rate)
    this.timer = setTimeout(this.turn, Math.min(MAX_WAIT_MS, Math.max(1, ms)))
    this.timer.unref?.()
  }

  private releaseAll(): void {
    const all = [...this.waiting]
    this.waiting.clear()
    for (const [w, bytes] of all) w.tokensGranted(bytes)
  }
}
