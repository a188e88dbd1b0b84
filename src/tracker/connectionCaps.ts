// Open connections counted in total and per address key (IPv4, or an IPv6 /64), for the
// WebSocket tracker: each open socket holds buffers and a place in the package's swarms, so a
// flood from one address must stop at its share while other addresses still get in. When the
// total is reached, the address holding the most connections gives one up for a newcomer from an
// address holding fewer (as the web port's connection guard does), so a real user is not locked
// out by a few addresses that filled it; a newcomer from a biggest holder is refused. Pure.
export interface ConnectionCapsOptions {
  max: number
  maxPerAddress: number
}

type ConnectionRefusal = 'ws_connections' | 'ws_connections_per_address'

/** Admitted (and if `evict` is set, the caller must close one connection of that address), or refused. */
export type ConnectionVerdict = { ok: true; evict?: string } | { ok: false; reason: ConnectionRefusal }

export class ConnectionCaps {
  private readonly opts: ConnectionCapsOptions
  private readonly perAddress = new Map<string, number>()
  private open = 0

  constructor(opts: ConnectionCapsOptions) {
    this.opts = opts
  }

  /** Takes a slot for `key` (the per-address cap first, then the total). */
  take(key: string): ConnectionVerdict {
    const mine = this.perAddress.get(key) ?? 0
    if (mine >= this.opts.maxPerAddress) return { ok: false, reason: 'ws_connections_per_address' }
    let evict: string | undefined
    if (this.open >= this.opts.max) {
      // A scan, but only when full, over at most `max` addresses.
      let most = 0
      for (const [k, n] of this.perAddress) if (n > most) [evict, most] = [k, n]
      if (evict === undefined || most <= mine + 1) return { ok: false, reason: 'ws_connections' }
      // Its slot moves to the newcomer now (the caller closes the connection without releasing).
      this.release(evict)
    }
    this.perAddress.set(key, mine + 1)
    this.open++
    return evict === undefined ? { ok: true } : { ok: true, evict }
  }

  /** Undoes an eviction the caller could not carry out (the slot goes back to `key`). */
  restore(key: string): void {
    this.perAddress.set(key, (this.perAddress.get(key) ?? 0) + 1)
    this.open++
  }

  release(key: string): void {
    const mine = this.perAddress.get(key)
    if (mine === undefined) return
    if (mine <= 1) this.perAddress.delete(key)
    else this.perAddress.set(key, mine - 1)
    this.open--
  }

  get total(): number {
    return this.open
  }
}
