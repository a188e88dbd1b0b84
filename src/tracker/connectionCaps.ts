// Open connections counted in total and per address key (IPv4, or an IPv6 /64), for the
// WebSocket tracker: each open socket holds buffers and a place in the package's swarms, so a
// flood from one address must stop at its share while other addresses still get in. Pure.
export interface ConnectionCapsOptions { max: number; maxPerAddress: number }

export type ConnectionRefusal = 'ws_connections' | 'ws_connections_per_address'

export class ConnectionCaps {
  private readonly opts: ConnectionCapsOptions
  private readonly perAddress = new Map<string, number>()
  private open = 0

  constructor(opts: ConnectionCapsOptions) {
    this.opts = opts
  }

  /** Takes a slot for `key`, or says which cap is reached (the per-address one first). */
  take(key: string): ConnectionRefusal | null {
    const mine = this.perAddress.get(key) ?? 0
    if (mine >= this.opts.maxPerAddress) return 'ws_connections_per_address'
    if (this.open >= this.opts.max) return 'ws_connections'
    this.perAddress.set(key, mine + 1)
    this.open++
    return null
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
