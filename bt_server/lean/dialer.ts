// Which offered peers the lean engine dials: peers from its trackers' replies, leechers the site's
// tracker pushes over IPC the moment they announce, and peers that peers name in ut_pex messages.
// One FIFO queue for all, bounded (what does not fit is dropped and counted); a peer is not queued
// while it is connected (dialled by us, or dialling us from the port its extension handshake
// names), already queued, or cooling down after a dial that failed or a dialled connection that
// ended (a seed we dropped, a client that refused us): so a flood of announces or PEX messages
// naming the same peers costs a set lookup each, not a dial each. Except a leecher's fresh
// `started` (the site tracker's push) after a connection that got through its handshake: the
// client closed it to start over (rTorrent does once it has a magnet's metadata, then announces
// again), and one that keeps a single entry per IP may never dial our listening port itself.
// A `started` that arrives while that connection is still open here (its close not read yet) is
// kept, and the leecher is offered again once the connection ends. After a dial that did not get
// through its handshake, a fresh `started` is dialled once per cool-down: rTorrent hangs up on a
// dial that lands while it swaps a magnet's metadata download for the real one, and announces
// `started` a moment later; one dial more per minute is all a stranger's announces can add.
// It also remembers, for an hour, which peers it was offered: a tracker reply naming one it has not
// seen makes the separate seeder announce again sooner (announceSchedule.ts).
import { normalizeAddress, peerEndpoint } from '../../src/bittorrent/address.ts'
import type { LeanTorrent } from './torrents.ts'

export interface DialCandidate {
  t: LeanTorrent
  /** The infohash to dial with (a hybrid's v1 or truncated v2, as the source knew the peer). */
  hash: Buffer
  ip: string
  port: number
  /** peerEndpoint(ip, port): the key in t.dialled. */
  address: string
}

export interface DialPlannerOptions {
  /** Our own listening address (a tracker lists us too). */
  isSelf(ip: string, port: number): boolean
  /** A peer left out because the queue was full (counted as seeder_dials_dropped). */
  dropped(): void
  maxQueue?: number
  coolMs?: number
}

const MAX_QUEUE = 5000
/** A peer whose dial failed or whose dialled connection ended is left alone this long. */
const COOL_MS = 60_000
const MAX_COOLING = 20_000
const SEEN_MS = 3_600_000
const MAX_SEEN = 50_000

export class DialPlanner {
  private readonly opts: DialPlannerOptions
  private readonly maxQueue: number
  private readonly coolMs: number
  private queue: DialCandidate[] = []
  private head = 0
  private readonly queued = new Set<string>()
  /**
   * "torrent-id address" -> until when, whether that connection got through its handshake, and
   * whether a `started` was let through it already; oldest first.
   */
  private readonly cooling = new Map<string, { until: number; met: boolean; overridden: boolean }>()
  /** "torrent-id address" -> when last offered, oldest first. */
  private readonly seen = new Map<string, number>()
  /** "torrent-id address" -> a `started` pushed while connected to it, until when it counts; oldest first. */
  private readonly afterClose = new Map<string, { hash: Buffer; ip: string; port: number; until: number }>()

  constructor(opts: DialPlannerOptions) {
    this.opts = opts
    this.maxQueue = opts.maxQueue ?? MAX_QUEUE
    this.coolMs = opts.coolMs ?? COOL_MS
  }

  get size(): number {
    return this.queue.length - this.head
  }

  /**
   * Queues the peers worth dialling; returns how many of `peers` it had not been offered in the last hour.
   * `started`: leechers that just announced `started` (see the top).
   */
  offer(t: LeanTorrent, hash: Buffer, peers: { ip: string; port: number }[], now: number, started = false): number {
    let unseen = 0
    for (const p of peers) {
      if (!Number.isInteger(p.port) || p.port <= 0 || p.port > 65535) continue
      const ip = normalizeAddress(p.ip)
      if (this.opts.isSelf(ip, p.port)) continue
      const address = peerEndpoint(ip, p.port)
      const key = `${t.id} ${address}`
      if (this.remember(key, now)) unseen++
      if (this.queued.has(key)) continue
      if (isConnected(t, address)) {
        if (started) this.keepFor(this.afterClose, key, { hash, ip, port: p.port, until: now + this.coolMs })
        continue
      }
      if (this.isCooling(key, now, started)) continue
      if (this.size >= this.maxQueue) {
        this.opts.dropped()
        continue
      }
      this.queued.add(key)
      this.queue.push({ t, hash, ip, port: p.port, address })
    }
    return unseen
  }

  /** The next peer to dial (the caller checks its limits again: the torrent may be full by now). */
  next(): DialCandidate | undefined {
    if (this.head >= this.queue.length) return undefined
    const c = this.queue[this.head++]!
    this.queued.delete(`${c.t.id} ${c.address}`)
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
    return c
  }

  /** A dial that failed, or a dialled connection that ended (`met`: after its handshake): not offered again for a while. */
  coolDown(t: LeanTorrent, address: string, now: number, met = false): void {
    const key = `${t.id} ${address}`
    const prev = this.cooling.get(key)
    // A dial a `started` let through that fails again does not earn the next `started` a dial.
    const overridden = prev !== undefined && prev.until > now && prev.overridden
    this.keepFor(this.cooling, key, { until: now + this.coolMs, met, overridden })
  }

  /** Sets key last in a map kept oldest first and bounded by MAX_COOLING. */
  private keepFor<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key)
    map.set(key, value)
    while (map.size > MAX_COOLING) map.delete(map.keys().next().value!)
  }

  /** A connection to the peer listening at `address` ended: a `started` it announced meanwhile is offered now. */
  closed(t: LeanTorrent, address: string, now: number): void {
    const key = `${t.id} ${address}`
    const pending = this.afterClose.get(key)
    if (pending === undefined) return
    this.afterClose.delete(key)
    if (pending.until > now) this.offer(t, pending.hash, [{ ip: pending.ip, port: pending.port }], now, true)
  }

  /** Dialled again first, cool-down or not: a plaintext dial closed unanswered is retried with MSE. */
  retryFirst(c: DialCandidate): void {
    const key = `${c.t.id} ${c.address}`
    this.cooling.delete(key)
    if (this.queued.has(key)) return
    this.queued.add(key)
    if (this.head > 0) this.queue[--this.head] = c
    else this.queue.unshift(c)
  }

  clear(): void {
    this.queue = []
    this.head = 0
    this.queued.clear()
    this.afterClose.clear()
  }

  private isCooling(key: string, now: number, started: boolean): boolean {
    const c = this.cooling.get(key)
    if (c === undefined) return false
    if (c.until <= now || (started && c.met)) {
      this.cooling.delete(key)
      return false
    }
    if (!started || c.overridden) return true
    c.overridden = true // kept: its next coolDown within the minute carries it
    return false
  }

  /** Records an offer; true if it was not offered in the last SEEN_MS. */
  private remember(key: string, now: number): boolean {
    const at = this.seen.get(key)
    this.seen.delete(key)
    this.seen.set(key, now)
    for (const [k, when] of this.seen) {
      if (this.seen.size <= MAX_SEEN && now - when < SEEN_MS) break
      this.seen.delete(k)
    }
    return at === undefined || now - at >= SEEN_MS
  }
}

/** Whether we hold a connection to the peer listening at `address`, dialled or not. */
function isConnected(t: LeanTorrent, address: string): boolean {
  if (t.dialled?.has(address)) return true
  if (t.peers) for (const p of t.peers) if (p.listen?.address === address) return true
  return false
}
