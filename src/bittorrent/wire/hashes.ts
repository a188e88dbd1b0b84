// BEP 52 hash messages: `hash request` (21), `hashes` (22) and `hash reject` (23). Each starts
// with the same 48 bytes: the file's pieces root (32), then base layer, index, length and proof
// layers (4 bytes big-endian each); `hashes` goes on with the 32-byte hashes: `length` of the base
// layer, then the uncle hashes that tie them to the root. Bytes in, values or WireError out.
import { WireError } from '../errors.ts'

export const MSG_HASH_REQUEST = 21
export const MSG_HASHES = 22
export const MSG_HASH_REJECT = 23

const ROOT_LENGTH = 32
const HEADER_LENGTH = ROOT_LENGTH + 16
const HASH_LENGTH = 32

export interface HashRequest {
  /** The file's `pieces root` (a view of the payload: copy to keep). */
  piecesRoot: Buffer
  /** Layer of the tree, counted from the 16 KiB block hashes (0). */
  baseLayer: number
  /** First hash wanted in that layer. */
  index: number
  /** How many hashes of that layer. */
  length: number
  /** How many layers above the base the proof reaches (uncle hashes). */
  proofLayers: number
}

function readHeader(id: number, payload: Buffer): HashRequest {
  if (payload.length < HEADER_LENGTH)
    throw new WireError('bad_message', `message ${id}: ${payload.length} payload bytes, at least ${HEADER_LENGTH}`)
  return {
    piecesRoot: payload.subarray(0, ROOT_LENGTH),
    baseLayer: payload.readUInt32BE(ROOT_LENGTH),
    index: payload.readUInt32BE(ROOT_LENGTH + 4),
    length: payload.readUInt32BE(ROOT_LENGTH + 8),
    proofLayers: payload.readUInt32BE(ROOT_LENGTH + 12),
  }
}

/** A `hash request` or `hash reject` payload (exactly the 48-byte header). */
export function parseHashRequest(id: number, payload: Buffer): HashRequest {
  if (payload.length !== HEADER_LENGTH)
    throw new WireError('bad_message', `message ${id}: ${payload.length} payload bytes, expected ${HEADER_LENGTH}`)
  return readHeader(id, payload)
}

/** A `hashes` payload: the header and whole 32-byte hashes (a view of the payload). */
export function parseHashes(payload: Buffer): HashRequest & { hashes: Buffer } {
  const header = readHeader(MSG_HASHES, payload)
  const hashes = payload.subarray(HEADER_LENGTH)
  if (hashes.length % HASH_LENGTH !== 0)
    throw new WireError('bad_message', `hashes message: ${hashes.length} bytes of hashes, not a multiple of 32`)
  return { ...header, hashes }
}

function message(id: number, r: HashRequest, hashes: Buffer | null): Buffer {
  if (r.piecesRoot.length !== ROOT_LENGTH) throw new RangeError('a pieces root is 32 bytes')
  const extra = hashes?.length ?? 0
  const b = Buffer.allocUnsafe(5 + HEADER_LENGTH + extra)
  b.writeUInt32BE(1 + HEADER_LENGTH + extra, 0)
  b[4] = id
  r.piecesRoot.copy(b, 5)
  b.writeUInt32BE(r.baseLayer, 5 + ROOT_LENGTH)
  b.writeUInt32BE(r.index, 5 + ROOT_LENGTH + 4)
  b.writeUInt32BE(r.length, 5 + ROOT_LENGTH + 8)
  b.writeUInt32BE(r.proofLayers, 5 + ROOT_LENGTH + 12)
  hashes?.copy(b, 5 + HEADER_LENGTH)
  return b
}

export const hashRequestMessage = (r: HashRequest): Buffer => message(MSG_HASH_REQUEST, r, null)
export const hashRejectMessage = (r: HashRequest): Buffer => message(MSG_HASH_REJECT, r, null)
/** `hashes`: the base-layer hashes then the uncle hashes, concatenated. */
export const hashesMessage = (r: HashRequest, hashes: Buffer): Buffer => message(MSG_HASHES, r, hashes)
