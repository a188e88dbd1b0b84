// Which completed downloads get counted. Pure: no timers, no I/O; the caller passes the time in
// and calls expire() with the peers' sweep.
//
// A real client reports one completion per download: a household behind one address finishes a
// video once, perhaps a few times for a few people. An attacker claims thousands from one address
// with a fresh peer id each time. So within a window (the peers' TTL) a torrent counts at most
// `perAddress` completions from one address (IPv6: one /64), each peer id once.
//
// Layout: per torrent, a Map addressKey -> Entry in insertion order, which is also expiry order
// (every entry lives `windowMs` from its first claim), so expire() stops at the first live entry
// of each torrent. An Entry holds the few peer ids counted (at most `perAddress`, latin1 or hex
// strings as the caller gives them). The number of entries is bounded per torrent and in total;
// when full, new addresses are not counted until entries expire: a count that cannot be checked
// is not counted.

export interface CompletionLedgerOptions {
  /** Completions counted per torrent per address within the window. */
  perAddress: number
  windowMs: number
  /** Addresses remembered per torrent, and in total. */
  maxPerSwarm: number
  maxTotal: number
}

/** `counted`, or why not: the same peer again, the address's share used, the ledger full. */
export type Claim = 'counted' | 'repeated' | 'per_address' | 'full'

class Entry {
  readonly expires: number
  readonly peerIds: string[]

  constructor(expires: number, peerId: string) {
    this.expires = expires
    this.peerIds = [peerId]
  }
}

export class CompletionLedger {
  private readonly opts: CompletionLedgerOptions
  private readonly swarms = new Map<string, Map<string, Entry>>()
  private total = 0

  constructor(opts: CompletionLedgerOptions) {
    this.opts = opts
  }

  claim(infoHash: string, addressKey: string, peerId: string, nowMs: number): Claim {
    let swarm = this.swarms.get(infoHash)
    const entry = swarm?.get(addressKey)
    if (entry !== undefined && entry.expires > nowMs) {
      if (entry.peerIds.includes(peerId)) return 'repeated'
      if (entry.peerIds.length >= this.opts.perAddress) return 'per_address'
      entry.peerIds.push(peerId)
      return 'counted'
    }
    if (this.opts.perAddress <= 0) return 'per_address'
    if (entry !== undefined) {
      // Expired but not swept yet: replaced (at the end, keeping the map in expiry order).
      swarm!.delete(addressKey)
      this.total--
    }
    if (this.total >= this.opts.maxTotal || (swarm?.size ?? 0) >= this.opts.maxPerSwarm) return 'full'
    if (swarm === undefined) this.swarms.set(infoHash, (swarm = new Map()))
    swarm.set(addressKey, new Entry(nowMs + this.opts.windowMs, peerId))
    this.total++
    return 'counted'
  }

  /** Forgets entries whose window has passed; returns how many went. */
  expire(nowMs: number): number {
    let dropped = 0
    for (const [infoHash, swarm] of this.swarms) {
      for (const [key, entry] of swarm) {
        if (entry.expires > nowMs) break
        swarm.delete(key)
        dropped++
      }
      if (swarm.size === 0) this.swarms.delete(infoHash)
    }
    this.total -= dropped
    return dropped
  }

  removeSwarm(infoHash: string): void {
    const swarm = this.swarms.get(infoHash)
    if (swarm === undefined) return
    this.total -= swarm.size
    this.swarms.delete(infoHash)
  }

  /** Addresses remembered, over all torrents. */
  get size(): number {
    return this.total
  }
}
