// Answers BEP 52 hash requests for one file from its piece layer: the tree above the piece
// layer (the layer padded to a power of two with the root of a piece of zero blocks, as BEP 52
// pads), the requested hashes of one of its layers and the uncle hashes up to `proof layers`,
// laid out as libtorrent sends and checks them. Layers are counted from the 16 KiB block hashes
// (0); the block layer itself is not kept (a request below the piece layer gets null). Pure.
import { createHash } from 'node:crypto'

const BLOCK = 16 * 1024
const HASH_LENGTH = 32
/** Most hashes of one layer we send in one reply (libtorrent asks for at most 512). */
const MAX_HASHES_PER_REQUEST = 512

const sha256 = (a: Buffer, b: Buffer): Buffer => createHash('sha256').update(a).update(b).digest()
const log2 = (n: number): number => Math.round(Math.log2(n))
const nextPowerOfTwo = (n: number): number => (n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n)))

export interface HashQuery {
  baseLayer: number
  index: number
  length: number
  proofLayers: number
}

export class PieceTree {
  /** Block layer count of the tree (log2 of its padded leaf count): the root's layer. */
  readonly rootLayer: number
  /** The piece layer's number (log2 of blocks per piece). */
  readonly pieceLayer: number
  /** layers[k]: the hashes of layer pieceLayer + k, padded; the last is [root]. */
  private readonly layers: Buffer[][]

  /** `pieceLayer`: the file's `piece layers` entry (32 bytes per piece, at least 2 pieces). */
  constructor(pieceHashes: Buffer, pieceLength: number) {
    const count = pieceHashes.length / HASH_LENGTH
    if (!Number.isInteger(count) || count < 2) throw new RangeError('a piece layer of 2 pieces or more')
    this.pieceLayer = log2(pieceLength / BLOCK)
    // The root of a piece of zero blocks: what pads the piece layer to a power of two.
    let pad: Buffer = Buffer.alloc(HASH_LENGTH)
    for (let i = 0; i < this.pieceLayer; i++) pad = sha256(pad, pad)
    const width = nextPowerOfTwo(count)
    let layer: Buffer[] = new Array(width)
    for (let i = 0; i < width; i++)
      layer[i] = i < count ? pieceHashes.subarray(i * HASH_LENGTH, (i + 1) * HASH_LENGTH) : pad
    this.layers = [layer]
    while (layer.length > 1) {
      const up: Buffer[] = new Array(layer.length / 2)
      for (let i = 0; i < up.length; i++) up[i] = sha256(layer[2 * i]!, layer[2 * i + 1]!)
      this.layers.push(up)
      layer = up
    }
    this.rootLayer = this.pieceLayer + this.layers.length - 1
  }

  get root(): Buffer {
    return this.layers.at(-1)![0]!
  }

  /** Bytes the tree holds (for the cache's bound). */
  get bytes(): number {
    return this.layers.reduce((n, l) => n + l.length * (HASH_LENGTH + 16), 0)
  }

  /**
   * The `hashes` payload after its header: `length` hashes of `baseLayer` from `index`, then the
   * uncles (siblings of the ancestors of their subtree's root, bottom up) for the proof layers
   * above the subtree. Null for what we do not serve: below the piece layer, out of the tree,
   * a length that is not a power of two from 2 to MAX_HASHES_PER_REQUEST, or an index not
   * aligned to it.
   */
  hashes(q: HashQuery): Buffer | null {
    const { baseLayer, index, length, proofLayers } = q
    if (baseLayer < this.pieceLayer || baseLayer >= this.rootLayer) return null
    if (length < 2 || length > MAX_HASHES_PER_REQUEST || (length & (length - 1)) !== 0) return null
    const k = baseLayer - this.pieceLayer
    const layer = this.layers[k]!
    if (index % length !== 0 || index + length > layer.length) return null
    // Proof layers reach at most the layer below the root (the root the peer has).
    if (proofLayers >= this.rootLayer - baseLayer) return null
    const inSubtree = log2(length) // layers above the base computable from the hashes themselves
    const uncles = Math.max(0, proofLayers - inSubtree + 1)
    const out = Buffer.allocUnsafe((length + uncles) * HASH_LENGTH)
    for (let i = 0; i < length; i++) layer[index + i]!.copy(out, i * HASH_LENGTH)
    let at = length
    for (let i = inSubtree - 1; i < proofLayers; i++) {
      // The ancestor at layer k + 1 + i, and its sibling.
      const node = index >> (i + 1)
      this.layers[k + 1 + i]![node ^ 1]!.copy(out, at++ * HASH_LENGTH)
    }
    return out
  }
}
