// In-memory swarm state for the HTTP and UDP trackers. Pure: no timers, no I/O; the caller passes
// the time in and calls expire() periodically.
//
// Layout, chosen for memory and O(1) updates: per swarm, a Map peerKey -> Peer plus two dense
// arrays (seeders, leechers) with each peer's index kept in `slot`, so moves and removals are
// swap-with-last, counts are array lengths, and random peer selection is random indexing.
// A peer keeps its IPv4 address and port as small integers (IPv6: a 16-char latin1 string), its
// peer id as a 20-char latin1 string (far less heap than Buffer objects) and its last-seen time
// as a small integer. Writing a reply then reads only the Peer object itself.
//
// Caps: `maxPeersPerAddress` peers per address per swarm (a NAT'd household has a few clients in
// one swarm; a seeder or mirror has one peer in each of many swarms, so the cap is per swarm), and
// `maxPeers` in all. A full store makes room by dropping a peer of the address holding the most
// (peerOwners.ts), as long as that address holds more than the newcomer's would: an attacker's
// fake peers go first and a real newcomer still gets in. Addresses are IPv4 or an IPv6 /64.
// For that each peer also points at its swarm, key and owner: ~+70 bytes per peer (measured).
//
// Bytes peers downloaded (offload figures): each peer keeps its last announced `downloaded` as
// two small integers, and each announce adds its increase to the swarm's tally (peerDownloads.ts).
import { randomInt } from 'node:crypto'
import { addressText, compactAddress, ipv4Number } from '../bittorrent/address.ts'
import type { AnnounceEvent } from '../bittorrent/tracker/announce.ts'
import { OwnerIndex, type Owner } from './peerOwners.ts'
import { clampTo, countDownloaded, type SwarmTally } from './peerDownloads.ts'

export interface PeerAnnounce {
  infoHash: string
  peerKey: string // peer_id hex, or ip:port
  peerId: Buffer
  ip: string // IPv4 or IPv6 text, from the socket
  port: number
  left: number
  event: AnnounceEvent
  numwant: number
  nowMs: number
  /** Where this announce's increase of `downloaded` goes; none: not counted (not this site's torrent, its own seeder). */
  tally?: SwarmTally
}

export interface AnnounceResult {
  complete: number
  incomplete: number
  peers4: Buffer // compact 6-byte entries
  peers6: Buffer // compact 18-byte entries
  peerList: { ip: string; port: number; peerId: Buffer }[] // only filled when wantPeerList
  firstCompletion: boolean
  /** A new peer answered but not stored, and why; null when stored (or not new). */
  notStored: 'swarm_full' | 'per_address' | 'full' | null
  /** A stored peer of another address was dropped to make room for this one. */
  evicted: boolean
}

export interface SwarmStoreOptions {
  peerTtlMs: number
  maxPeersPerSwarm: number
  maxNumwant: number
  /** Peers in all swarms; default no cap. */
  maxPeers?: number
  /** Peers one address (IPv6: one /64) may have in one swarm; default no cap. */
  maxPeersPerAddress?: number
}

class Peer {
  ip4: number // IPv4 as int32 (a Smi, unlike a uint32 above 2^31); unused when ip6 is set
  ip6: string // IPv6 as 16 latin1 chars, '' for IPv4
  port: number
  peerId: string // 20 bytes, latin1
  seen: number // ms since the store's epoch: stays a small integer, no boxed double
  slot: number // index in swarm.seeders or swarm.leechers
  mark: number // sampling stamp: picked in the current selection when equal to store.stamp
  seeder: boolean
  counted: boolean // its completion has been reported
  readonly key: string // its key in swarm.peers
  readonly swarm: Swarm
  owner: Owner<Peer, Swarm> | null // its address, when that holds several peers (peerOwners.ts)
  oslot: number // index in owner.peers
  dlHi: number // last announced `downloaded`, clamped to the file size: dlHi * 2^30 + dlLo
  dlLo: number

  constructor(
    swarm: Swarm,
    key: string,
    ip4: number,
    ip6: string,
    port: number,
    peerId: string,
    seen: number,
    seeder: boolean,
    counted: boolean,
  ) {
    this.swarm = swarm
    this.key = key
    this.owner = null
    this.oslot = 0
    this.dlHi = 0
    this.dlLo = 0
    this.ip4 = ip4
    this.ip6 = ip6
    this.port = port
    this.peerId = peerId
    this.seen = seen
    this.slot = 0
    this.mark = 0
    this.seeder = seeder
    this.counted = counted
  }
}

class Swarm {
  readonly infoHash: string
  readonly peers = new Map<string, Peer>()
  readonly seeders: Peer[] = []
  readonly leechers: Peer[] = []

  constructor(infoHash: string) {
    this.infoHash = infoHash
  }
}

// An address as the owner index keys it: IPv4 as its int32, IPv6 as its /64 (8 latin1 chars).
const ownerKey = (ip4: number, ip6: string): number | string => (ip6 === '' ? ip4 : ip6.slice(0, 8))

const EMPTY = Buffer.alloc(0)
const STAMP_LIMIT = 0x3fffffff

export class SwarmStore {
  private readonly opts: SwarmStoreOptions
  private readonly swarms = new Map<string, Swarm>()
  private readonly owners = new OwnerIndex<Peer, Swarm>()
  private readonly maxPeers: number
  private readonly maxPeersPerAddress: number
  private epoch = Number.NaN
  private stamp = 0
  private peerCount = 0
  private seederCount = 0
  // Scratch for select()/result(): filled by index, never shrunk (setting length = 0 would drop
  // the backing store and re-grow it on every announce); cleared after use so it pins nothing.
  private readonly picked: (Peer | null)[] = []
  private order = new Int32Array(256) // scratch for select()
  private seed = randomInt(1, 2 ** 31) // xorshift32 state, never 0

  constructor(opts: SwarmStoreOptions) {
    this.opts = opts
    this.maxPeers = opts.maxPeers ?? Infinity
    this.maxPeersPerAddress = opts.maxPeersPerAddress ?? Infinity
  }

  announce(a: PeerAnnounce & { downloaded: number; wantPeerList?: boolean }): AnnounceResult {
    const now = this.rel(a.nowMs)
    let swarm = this.swarms.get(a.infoHash)
    let peer = swarm?.peers.get(a.peerKey)

    if (a.event === 'stopped') {
      // aria2c that finishes over the peer wire sends `stopped` with left=0 and never `completed`:
      // a leecher leaving complete has completed.
      const finished = peer !== undefined && !peer.counted && !peer.seeder && a.left === 0
      if (peer !== undefined) {
        if (a.tally !== undefined) countDownloaded(a.tally, peer, a.downloaded, true, false)
        this.remove(peer)
      }
      return this.result(swarm, 0, false, finished, false, null, false)
    }

    if (a.peerId.length !== 20) throw new TypeError('peer id must be 20 bytes')
    let ip4 = ipv4Number(a.ip)
    let ip6 = ''
    if (ip4 < 0) {
      const addr = compactAddress(a.ip, 0)
      if (addr === null) throw new TypeError(`not an IP address: ${a.ip}`)
      if (addr.length === 18) ip6 = addr.slice(0, 16)
      else
        ip4 = (addr.charCodeAt(0) << 24) | (addr.charCodeAt(1) << 16) | (addr.charCodeAt(2) << 8) | addr.charCodeAt(3)
    }
    ip4 |= 0
    const seeder = a.left === 0 || a.event === 'completed'
    // A completion is: a `completed` event; or left=0 from a peer last seen with left>0 (it
    // missed the event); or `started` with left=0 and bytes downloaded this session (it finished
    // before its first announce; a seeder merely resuming reports downloaded=0). Once per peer.
    const completes = a.event === 'completed' || (a.event === 'started' && a.left === 0 && a.downloaded > 0)
    let first: boolean
    let notStored: AnnounceResult['notStored'] = null
    let evicted = false
    if (swarm === undefined) this.swarms.set(a.infoHash, (swarm = new Swarm(a.infoHash)))

    if (peer !== undefined) {
      first = !peer.counted && (completes || (seeder && !peer.seeder))
      peer.seen = now
      if (peer.ip4 !== ip4 || peer.ip6 !== ip6) {
        // A new address: filed under it (caps are checked for new peers only).
        this.owners.remove(ownerKey(peer.ip4, peer.ip6), peer)
        peer.ip4 = ip4
        peer.ip6 = ip6
        this.owners.add(ownerKey(ip4, ip6), peer)
      }
      peer.port = a.port
      if (!sameBytes(peer.peerId, a.peerId)) peer.peerId = a.peerId.toString('latin1', 0, 20)
      if (first) peer.counted = true
      if (peer.seeder !== seeder) this.move(swarm, peer, seeder)
      if (a.tally !== undefined) countDownloaded(a.tally, peer, a.downloaded, true, a.event === 'started')
    } else {
      // Unknown peer: no history, so only the event itself can say it completed. A peer that
      // stopped and comes back is a new session, and can complete again.
      first = completes
      // Not stored (full swarm, address over its cap, full store): still answered, not handed out.
      const key = ownerKey(ip4, ip6)
      if (swarm.peers.size >= this.opts.maxPeersPerSwarm) notStored = 'swarm_full'
      else if (this.owners.countIn(key, swarm) >= this.maxPeersPerAddress) notStored = 'per_address'
      else if (this.peerCount >= this.maxPeers && !(evicted = this.makeRoom(key))) notStored = 'full'
      if (notStored === null) {
        // Making room may have emptied and dropped this very swarm: put it back.
        if (evicted && swarm.peers.size === 0) this.swarms.set(a.infoHash, swarm)
        peer = new Peer(swarm, a.peerKey, ip4, ip6, a.port, a.peerId.toString('latin1', 0, 20), now, seeder, first)
        swarm.peers.set(a.peerKey, peer)
        this.insert(swarm, peer)
        this.owners.add(key, peer)
        if (a.tally !== undefined) countDownloaded(a.tally, peer, a.downloaded, false, a.event === 'started')
      } else {
        // Not kept, so no baseline: only a session's start can be counted (from 0).
        if (a.tally !== undefined && a.event === 'started') a.tally.downloaded += clampTo(a.downloaded, a.tally.size)
        if (swarm.peers.size === 0) this.swarms.delete(a.infoHash) // don't leave an empty swarm behind
      }
    }
    const want = Math.min(a.numwant, this.opts.maxNumwant)
    return this.result(
      swarm,
      want > 0 ? this.select(swarm, peer, want) : 0,
      true,
      first,
      a.wantPeerList === true,
      notStored,
      evicted,
    )
  }

  counts(infoHash: string): { complete: number; incomplete: number } {
    const swarm = this.swarms.get(infoHash)
    return { complete: swarm?.seeders.length ?? 0, incomplete: swarm?.leechers.length ?? 0 }
  }

  removeSwarm(infoHash: string): void {
    const swarm = this.swarms.get(infoHash)
    if (swarm === undefined) return
    for (const peer of swarm.peers.values()) this.owners.remove(ownerKey(peer.ip4, peer.ip6), peer)
    this.peerCount -= swarm.peers.size
    this.seederCount -= swarm.seeders.length
    this.swarms.delete(infoHash)
  }

  // Drops peers not seen for peerTtlMs (and swarms left empty); returns how many peers went.
  // A full scan: meant to run every minute or so, O(peers).
  expire(nowMs: number): number {
    const cutoff = this.rel(nowMs) - this.opts.peerTtlMs
    let dropped = 0
    for (const swarm of this.swarms.values()) {
      for (const peer of swarm.peers.values()) {
        if (peer.seen <= cutoff) {
          this.remove(peer)
          dropped++
        }
      }
    }
    return dropped
  }

  stats(): { swarms: number; peers: number; seeders: number; leechers: number } {
    const { peerCount: peers, seederCount: seeders } = this
    return { swarms: this.swarms.size, peers, seeders, leechers: peers - seeders }
  }

  /** Addresses (IPv4, or IPv6 /64) holding peers. */
  get addresses(): number {
    return this.owners.size
  }

  // Drops one peer of the address holding the most, if it holds more than `newcomer` would after
  // joining; returns whether room was made.
  private makeRoom(newcomer: number | string): boolean {
    const largest = this.owners.largest()
    if (largest === undefined || largest.peers.length <= this.owners.count(newcomer) + 1) return false
    this.remove(largest.peers[largest.peers.length - 1]!)
    return true
  }

  private rel(nowMs: number): number {
    if (Number.isNaN(this.epoch)) this.epoch = nowMs
    return Math.floor(nowMs - this.epoch)
  }

  private insert(swarm: Swarm, peer: Peer): void {
    const list = peer.seeder ? swarm.seeders : swarm.leechers
    peer.slot = list.length
    list.push(peer)
    this.peerCount++
    if (peer.seeder) this.seederCount++
  }

  // Swap-with-last removal from the peer's current list.
  private unlink(swarm: Swarm, peer: Peer): void {
    const list = peer.seeder ? swarm.seeders : swarm.leechers
    const last = list.pop()!
    if (last !== peer) {
      list[peer.slot] = last
      last.slot = peer.slot
    }
    this.peerCount--
    if (peer.seeder) this.seederCount--
  }

  private move(swarm: Swarm, peer: Peer, seeder: boolean): void {
    this.unlink(swarm, peer)
    peer.seeder = seeder
    this.insert(swarm, peer)
  }

  private remove(peer: Peer): void {
    const swarm = peer.swarm
    this.unlink(swarm, peer)
    this.owners.remove(ownerKey(peer.ip4, peer.ip6), peer)
    swarm.peers.delete(peer.key)
    if (swarm.peers.size === 0) this.swarms.delete(swarm.infoHash)
  }

  // Picks up to `want` random peers into this.picked, never the requester, and no seeders for a
  // seeder (it has nothing to get from them). Returns how many were picked.
  private select(swarm: Swarm, self: Peer | undefined, want: number): number {
    const { leechers, seeders } = swarm
    const picked = this.picked
    // Pool: leechers at indexes [0, L), then seeders at [L, N); the requester, if stored, sits in
    // it at its slot. Seeders get seeders too: a magnet client without metadata yet announces
    // left=0 (aria2c does) and would otherwise never hear of the seed it needs.
    const L = leechers.length
    const N = L + seeders.length
    const selfIndex = self === undefined ? -1 : self.seeder ? L + self.slot : self.slot
    const n = selfIndex < 0 ? N : N - 1
    const k = Math.min(want, n)
    if (k <= 0) return 0
    let c = 0

    if (k === n) {
      for (let i = 0; i < L; i++) if (i !== selfIndex) picked[c++] = leechers[i]!
      for (let i = 0; i < seeders.length; i++) if (L + i !== selfIndex) picked[c++] = seeders[i]!
    } else if (2 * k <= n) {
      // Few out of many: random indexes, skipping ones already picked (expected < 2 tries each),
      // so the cost follows k, not the swarm size.
      if (++this.stamp >= STAMP_LIMIT) this.resetMarks()
      const stamp = this.stamp
      if (self !== undefined) self.mark = stamp
      while (c < k) {
        const i = this.random(N)
        const p = i < L ? leechers[i]! : seeders[i - L]!
        if (p.mark === stamp) continue
        p.mark = stamp
        picked[c++] = p
      }
    } else {
      // Most of the pool (so N < 2k + 1, small): partial Fisher-Yates over pool indexes, k random
      // draws. The requester's index is replaced by the last one and the range shrunk by one.
      if (this.order.length < N) this.order = new Int32Array(Math.max(N, 2 * this.order.length))
      const order = this.order
      for (let i = 0; i < N; i++) order[i] = i
      if (selfIndex >= 0) order[selfIndex] = N - 1
      for (let j = 0; j < k; j++) {
        const r = j + this.random(n - j)
        const v = order[r]!
        order[r] = order[j]!
        order[j] = v
        picked[c++] = v < L ? leechers[v]! : seeders[v - L]!
      }
    }
    return c
  }

  // Uniform-enough integer in [0, bound) from xorshift32: choosing which peers to hand out needs
  // speed, not unpredictability (Math.random is no less predictable, and ~3x slower per draw).
  private random(bound: number): number {
    let x = this.seed
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    this.seed = x
    return Math.floor(((x >>> 0) / 4294967296) * bound)
  }

  private resetMarks(): void {
    for (const swarm of this.swarms.values()) for (const p of swarm.peers.values()) p.mark = 0
    this.stamp = 1
  }

  private result(
    swarm: Swarm | undefined,
    count: number,
    live: boolean,
    first: boolean,
    list: boolean,
    notStored: AnnounceResult['notStored'],
    evicted: boolean,
  ): AnnounceResult {
    const complete = swarm?.seeders.length ?? 0
    const incomplete = swarm?.leechers.length ?? 0
    if (!live || count === 0)
      return {
        complete,
        incomplete,
        peers4: EMPTY,
        peers6: EMPTY,
        peerList: [],
        firstCompletion: first,
        notStored,
        evicted,
      }
    const picked = this.picked
    let n4 = 0
    for (let i = 0; i < count; i++) if (picked[i]!.ip6 === '') n4++
    const peers4 = n4 === 0 ? EMPTY : Buffer.allocUnsafe(n4 * 6)
    const peers6 = n4 === count ? EMPTY : Buffer.allocUnsafe((count - n4) * 18)
    let o4 = 0
    let o6 = 0
    for (let i = 0; i < count; i++) {
      const p = picked[i]!
      const { ip4, ip6, port } = p
      if (ip6 === '') {
        peers4[o4] = ip4 >>> 24
        peers4[o4 + 1] = ip4 >>> 16
        peers4[o4 + 2] = ip4 >>> 8
        peers4[o4 + 3] = ip4
        peers4[o4 + 4] = port >>> 8
        peers4[o4 + 5] = port
        o4 += 6
      } else {
        for (let j = 0; j < 16; j++) peers6[o6++] = ip6.charCodeAt(j)
        peers6[o6++] = port >>> 8
        peers6[o6++] = port
      }
    }
    const peerList: AnnounceResult['peerList'] = []
    if (list) {
      for (let i = 0; i < count; i++) {
        const p = picked[i]!
        const compact =
          p.ip6 === ''
            ? String.fromCharCode(p.ip4 >>> 24, (p.ip4 >>> 16) & 255, (p.ip4 >>> 8) & 255, p.ip4 & 255)
            : p.ip6
        const { ip } = addressText(compact + String.fromCharCode(p.port >>> 8, p.port & 255))
        peerList.push({ ip, port: p.port, peerId: Buffer.from(p.peerId, 'latin1') })
      }
    }
    for (let i = 0; i < count; i++) picked[i] = null
    return { complete, incomplete, peers4, peers6, peerList, firstCompletion: first, notStored, evicted }
  }
}

function sameBytes(s: string, b: Buffer): boolean {
  for (let i = 0; i < 20; i++) if (s.charCodeAt(i) !== b[i]) return false
  return true
}
