// The site's tracker tells the supervised seeder of each leecher the moment it announces
// `started`, so the seeder dials it within a second instead of at its own next announce (up to
// the tracker's interval later): a leecher that cannot or will not dial (transmission never dials
// a loopback or LAN peer; some NATs) gets data only once the seeder dials it. Batched: one IPC message
// per FLUSH_MS with at most MAX_PER_FLUSH peers (each once); the rest of a flood is dropped and
// counted (seeder_peer_push_dropped): those peers are still found at the seeder's next announce.
// A seeder run as its own service has no IPC; its announce schedule adapts instead
// (bt_server/lean/announceSchedule.ts).

/** [infohash as announced (hex), ip, port]. */
export type PushedPeer = [string, string, number]

const FLUSH_MS = 200
const MAX_PER_FLUSH = 256

export class PeerPush {
  private readonly send: (peers: PushedPeer[]) => void
  private readonly dropped: (n: number) => void
  private readonly maxPerFlush: number
  private readonly flushMs: number
  private readonly pending = new Map<string, PushedPeer>()
  private lost = 0
  private timer: NodeJS.Timeout | null = null

  constructor(opts: {
    send: (peers: PushedPeer[]) => void
    dropped: (n: number) => void
    flushMs?: number
    maxPerFlush?: number
  }) {
    this.send = opts.send
    this.dropped = opts.dropped
    this.flushMs = opts.flushMs ?? FLUSH_MS
    this.maxPerFlush = opts.maxPerFlush ?? MAX_PER_FLUSH
  }

  add(infoHash: string, ip: string, port: number): void {
    const key = `${infoHash} ${ip} ${port}`
    if (this.pending.has(key)) return
    if (this.pending.size >= this.maxPerFlush) {
      this.lost++
    } else {
      this.pending.set(key, [infoHash, ip, port])
    }
    this.timer ??= setTimeout(() => this.flush(), this.flushMs)
    this.timer.unref()
  }

  private flush(): void {
    this.timer = null
    if (this.pending.size > 0) this.send([...this.pending.values()])
    this.pending.clear()
    if (this.lost > 0) this.dropped(this.lost)
    this.lost = 0
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.pending.clear()
  }
}
