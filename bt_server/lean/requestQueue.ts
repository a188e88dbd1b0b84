// A peer's pending block requests, oldest first, bounded: a peer that pipelines more than `cap`
// requests gets the extra ones refused (rejected with the fast extension, else dropped) instead
// of growing our memory. Typed-array ring: no object per request on the hot path.
export interface BlockRequest {
  index: number
  begin: number
  length: number
}

export class RequestQueue {
  readonly cap: number
  private readonly slots: Uint32Array
  private head = 0
  private count = 0

  constructor(cap: number) {
    if (!Number.isInteger(cap) || cap < 1) throw new RangeError('cap must be a positive integer')
    this.cap = cap
    this.slots = new Uint32Array(cap * 3)
  }

  get size(): number {
    return this.count
  }

  /** false when full (the request was not queued). */
  push(index: number, begin: number, length: number): boolean {
    if (this.count === this.cap) return false
    const at = ((this.head + this.count) % this.cap) * 3
    this.slots[at] = index
    this.slots[at + 1] = begin
    this.slots[at + 2] = length
    this.count++
    return true
  }

  /** Fields of the i-th oldest request (0 = next to serve); call only with i < size. */
  index(i = 0): number {
    return this.slots[((this.head + i) % this.cap) * 3]!
  }
  begin(i = 0): number {
    return this.slots[((this.head + i) % this.cap) * 3 + 1]!
  }
  length(i = 0): number {
    return this.slots[((this.head + i) % this.cap) * 3 + 2]!
  }

  /** Drops the oldest request. */
  shift(): void {
    if (this.count === 0) return
    this.head = (this.head + 1) % this.cap
    this.count--
  }

  /** Removes the first request equal to (index, begin, length); false if none was queued. */
  cancel(index: number, begin: number, length: number): boolean {
    for (let i = 0; i < this.count; i++) {
      const at = ((this.head + i) % this.cap) * 3
      if (this.slots[at] !== index || this.slots[at + 1] !== begin || this.slots[at + 2] !== length) continue
      // Close the gap: move the later requests one slot forward.
      for (let j = i; j < this.count - 1; j++) {
        const to = ((this.head + j) % this.cap) * 3
        const from = ((this.head + j + 1) % this.cap) * 3
        this.slots[to] = this.slots[from]!
        this.slots[to + 1] = this.slots[from + 1]!
        this.slots[to + 2] = this.slots[from + 2]!
      }
      this.count--
      return true
    }
    return false
  }

  /** Empties the queue; returns what was in it (to reject on choke). */
  clear(): BlockRequest[] {
    const out: BlockRequest[] = []
    for (let i = 0; i < this.count; i++)
      out.push({ index: this.index(i), begin: this.begin(i), length: this.length(i) })
    this.head = 0
    this.count = 0
    return out
  }
}
