// Peer wire messages (BEP 3, BEP 6 fast extension, BEP 10 extended, BEP 52 hashes: hashes.ts): ids, the values a message
// decodes to, and builders. Every message is <4-byte big-endian length><1-byte id><payload>;
// length 0 is a keep-alive.
import { WireError } from '../errors.ts'
import {
  type HashRequest,
  MSG_HASH_REJECT,
  MSG_HASH_REQUEST,
  MSG_HASHES,
  parseHashes,
  parseHashRequest,
} from './hashes.ts'

const MSG_CHOKE = 0
const MSG_UNCHOKE = 1
const MSG_INTERESTED = 2
const MSG_NOT_INTERESTED = 3
const MSG_HAVE = 4
const MSG_BITFIELD = 5
const MSG_REQUEST = 6
const MSG_PIECE = 7
const MSG_CANCEL = 8
const MSG_PORT = 9
const MSG_SUGGEST = 0x0d
const MSG_HAVE_ALL = 0x0e
const MSG_HAVE_NONE = 0x0f
const MSG_REJECT = 0x10
const MSG_ALLOWED_FAST = 0x11
const MSG_EXTENDED = 20

/** Bytes before the block in a piece message: length, id, index, begin. */
export const PIECE_HEADER_LENGTH = 13

export type WireMessage =
  | { type: 'keep-alive' }
  | { type: 'choke' | 'unchoke' | 'interested' | 'not-interested' | 'have-all' | 'have-none' }
  | { type: 'have' | 'suggest' | 'allowed-fast'; index: number }
  | { type: 'bitfield'; bits: Buffer }
  | { type: 'request' | 'cancel' | 'reject'; index: number; begin: number; length: number }
  | { type: 'piece'; index: number; begin: number; block: Buffer }
  | { type: 'port'; port: number }
  | { type: 'extended'; id: number; payload: Buffer }
  | ({ type: 'hash-request' | 'hash-reject' } & HashRequest)
  | ({ type: 'hashes'; hashes: Buffer } & HashRequest)
  | { type: 'unknown'; id: number }

const SIMPLE = ['choke', 'unchoke', 'interested', 'not-interested'] as const

function expectLength(id: number, payload: Buffer, n: number): void {
  if (payload.length !== n)
    throw new WireError('bad_message', `message ${id}: ${payload.length} payload bytes, expected ${n}`)
}

/**
 * One message from its id and payload. Buffers in the result (bits, block, payload) are views of
 * `payload`: copy them to keep them past the current chunk.
 */
export function decodeMessage(id: number, payload: Buffer): WireMessage {
  switch (id) {
    case MSG_CHOKE:
    case MSG_UNCHOKE:
    case MSG_INTERESTED:
    case MSG_NOT_INTERESTED:
      expectLength(id, payload, 0)
      return { type: SIMPLE[id]! }
    case MSG_HAVE_ALL:
    case MSG_HAVE_NONE:
      expectLength(id, payload, 0)
      return { type: id === MSG_HAVE_ALL ? 'have-all' : 'have-none' }
    case MSG_HAVE:
    case MSG_SUGGEST:
    case MSG_ALLOWED_FAST:
      expectLength(id, payload, 4)
      return {
        type: id === MSG_HAVE ? 'have' : id === MSG_SUGGEST ? 'suggest' : 'allowed-fast',
        index: payload.readUInt32BE(0),
      }
    case MSG_BITFIELD:
      return { type: 'bitfield', bits: payload }
    case MSG_REQUEST:
    case MSG_CANCEL:
    case MSG_REJECT:
      expectLength(id, payload, 12)
      return {
        type: id === MSG_REQUEST ? 'request' : id === MSG_CANCEL ? 'cancel' : 'reject',
        index: payload.readUInt32BE(0),
        begin: payload.readUInt32BE(4),
        length: payload.readUInt32BE(8),
      }
    case MSG_PIECE:
      if (payload.length < 8) throw new WireError('bad_message', 'piece message too short')
      return {
        type: 'piece',
        index: payload.readUInt32BE(0),
        begin: payload.readUInt32BE(4),
        block: payload.subarray(8),
      }
    case MSG_PORT:
      expectLength(id, payload, 2)
      return { type: 'port', port: payload.readUInt16BE(0) }
    case MSG_EXTENDED:
      if (payload.length < 1) throw new WireError('bad_message', 'extended message without an id')
      return { type: 'extended', id: payload[0]!, payload: payload.subarray(1) }
    case MSG_HASH_REQUEST:
    case MSG_HASH_REJECT:
      return { type: id === MSG_HASH_REQUEST ? 'hash-request' : 'hash-reject', ...parseHashRequest(id, payload) }
    case MSG_HASHES:
      return { type: 'hashes', ...parseHashes(payload) }
    default:
      return { type: 'unknown', id } // BEP 3: ignore what you do not know
  }
}

// ---- builders -------------------------------------------------------------------------------

function bare(id: number): Buffer {
  const b = Buffer.alloc(5)
  b.writeUInt32BE(1, 0)
  b[4] = id
  return b
}

function withIndexes(id: number, ...values: number[]): Buffer {
  const b = Buffer.allocUnsafe(5 + 4 * values.length)
  b.writeUInt32BE(1 + 4 * values.length, 0)
  b[4] = id
  for (let i = 0; i < values.length; i++) b.writeUInt32BE(values[i]!, 5 + 4 * i)
  return b
}

// Fixed messages are built once; sockets only read them.
export const KEEP_ALIVE: Buffer = Buffer.alloc(4)
export const CHOKE: Buffer = bare(MSG_CHOKE)
export const UNCHOKE: Buffer = bare(MSG_UNCHOKE)
export const INTERESTED: Buffer = bare(MSG_INTERESTED)
export const NOT_INTERESTED: Buffer = bare(MSG_NOT_INTERESTED)
export const HAVE_ALL: Buffer = bare(MSG_HAVE_ALL)
export const HAVE_NONE: Buffer = bare(MSG_HAVE_NONE)

export const haveMessage = (index: number): Buffer => withIndexes(MSG_HAVE, index)
export const requestMessage = (index: number, begin: number, length: number): Buffer =>
  withIndexes(MSG_REQUEST, index, begin, length)
export const cancelMessage = (index: number, begin: number, length: number): Buffer =>
  withIndexes(MSG_CANCEL, index, begin, length)
export const rejectMessage = (index: number, begin: number, length: number): Buffer =>
  withIndexes(MSG_REJECT, index, begin, length)
export const allowedFastMessage = (index: number): Buffer => withIndexes(MSG_ALLOWED_FAST, index)

/** A bitfield with all `pieceCount` pieces set (spare bits of the last byte clear, as BEP 3 wants). */
export function fullBitfieldMessage(pieceCount: number): Buffer {
  const bytes = Math.ceil(pieceCount / 8)
  const b = Buffer.alloc(5 + bytes, 0xff)
  b.writeUInt32BE(1 + bytes, 0)
  b[4] = MSG_BITFIELD
  const spare = bytes * 8 - pieceCount
  if (bytes > 0) b[4 + bytes] = (0xff << spare) & 0xff
  return b
}

/** Does this bitfield have every one of `pieceCount` pieces? (A seed: nothing to give it.) */
export function bitfieldIsFull(bits: Buffer, pieceCount: number): boolean {
  if (bits.length < Math.ceil(pieceCount / 8)) return false
  const whole = pieceCount >> 3
  for (let i = 0; i < whole; i++) if (bits[i] !== 0xff) return false
  const rest = pieceCount & 7
  return rest === 0 || (bits[whole]! & ((0xff << (8 - rest)) & 0xff)) === ((0xff << (8 - rest)) & 0xff)
}

/** Writes a piece message header (for a block of `length` bytes) at `offset` of `target`. */
export function writePieceHeader(target: Buffer, offset: number, index: number, begin: number, length: number): void {
  target.writeUInt32BE(9 + length, offset)
  target[offset + 4] = MSG_PIECE
  target.writeUInt32BE(index, offset + 5)
  target.writeUInt32BE(begin, offset + 9)
}

export function extendedMessage(id: number, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(6 + payload.length)
  b.writeUInt32BE(2 + payload.length, 0)
  b[4] = MSG_EXTENDED
  b[5] = id
  payload.copy(b, 6)
  return b
}
