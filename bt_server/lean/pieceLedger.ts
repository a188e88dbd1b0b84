// The origin sends each piece about once while the swarm can carry it (pure: values in, decision
// out, time passed in). Per torrent, the ledger knows how many connected peers hold each piece
// (from their BITFIELD and HAVE messages) and which peer the seeder last took a request for it
// from, and when. While two or more connected peers lack pieces (a crowd), a block request is
// refused (BEP 6 REJECT_REQUEST) when the piece is held by another connected peer or was given to
// another within the last RECENT_MS: the requester gets it from the swarm and asks us for a piece
// nobody has. Fallbacks so nothing stalls: a piece whose holders left is served again (holders
// drop to 0, the grant ages out), and a requester that made no progress (no HAVE) for STALL_MS is
// served whatever it asks. With one needy peer nothing is checked: a lone downloader gets today's
// seeder. A peer silent for QUIET_MS stops counting (its pieces and its need) until it speaks
// again: one that vanished without closing (a uTP peer whose process died: no FIN comes, and
// libutp needs about 90 s of retransmits to notice) would otherwise keep its pieces from others
// until the idle time-out, minutes later (measured: aria2c at 34 MB/s instead of 707 after a
// libtorrent uTP downloader exited).

/** A grant keeps a piece to its peer this long (its blocks may wait behind the upload cap). */
export const RECENT_MS = 10_000
/** A peer that sent no HAVE for this long (since it connected) is served whatever it asks. */
export const STALL_MS = 5_000
/** A peer that sent nothing for this long no longer counts as holding or needing pieces. */
export const QUIET_MS = 20_000

export class PieceLedger {
  /** Connected peers holding each piece. */
  private readonly holders: Uint16Array
  /** When a request for the piece was last taken (0: never), and from which peer. */
  private readonly grantedAt: Float64Array
  private readonly grantedTo: Uint32Array
  /** Connected peers that do not have the whole file. */
  needy = 0

  readonly pieceCount: number

  constructor(pieceCount: number) {
    this.pieceCount = pieceCount
    this.holders = new Uint16Array(pieceCount)
    this.grantedAt = new Float64Array(pieceCount)
    this.grantedTo = new Uint32Array(pieceCount)
  }

  /** Whether requests are checked at all: a crowd of needy peers. */
  get crowded(): boolean {
    return this.needy >= 2
  }

  hold(piece: number): void {
    if (this.holders[piece]! < 0xffff) this.holders[piece]!++
  }

  release(piece: number): void {
    if (this.holders[piece]! > 0) this.holders[piece]!--
  }

  holdersOf(piece: number): number {
    return this.holders[piece]!
  }

  /**
   * Whether to serve `peer`'s request for a block of `piece` (call only while crowded). A grant
   * is recorded when served, so its other blocks follow.
   */
  serve(piece: number, peer: { readonly no: number; readonly progressAt: number }, now: number): boolean {
    const at = this.grantedAt[piece]!
    const ok =
      (at > 0 && this.grantedTo[piece] === peer.no) ||
      now - peer.progressAt > STALL_MS ||
      (this.holders[piece] === 0 && (at === 0 || now - at >= RECENT_MS))
    if (ok) {
      this.grantedAt[piece] = now
      this.grantedTo[piece] = peer.no
    }
    return ok
  }
}

let nextNo = 1

/** What one connected peer holds, kept in its torrent's ledger's counts. */
export class PeerPieces {
  /** Tells peers apart in the ledger's grants. */
  readonly no = nextNo++
  private readonly bits: Uint8Array
  private count = 0
  private left = false
  /** Silent for QUIET_MS: its pieces and need are out of the ledger's counts until wake(). */
  private quiet = false
  /** Last HAVE from the peer (or when it connected): for the stall fallback. */
  progressAt: number

  private readonly ledger: PieceLedger

  constructor(ledger: PieceLedger, now: number) {
    this.ledger = ledger
    this.bits = new Uint8Array((ledger.pieceCount + 7) >> 3)
    this.progressAt = now
    ledger.needy++
  }

  get complete(): boolean {
    return this.count === this.ledger.pieceCount
  }

  /** BITFIELD (big-endian bits, spare bits ignored). */
  bitfield(bits: Buffer, now: number): void {
    const n = this.ledger.pieceCount
    for (let i = 0; i < n; i++) if ((bits[i >> 3]! >> (7 - (i & 7))) & 1) this.add(i)
    if (this.count > 0) this.progressAt = now
  }

  /** HAVE; an index out of range is ignored. */
  have(piece: number, now: number): void {
    if (piece < 0 || piece >= this.ledger.pieceCount) return
    this.progressAt = now
    this.add(piece)
  }

  private add(i: number): void {
    if (this.left || (this.bits[i >> 3]! >> (7 - (i & 7))) & 1) return
    this.bits[i >> 3]! |= 1 << (7 - (i & 7))
    this.count++
    if (this.quiet) return
    this.ledger.hold(i)
    if (this.complete) this.ledger.needy--
  }

  /** The peer left: its pieces are no longer in the swarm we see. */
  leave(): void {
    if (this.left) return
    if (!this.quiet) this.uncount()
    this.left = true
  }

  /** Silent for QUIET_MS (the engine's once-a-second round): out of the counts until it speaks. */
  hush(): void {
    if (this.left || this.quiet) return
    this.quiet = true
    this.uncount()
  }

  /** It spoke: back in the counts. */
  wake(): void {
    if (this.left || !this.quiet) return
    this.quiet = false
    if (!this.complete) this.ledger.needy++
    this.eachPiece((i) => this.ledger.hold(i))
  }

  private uncount(): void {
    if (!this.complete) this.ledger.needy--
    this.eachPiece((i) => this.ledger.release(i))
  }

  private eachPiece(f: (i: number) => void): void {
    const n = this.ledger.pieceCount
    for (let i = 0; i < n; i++) if ((this.bits[i >> 3]! >> (7 - (i & 7))) & 1) f(i)
  }
}
