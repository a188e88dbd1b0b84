// Which address holds which peers in the swarm store, so that a full store can take room from the
// address holding the most (an attacker faking peers from a few addresses) rather than refuse a
// newcomer, and so that one address's peers in one swarm can be capped. Pure bookkeeping, O(1)
// per change.
//
// Layout, chosen for memory: most addresses hold one peer, and such an address can never be the
// one made to give room (a newcomer always holds at least as few), so it costs one Map entry
// key -> its Peer and nothing else. An address with two or more peers gets an Owner: a dense array
// of its peers (each peer's index in its `oslot`, swap-with-last removal as in the swarm lists),
// its count per swarm, and links into levels[n], the doubly linked list of owners holding n peers
// (links in the Owner, so a level costs one array slot). `top` is the highest non-empty level:
// the largest owner is found without a scan, and a count changing by one moves it one level.
// Keys: IPv4 as its int32, IPv6 as the 8 latin1 chars of its /64.

export interface Owned<P, S> {
  owner: Owner<P, S> | null // null while its address holds only this peer
  oslot: number
  readonly swarm: S
}

export class Owner<P, S> {
  readonly key: number | string
  readonly peers: P[]
  readonly perSwarm = new Map<S, number>()
  prev: Owner<P, S> | null = null
  next: Owner<P, S> | null = null

  constructor(key: number | string, peers: P[]) {
    this.key = key
    this.peers = peers
  }
}

export class OwnerIndex<P extends Owned<P, S>, S> {
  private readonly byKey = new Map<number | string, P | Owner<P, S>>()
  private readonly levels: (Owner<P, S> | null)[] = [null]
  private top = 0

  /** How many peers address `key` holds, in all swarms. */
  count(key: number | string): number {
    const v = this.byKey.get(key)
    return v === undefined ? 0 : v instanceof Owner ? v.peers.length : 1
  }

  /** How many peers address `key` holds in `swarm`. */
  countIn(key: number | string, swarm: S): number {
    const v = this.byKey.get(key)
    return v === undefined ? 0 : v instanceof Owner ? (v.perSwarm.get(swarm) ?? 0) : v.swarm === swarm ? 1 : 0
  }

  add(key: number | string, peer: P): void {
    const v = this.byKey.get(key)
    if (v === undefined) {
      peer.owner = null
      this.byKey.set(key, peer)
      return
    }
    let owner: Owner<P, S>
    if (v instanceof Owner) {
      owner = v
      this.unfile(owner)
    } else {
      owner = new Owner<P, S>(key, [v])
      v.owner = owner
      v.oslot = 0
      owner.perSwarm.set(v.swarm, 1)
      this.byKey.set(key, owner)
    }
    peer.owner = owner
    peer.oslot = owner.peers.length
    owner.peers.push(peer)
    owner.perSwarm.set(peer.swarm, (owner.perSwarm.get(peer.swarm) ?? 0) + 1)
    this.file(owner)
  }

  remove(key: number | string, peer: P): void {
    const owner = peer.owner
    if (owner === null) {
      if (this.byKey.get(key) === peer) this.byKey.delete(key)
      return
    }
    this.unfile(owner)
    const list = owner.peers
    const last = list.pop()!
    if (last !== peer) {
      list[peer.oslot] = last
      last.oslot = peer.oslot
    }
    peer.owner = null
    const n = owner.perSwarm.get(peer.swarm)! - 1
    if (n === 0) owner.perSwarm.delete(peer.swarm)
    else owner.perSwarm.set(peer.swarm, n)
    if (list.length === 1) {
      // Back to one peer: the Owner goes.
      list[0]!.owner = null
      this.byKey.set(key, list[0]!)
    } else {
      this.file(owner)
    }
    // The owner went down one level (or from 2 to none, level 1 being always empty): if it was
    // the only one at the top, the top is the level below, or two below.
    while (this.top > 0 && this.levels[this.top] === null) this.top--
  }

  /** The owner holding the most peers (any one of them on a tie); undefined when none holds two. */
  largest(): Owner<P, S> | undefined {
    return this.levels[this.top] ?? undefined
  }

  /** Addresses holding peers. */
  get size(): number {
    return this.byKey.size
  }

  // Links the owner at the head of the level for its peer count.
  private file(owner: Owner<P, S>): void {
    const n = owner.peers.length
    while (this.levels.length <= n) this.levels.push(null)
    const head = this.levels[n] ?? null
    owner.prev = null
    owner.next = head
    if (head !== null) head.prev = owner
    this.levels[n] = owner
    if (n > this.top) this.top = n
  }

  // Leaves `top` alone: add() files the owner one level up at once, remove() lowers the top after
  // filing it one down. Lowering it here scanned every empty level below a lone large owner on each
  // of its adds, O(its peers) an announce (bench:load, one address: 34 % of the owner's CPU).
  private unfile(owner: Owner<P, S>): void {
    if (owner.prev !== null) owner.prev.next = owner.next
    else this.levels[owner.peers.length] = owner.next
    if (owner.next !== null) owner.next.prev = owner.prev
    owner.prev = owner.next = null
  }
}
