// Upload slots of one torrent: interested peers are unchoked while fewer than `max` are, the
// rest wait and get the next free slot. The next one is the waiting peer of the lowest rank
// (the engine ranks by connections its address holds, so one address with many connections
// cannot queue ahead of everyone else), in arrival order among equals. Pure (no sockets):
// callers unchoke the peers it names.
export class UnchokeSlots<P> {
  private readonly max: number
  private readonly rank: (p: P) => number
  private readonly unchoked = new Set<P>()
  private readonly waiting = new Set<P>() // insertion order = arrival order

  constructor(max: number, rank: (p: P) => number = () => 0) {
    this.max = max
    this.rank = rank
  }

  get count(): number {
    return this.unchoked.size
  }
  get queued(): number {
    return this.waiting.size
  }
  has(p: P): boolean {
    return this.unchoked.has(p)
  }

  /** An interested peer: true if it gets a slot now, false if it waits. */
  request(p: P): boolean {
    if (this.unchoked.has(p)) return true
    if (this.unchoked.size < this.max) {
      this.unchoked.add(p)
      return true
    }
    this.waiting.add(p)
    return false
  }

  /** The peer lost interest or left: frees its slot; returns the waiting peer that gets it, if any. */
  release(p: P): P | undefined {
    this.waiting.delete(p)
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
}
