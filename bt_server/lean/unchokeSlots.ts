// Upload slots of one torrent: interested peers are unchoked while fewer than `max` are, the
// rest wait and get the next free slot. The next one is the waiting peer of the lowest rank
// (the engine ranks by connections its address holds, so one address with many connections
// cannot queue ahead of everyone else), in arrival order among equals.
// One more slot is optimistic (as in BitTorrent's choking algorithm): it goes at once to a peer
// that finds the regular slots full, and every OPTIMISTIC_ROTATE_MS to a random waiting peer, the
// one holding it going back to wait. So a newcomer gets data even while the regular slots are all
// held by peers that keep requesting. Pure (no sockets, time passed in): callers choke and
// unchoke the peers it names.
export const OPTIMISTIC_ROTATE_MS = 30_000

export class UnchokeSlots<P> {
  private readonly max: number
  private readonly rank: (p: P) => number
  private readonly random: () => number
  private readonly unchoked = new Set<P>()
  private readonly waiting = new Set<P>() // insertion order = arrival order
  private optimistic: P | undefined
  private optimisticAt = 0

  /** `random`: in [0, 1), picks the optimistic peer (tests pass their own). */
  constructor(max: number, rank: (p: P) => number = () => 0, random: () => number = Math.random) {
    this.max = max
    this.rank = rank
    this.random = random
  }

  /** Peers unchoked, the optimistic one included. */
  get count(): number {
    return this.unchoked.size + (this.optimistic === undefined ? 0 : 1)
  }
  get queued(): number {
    return this.waiting.size
  }
  has(p: P): boolean {
    return this.unchoked.has(p) || this.optimistic === p
  }
  /** The peer holding the optimistic slot, if any. */
  get optimisticPeer(): P | undefined {
    return this.optimistic
  }

  /** An interested peer: true if it gets a slot now (a regular one, else the free optimistic one), false if it waits. */
  request(p: P, now: number): boolean {
    if (this.has(p)) return true
    if (this.unchoked.size < this.max) {
      this.unchoked.add(p)
      return true
    }
    if (this.optimistic === undefined) {
      this.setOptimistic(p, now)
      return true
    }
    this.waiting.add(p)
    return false
  }

  /** The peer lost interest or left: frees its slot; returns the waiting peer that gets it, if any. */
  release(p: P, now: number): P | undefined {
    this.waiting.delete(p)
    if (this.optimistic === p) {
      this.optimistic = undefined
      const next = this.pickRandom()
      if (next !== undefined) this.setOptimistic(next, now)
      return next
    }
    if (!this.unchoked.delete(p)) return undefined
    let next: P | undefined
    let best = Infinity
    for (const w of this.waiting) {
      const r = this.rank(w)
      if (r < best) {
        best = r
        next = w
      }
    }
    if (next === undefined) return undefined
    this.waiting.delete(next)
    this.unchoked.add(next)
    return next
  }

  /**
   * Called every second or so: once the optimistic slot has been held OPTIMISTIC_ROTATE_MS (or is
   * free) and someone waits, it moves to a random waiting peer; `choke` is the one that held it.
   */
  rotate(now: number): { choke?: P; unchoke?: P } {
    if (this.waiting.size === 0) return {}
    if (this.optimistic !== undefined && now - this.optimisticAt < OPTIMISTIC_ROTATE_MS) return {}
    const next = this.pickRandom()!
    const old = this.optimistic
    this.setOptimistic(next, now)
    if (old === undefined) return { unchoke: next }
    this.waiting.add(old)
    return { choke: old, unchoke: next }
  }

  private setOptimistic(p: P, now: number): void {
    this.waiting.delete(p)
    this.optimistic = p
    this.optimisticAt = now
  }

  private pickRandom(): P | undefined {
    if (this.waiting.size === 0) return undefined
    let i = Math.min(this.waiting.size - 1, Math.floor(this.random() * this.waiting.size))
    for (const w of this.waiting) if (i-- === 0) return w
    return undefined
  }
}
