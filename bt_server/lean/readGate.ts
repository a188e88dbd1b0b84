// Whether we read from a peer, and what waits while we do not. We stop reading when the output
// queued for it is over its bound; the messages already parsed but not handled wait here (the
// backlog), and so does input that still arrives (uTP keeps delivering; a paused TCP socket
// does not), up to a bound. Pure: the peer pauses and resumes its socket and counts refusals.
import type { ParsedItem } from '../../src/bittorrent/wire/parser.ts'

export class ReadGate {
  private readonly maxHeld: number
  /** We stopped reading. */
  closed = false
  /** While closed: when the peer's output last went down, and how much it was then. */
  private progressAt = 0
  private lastOutput = 0
  private counted = false
  private backlog: ParsedItem[] | null = null
  private held: Buffer[] = []
  private heldBytes = 0

  constructor(maxHeld: number) {
    this.maxHeld = maxHeld
  }

  /**
   * Stops reading (if not yet), keeping `backlog`, the messages left unhandled. True the first
   * time in this closed spell that messages were left waiting: the caller counts that once.
   */
  close(now: number, output: number, backlog: ParsedItem[] | null): boolean {
    if (!this.closed) {
      this.closed = true
      this.progressAt = now
      this.lastOutput = output
    }
    if (backlog && backlog.length > 0) this.backlog = backlog
    if (!backlog || backlog.length === 0 || this.counted) return false
    this.counted = true
    return true
  }

  /** Input that arrived while closed; false when that is more than its bound (drop the peer). */
  keep(chunk: Buffer): boolean {
    this.held.push(chunk)
    this.heldBytes += chunk.length
    return this.heldBytes <= this.maxHeld
  }

  /** Reads again: returns what waited, the backlog first, then the held input in order. */
  open(): { backlog: ParsedItem[] | null; held: Buffer[] } {
    const out = { backlog: this.backlog, held: this.held }
    this.closed = false
    this.counted = false
    this.backlog = null
    this.held = []
    this.heldBytes = 0
    return out
  }

  /** Held input not consumed before the gate closed again: back in front, in order. */
  putBack(chunks: Buffer[]): void {
    if (chunks.length === 0) return
    this.held = [...chunks, ...this.held]
    this.heldBytes = this.held.reduce((n, c) => n + c.length, 0)
  }

  /** True once `output` has stayed up, not going down, for `ms` while closed (it does not read). */
  stalled(now: number, output: number, ms: number): boolean {
    if (!this.closed) return false
    if (output < this.lastOutput) this.progressAt = now
    this.lastOutput = output
    return now - this.progressAt > ms
  }

  /** While closed: ms since its output last went down (0 when open). */
  stuckFor(now: number): number {
    return this.closed ? now - this.progressAt : 0
  }

  clear(): void {
    this.backlog = null
    this.held = []
    this.heldBytes = 0
  }
}
