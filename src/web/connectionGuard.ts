// Caps on open connections to the web port, checked as each one is accepted. Every connection
// costs a file descriptor, and ~1,000 connections trickling bytes used up the default 1,024, after
// which pages, the web seed and /announce all failed. Two caps:
//   per address (IPv6 by /64): a newcomer from an address that holds the cap already is closed;
//   in total: when full, the address holding the most connections gives one up (its connection
//     that has moved the fewest bytes), so a newcomer from a quiet address still gets in; a
//     newcomer from the biggest holder itself is closed instead.
// Refused connections are reset at once, unanswered (an answer could wait on a peer that never
// reads; a reset leaves no TIME_WAIT behind on either side). Behind TRUST_PROXY every connection
// comes from the proxy, so the per-address cap is not applied there (the proxy's own limits are
// the per-client ones: nginx's limit_conn, client_header_timeout, client_body_timeout); the total
// cap, the header timeout and the body rate still are.
import type { Socket } from 'node:net'
import type { Refusals } from '../refusals.ts'
import { addressKey } from './clientAddress.ts'

export interface ConnectionLimits {
  maxTotal: number
  /** 0 = no per-address cap. */
  maxPerAddress: number
}

export class ConnectionGuard {
  private readonly byAddress = new Map<string, Set<Socket>>()
  private readonly keyOf = new WeakMap<Socket, string>()
  private total = 0
  private readonly limits: ConnectionLimits
  private readonly refusals: Refusals

  constructor(limits: ConnectionLimits, refusals: Refusals) {
    this.limits = limits
    this.refusals = refusals
  }

  /** Admits a new connection or closes it; false when closed. */
  admit(socket: Socket): boolean {
    // Already reset by the peer before we saw it: nothing to count.
    if (!socket.remoteAddress) {
      socket.destroy()
      return false
    }
    const key = addressKey(socket.remoteAddress)
    const held = this.byAddress.get(key)?.size ?? 0
    if (this.limits.maxPerAddress && held >= this.limits.maxPerAddress)
      return this.refuse(socket, 'web_connections_per_address')
    if (this.total >= this.limits.maxTotal) {
      const top = this.biggestHolder()
      if (!top || top.size <= held) return this.refuse(socket, 'web_connections_total')
      const victim = leastProgress(top)
      this.forget(victim)
      reset(victim)
      this.refusals.add('web_connections_total')
    }
    let set = this.byAddress.get(key)
    if (!set) this.byAddress.set(key, (set = new Set()))
    set.add(socket)
    this.keyOf.set(socket, key)
    this.total++
    socket.once('close', () => this.forget(socket))
    return true
  }

  get open(): number {
    return this.total
  }

  private refuse(socket: Socket, bound: string): false {
    this.refusals.add(bound)
    reset(socket)
    return false
  }

  private forget(socket: Socket): void {
    const key = this.keyOf.get(socket)
    if (key === undefined) return
    this.keyOf.delete(socket)
    const set = this.byAddress.get(key)
    if (!set?.delete(socket)) return
    this.total--
    if (!set.size) this.byAddress.delete(key)
  }

  private biggestHolder(): Set<Socket> | undefined {
    let top: Set<Socket> | undefined
    for (const set of this.byAddress.values()) if (!top || set.size > top.size) top = set
    return top
  }
}

function reset(socket: Socket): void {
  try {
    socket.resetAndDestroy()
  } catch {
    socket.destroy()
  }
}

// A trickling attacker has moved few bytes either way; a download or an upload has moved many.
function leastProgress(sockets: Set<Socket>): Socket {
  let best: Socket | undefined
  let bestBytes = Infinity
  for (const s of sockets) {
    const bytes = s.bytesRead + s.bytesWritten
    if (bytes < bestBytes) {
      best = s
      bestBytes = bytes
    }
  }
  return best!
}
