// Serves BEP 52 hash requests for the lean engine: each file's tree above its piece layer is
// built once from the .torrent's `piece layers` (read on demand, as the info dict is) and kept in
// a small LRU shared by every peer; a request is then a copy of at most 512 hashes and its
// proof. What we cannot or will not serve (an unknown root, a file of one piece, the block layer,
// out of range, too many) gets `hash reject`. Per peer, replies being prepared are bounded.
import { PieceTree } from '../../src/bittorrent/merkleProof.ts'
import { type HashRequest, hashesMessage, hashRejectMessage } from '../../src/bittorrent/wire/hashes.ts'

/** Trees kept (a tree costs about 100 bytes per piece of its file). */
const MAX_TREES = 32
/** Hash requests of one peer being answered at once; more are rejected at once. */
export const MAX_PENDING_HASH_REQUESTS = 8

export interface HashTorrent {
  id: number
  pieceLength: number
  format: 'v1' | 'hybrid' | 'v2'
  /** Hex pieces roots of the files that have a piece layer (checked before any file is read). */
  layerRoots: ReadonlySet<string>
}

export class HashServer<T extends HashTorrent> {
  private readonly trees = new Map<string, Promise<PieceTree | null>>()
  private readonly pieceLayers: (t: T) => Promise<Map<string, Buffer>>

  /** `pieceLayers`: the torrent's `piece layers`, read from its .torrent (checked against the info dict). */
  constructor(pieceLayers: (t: T) => Promise<Map<string, Buffer>>) {
    this.pieceLayers = pieceLayers
  }

  /** The reply to `req`: `hashes`, or `hash reject`. Never throws. */
  async answer(t: T, req: HashRequest): Promise<Buffer> {
    const root = req.piecesRoot.toString('hex')
    if (!t.layerRoots.has(root)) return hashRejectMessage(req)
    const tree = await this.tree(t, root).catch(() => null)
    const hashes = tree?.hashes(req) ?? null
    return hashes ? hashesMessage(req, hashes) : hashRejectMessage(req)
  }

  /** Forgets the trees of a torrent no longer seeded. */
  drop(id: number): void {
    for (const k of this.trees.keys()) if (k.startsWith(`${id} `)) this.trees.delete(k)
  }

  private tree(t: T, root: string): Promise<PieceTree | null> {
    const key = `${t.id} ${root}`
    let p = this.trees.get(key)
    if (p) {
      this.trees.delete(key) // Map order is the LRU order
      this.trees.set(key, p)
      return p
    }
    p = this.pieceLayers(t).then((layers) => {
      const layer = layers.get(root)
      return layer ? new PieceTree(layer, t.pieceLength) : null
    })
    p.catch(() => this.trees.delete(key))
    this.trees.set(key, p)
    if (this.trees.size > MAX_TREES) this.trees.delete(this.trees.keys().next().value!)
    return p
  }
}
