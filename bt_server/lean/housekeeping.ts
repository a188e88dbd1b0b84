// The lean engine's once-a-second round over every peer: handshake and idle timeouts, slots held
// by peers that request nothing, keep-alives, and output that does not drain (a peer that never
// reads is dropped after a while, at once when all peers' output together is over its bound).
// Each drop is counted under the bound that caused it.
import type { Bound, SeederLimits } from './limits.ts'
import type { Peer } from './peer.ts'
import { QUIET_MS } from './pieceLedger.ts'

const IDLE_TIMEOUT_MS = 180_000
const KEEP_ALIVE_MS = 100_000
const UNINTERESTED_TIMEOUT_MS = 600_000
/** An unchoked peer that lost interest keeps its slot this long (its last requests may follow). */
const UNCHOKED_UNINTERESTED_MS = 10_000
/** Over the total's bound, a peer whose output has not gone down for this long is dropped at once. */
const STUCK_MS = 1000

export interface TidyHost {
  readonly limits: SeederLimits
  refuse(bound: Bound): void
  releaseSlot(p: Peer): void
  wantUnchoke(p: Peer): void
}

/** `totalOutput`: what is queued for all peers together right now. */
export function tidyPeers(peers: Set<Peer>, host: TidyHost, now: number, totalOutput: number): void {
  const L = host.limits
  const drop = (p: Peer, bound: Bound, why: string) => {
    host.refuse(bound)
    p.destroy(why)
  }
  for (const p of [...peers]) {
    if (p.gate.stalled(now, p.outputBytes, L.sendStallMs)) {
      drop(p, 'seeder_send_stalled', 'does not read what we send')
      continue
    }
    if (!p.handshaken) {
      if (now - p.connectedAt > L.handshakeTimeoutMs) drop(p, 'seeder_handshake_timeout', 'no handshake')
      continue
    }
    if (now - p.lastRecv > IDLE_TIMEOUT_MS) {
      drop(p, 'seeder_idle_timeout', 'idle')
      continue
    }
    if (now - p.lastRecv > QUIET_MS) p.hush()
    if (!p.interested && now - p.uninterestedSince > UNINTERESTED_TIMEOUT_MS) {
      drop(p, 'seeder_idle_timeout', 'not interested')
      continue
    }
    if (!p.interested && !p.amChoking && p.queued === 0 && now - p.uninterestedSince > UNCHOKED_UNINTERESTED_MS) {
      host.releaseSlot(p)
      p.choke()
    }
    if (
      p.interested &&
      !p.amChoking &&
      p.queued === 0 &&
      now - Math.max(p.unchokedAt, p.lastRequest) > L.unchokedIdleMs
    ) {
      // Unchoked and asking for nothing: a peer that never asked is holding a slot on purpose
      // (dropped); one that did gets choked and waits for its turn again if others wait.
      if (p.requests === 0) {
        drop(p, 'seeder_idle_peer_timeout', 'unchoked and never requested')
        continue
      }
      if (p.torrent?.slots && p.torrent.slots.queued > 0) {
        host.releaseSlot(p)
        p.choke()
        host.wantUnchoke(p)
      }
    }
    if (now - p.lastSend > KEEP_ALIVE_MS) p.keepAlive()
    p.resumeIfDrained() // in case a drain came while its ut_metadata replies were still being read
  }
  if (totalOutput >= L.sendBufferTotalBytes) shedStuck(peers, host, now, totalOutput)
}

/** Over the total's bound: drops peers whose output is stuck, the largest first, until under. */
function shedStuck(peers: Set<Peer>, host: TidyHost, now: number, total: number): void {
  const stuck = [...peers]
    .filter((p) => !p.destroyed && p.gate.stuckFor(now) >= STUCK_MS)
    .sort((a, b) => b.outputBytes - a.outputBytes)
  for (const p of stuck) {
    if (total < host.limits.sendBufferTotalBytes) return
    total -= p.outputBytes
    host.refuse('seeder_send_queue_total')
    p.destroy('its output is stuck while the total is over its bound')
  }
}
