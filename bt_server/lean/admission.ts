// Who holds the seeder's connections, by address key (src/web/clientAddress.ts: IPv4, or an
// IPv6 /64), and whom to drop when a cap is full. Pure: no sockets; the engine asks and acts.
// The aim is to refuse the attacker first: a full cap drops a connection that has asked for
// nothing lately (no block requested), from the address holding the most connections, rather
// than turn away a newcomer from an address that holds few.

interface Entry<P> {
  peers: Set<P>
  handshaking: number
}

/** Connections by address key, and how many of them have not finished their handshake. */
export class AddressBook<P> {
  private readonly byKey = new Map<string, Entry<P>>()

  /** A new connection, in its handshake until `handshakeDone`. */
  add(key: string, p: P): void {
    let e = this.byKey.get(key)
    if (!e) {
      e = { peers: new Set(), handshaking: 0 }
      this.byKey.set(key, e)
    }
    e.peers.add(p)
    e.handshaking++
  }

  handshakeDone(key: string): void {
    const e = this.byKey.get(key)
    if (e && e.handshaking > 0) e.handshaking--
  }

  /** `handshaking`: it left before finishing its handshake. */
  remove(key: string, p: P, handshaking: boolean): void {
    const e = this.byKey.get(key)
    if (!e?.peers.delete(p)) return
    if (handshaking && e.handshaking > 0) e.handshaking--
    if (e.peers.size === 0) this.byKey.delete(key)
  }

  count(key: string): number {
    return this.byKey.get(key)?.peers.size ?? 0
  }
  handshaking(key: string): number {
    return this.byKey.get(key)?.handshaking ?? 0
  }
  get addresses(): number {
    return this.byKey.size
  }
}

/** What the victim choice needs to know of a connection. */
export interface VictimView {
  key: string
  /** Has asked for nothing: no block requested (still in its handshake, or never requested). */
  idle: boolean
  /** Since when it has been connected (ms). */
  since: number
}

/**
 * The connection to drop so that a newcomer from an address holding `newCount` connections
 * (the newcomer included) can have its place, or null to refuse the newcomer. Only idle ones
 * are dropped: from the address holding the most, oldest first; and only if that address holds
 * more than the newcomer's, or the connection has been idle for `staleMs` (many addresses, one
 * connection each, must not hold a full cap for ever either).
 */
export function pickVictim<P>(
  candidates: Iterable<P>,
  view: (p: P) => VictimView,
  countOf: (key: string) => number,
  newCount: number,
  now: number,
  staleMs: number,
): P | null {
  let best: P | null = null
  let bestCount = -1
  let bestSince = Infinity
  let oldest: P | null = null
  let oldestSince = Infinity
  for (const p of candidates) {
    const v = view(p)
    if (!v.idle) continue
    const c = countOf(v.key)
    if (c > bestCount || (c === bestCount && v.since < bestSince)) {
      best = p
      bestCount = c
      bestSince = v.since
    }
    if (v.since < oldestSince) {
      oldest = p
      oldestSince = v.since
    }
  }
  if (best !== null && bestCount > newCount) return best
  return oldest !== null && now - oldestSince >= staleMs ? oldest : null
}
