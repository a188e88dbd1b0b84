// A small semaphore in front of password hashing. scrypt runs on libuv's thread pool (4 threads
// by default), the same pool that reads and writes files: 32 wrong passwords at once took every
// thread and made web-seed reads wait seconds. At most `maxConcurrent` hashes run, `queue` more
// wait their turn, and beyond that the caller is refused at once instead of piling up.
export class HashGateFull extends Error {
  constructor() {
    super('password hashing is at capacity')
  }
}

export class HashGate {
  private active = 0
  private readonly waiting: (() => void)[] = []
  private readonly maxConcurrent: number
  private readonly queue: number

  constructor(maxConcurrent: number, queue: number) {
    this.maxConcurrent = maxConcurrent
    this.queue = queue
  }

  /** Runs `fn` when a slot is free; throws HashGateFull when every slot and queue place is taken. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active < this.maxConcurrent) {
      this.active++
    } else {
      if (this.waiting.length >= this.queue) throw new HashGateFull()
      // The slot is handed over by the finishing job, so `active` stays as it is.
      await new Promise<void>((resolve) => this.waiting.push(resolve))
    }
    try {
      return await fn()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.active--
    }
  }

  get running(): number {
    return this.active
  }
  get queued(): number {
    return this.waiting.length
  }
}
