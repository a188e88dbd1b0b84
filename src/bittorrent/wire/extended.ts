// BEP 10 extension protocol handshake and BEP 9 ut_metadata messages (payloads of message id 20,
// after the extended message id byte).
import { decodePrefix, encode, isDict, type BValue } from '../bencode.ts'
import { BencodeError, WireError } from '../errors.ts'

/** Extended message id 0 is the extension handshake. */
export const EXTENDED_HANDSHAKE_ID = 0
/** The id under which we accept ut_metadata messages (our `m` dict). */
export const OUR_UT_METADATA_ID = 1
export const METADATA_PIECE_SIZE = 16 * 1024
export const METADATA_REQUEST = 0
const METADATA_DATA = 1
const METADATA_REJECT = 2

export interface ExtendedHandshake {
  /** Extension name -> the id the sender wants for it; 0 means disabled. */
  m: Map<string, number>
  metadataSize?: number
  version?: string
  /** Requests the sender will queue (BEP 10 `reqq`). */
  reqq?: number
  port?: number
}

const int = (v: BValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined)

/** A peer's bencoded dict (BEP 10, 9, 11 messages); shallow nesting is all these messages need. */
export function decodePeerBencode(payload: Buffer): { value: BValue; end: number } {
  try {
    return decodePrefix(payload, 0, { maxDepth: 16 })
  } catch (err) {
    if (err instanceof BencodeError) throw new WireError('bad_bencode', err.message)
    throw err
  }
}

/** `utPex`: our ut_pex id (BEP 11), left out for private torrents (BEP 27: no peer exchange). */
export function buildExtendedHandshake(h: {
  utMetadata: number
  utPex?: number
  metadataSize?: number
  version?: string
  reqq?: number
  port?: number
}): Buffer {
  return encode({
    m: h.utPex ? { ut_metadata: h.utMetadata, ut_pex: h.utPex } : { ut_metadata: h.utMetadata },
    metadata_size: h.metadataSize,
    p: h.port,
    reqq: h.reqq,
    v: h.version,
  })
}

export function parseExtendedHandshake(payload: Buffer): ExtendedHandshake {
  const { value } = decodePeerBencode(payload)
  if (!isDict(value)) throw new WireError('bad_extended', 'extended handshake is not a dict')
  const m = new Map<string, number>()
  const mv = value.m
  if (isDict(mv)) {
    for (const [k, v] of Object.entries(mv)) if (typeof v === 'number' && v >= 0 && v <= 255) m.set(k, v)
  }
  const out: ExtendedHandshake = { m }
  const size = int(value.metadata_size)
  if (size !== undefined && size >= 0) out.metadataSize = size
  const v = value.v
  if (Buffer.isBuffer(v)) out.version = v.toString('utf8')
  const reqq = int(value.reqq)
  if (reqq !== undefined && reqq > 0) out.reqq = reqq
  const p = int(value.p)
  if (p !== undefined && p > 0 && p < 65536) out.port = p
  return out
}

export interface MetadataMessage {
  msgType: number
  piece: number
  totalSize?: number
  data?: Buffer
}

export function parseMetadataMessage(payload: Buffer): MetadataMessage {
  const { value, end } = decodePeerBencode(payload)
  if (!isDict(value)) throw new WireError('bad_metadata', 'ut_metadata message is not a dict')
  const msgType = int(value.msg_type)
  const piece = int(value.piece)
  if (msgType === undefined || piece === undefined || piece < 0)
    throw new WireError('bad_metadata', 'ut_metadata message without msg_type or piece')
  const out: MetadataMessage = { msgType, piece }
  const total = int(value.total_size)
  if (total !== undefined) out.totalSize = total
  if (msgType === METADATA_DATA) out.data = payload.subarray(end)
  return out
}

/** Number of 16 KiB pieces the info dict is sent in. */
export const metadataPieceCount = (size: number): number => Math.ceil(size / METADATA_PIECE_SIZE)

/** Piece `piece` of the info dict as a ut_metadata data payload, or null if there is no such piece. */
export function buildMetadataData(piece: number, info: Buffer): Buffer | null {
  if (!Number.isSafeInteger(piece) || piece < 0 || piece >= metadataPieceCount(info.length)) return null
  const head = encode({ msg_type: METADATA_DATA, piece, total_size: info.length })
  return Buffer.concat([head, info.subarray(piece * METADATA_PIECE_SIZE, (piece + 1) * METADATA_PIECE_SIZE)])
}

export function buildMetadataReject(piece: number): Buffer {
  return encode({ msg_type: METADATA_REJECT, piece })
}
