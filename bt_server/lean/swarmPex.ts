// Peer exchange (BEP 11) for the lean seeder. Each connected peer that offered ut_pex is told,
// at most once a minute, which peers of the torrent joined (up to 50) and left (up to 50) since
// its last message: every other connected peer whose listening address we know (one we dialled,
// or the port its extension handshake named). So leechers find each other through the seed even
// when the tracker's reply left them out, or when they cannot be dialled themselves but can dial.
// What peers send us is read within bounds: one message per PEX_READ_GAP_MS per peer, at most
// PEX_MAX_PEERS added peers each; seeds are left out, and so are local addresses (loopback,
// private, link-local) named by a peer that is not itself on one (as libtorrent does: a stranger
// must not make the seeder dial into its own network); the rest go to the dial queue (dialer.ts),
// which bounds them again. Private torrents (BEP 27) never get here (the engine checks).
import {
  buildPexMessage,
  parsePexMessage,
  PEX_INTERVAL_MS,
  PEX_MAX_PEERS,
  PEX_REACHABLE,
  PEX_SEED,
  PEX_UTP,
} from '../../src/bittorrent/wire/pex.ts'
import { WireError } from '../../src/bittorrent/errors.ts'
import { isLocalAddress } from '../../src/bittorrent/address.ts'

/** A connected peer's listening address: peerEndpoint(ip, port) is `address`. */
export interface ListenAddress {
  ip: string
  port: number
  address: string
}

export interface PexState {
  /** What it was told is in the swarm (address -> where), as of our last message. */
  told: Map<string, ListenAddress>
  sentAt: number
  gotAt: number
}

/** What a round needs of a peer (bt_server/lean/peer.ts). */
export interface PexMember {
  /** Its address as connected (IPv4-mapped IPv6 as IPv4). */
  readonly ip: string
  readonly listen: ListenAddress | null
  /** The id it wants ut_pex messages under (its extension handshake); 0: it does not speak ut_pex. */
  readonly pexId: number
  /** We dialled it (BEP 11 flag 0x10: reachable). */
  readonly reachable: boolean
  readonly utp: boolean
  pex: PexState | null
  sendExtended(id: number, payload: Buffer): void
}

/** Peers' messages closer together than this are ignored (they should send one a minute; some tolerance). */
export const PEX_READ_GAP_MS = 30_000

const newState = (): PexState => ({ told: new Map(), sentAt: -Infinity, gotAt: -Infinity })

/** One round over a torrent's peers (the housekeeping calls it every second): those due get their message. */
export function pexRound(peers: Iterable<PexMember>, now: number): void {
  let swarm: Map<string, PexMember> | null = null
  for (const p of peers) {
    if (p.pexId === 0 || (p.pex !== null && now - p.pex.sentAt < PEX_INTERVAL_MS)) continue
    swarm ??= swarmOf(peers)
    const state = (p.pex ??= newState())
    const added: ListenAddress[] = []
    const flags: number[] = []
    for (const [address, m] of swarm) {
      if (added.length >= PEX_MAX_PEERS) break
      if (m === p || state.told.has(address)) continue
      added.push(m.listen!)
      flags.push((m.reachable ? PEX_REACHABLE : 0) | (m.utp ? PEX_UTP : 0))
    }
    const dropped: ListenAddress[] = []
    for (const [address, l] of state.told) {
      if (dropped.length >= PEX_MAX_PEERS) break
      if (!swarm.has(address)) dropped.push(l)
    }
    if (added.length === 0 && dropped.length === 0) continue
    p.sendExtended(
      p.pexId,
      buildPexMessage({
        added: added.map((l, i) => ({ ip: l.ip, port: l.port, flags: flags[i]! })),
        dropped: dropped.map(({ ip, port }) => ({ ip, port })),
      }),
    )
    for (const l of added) state.told.set(l.address, l)
    for (const l of dropped) state.told.delete(l.address)
    state.sentAt = now
  }
}

/** The peers to dial from `from`'s ut_pex message, or null when it is ignored (too soon after its last, malformed). */
export function readPex(from: PexMember, payload: Buffer, now: number): { ip: string; port: number }[] | null {
  const state = (from.pex ??= newState())
  if (now - state.gotAt < PEX_READ_GAP_MS) return null
  state.gotAt = now
  const local = isLocalAddress(from.ip)
  try {
    return parsePexMessage(payload)
      .added.filter((p) => (p.flags & PEX_SEED) === 0 && (local || !isLocalAddress(p.ip)))
      .map(({ ip, port }) => ({ ip, port }))
  } catch (err) {
    if (err instanceof WireError) return null
    throw err
  }
}

function swarmOf(peers: Iterable<PexMember>): Map<string, PexMember> {
  const out = new Map<string, PexMember>()
  for (const p of peers) if (p.listen) out.set(p.listen.address, p)
  return out
}
