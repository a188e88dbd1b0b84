// BEP 3 handshake: <19>"BitTorrent protocol"<8 reserved bytes><20-byte infohash><20-byte peer id>.
// Reserved bits we use: BEP 10 extension protocol (reserved[5] & 0x10), BEP 6 fast extension
// (reserved[7] & 0x04), BEP 52 v2 support (reserved[7] & 0x10).
import { WireError } from '../errors.ts'

export const PROTOCOL = Buffer.from('\x13BitTorrent protocol', 'latin1') // length byte included
export const HANDSHAKE_LENGTH = 68

export interface Handshake {
  infoHash: Buffer // 20 bytes
  peerId: Buffer // 20 bytes
  extended: boolean
  fast: boolean
  /** BEP 52: the peer speaks v2 (hash request/hashes/hash reject). */
  v2?: boolean
}

export function buildHandshake(h: Handshake): Buffer {
  if (h.infoHash.length !== 20 || h.peerId.length !== 20) throw new RangeError('infohash and peer id must be 20 bytes')
  const out = Buffer.alloc(HANDSHAKE_LENGTH)
  PROTOCOL.copy(out, 0)
  if (h.extended) out[20 + 5]! |= 0x10
  if (h.fast) out[20 + 7]! |= 0x04
  if (h.v2) out[20 + 7]! |= 0x10
  h.infoHash.copy(out, 28)
  h.peerId.copy(out, 48)
  return out
}

/**
 * Checks as much of the protocol string as has arrived, so a peer speaking something else (an
 * encrypted MSE handshake, HTTP, noise) is refused after its first bytes, not after 68.
 */
export function checkHandshakeStart(buf: Buffer): void {
  const n = Math.min(buf.length, PROTOCOL.length)
  for (let i = 0; i < n; i++) {
    if (buf[i] !== PROTOCOL[i]) throw new WireError('bad_handshake', 'not a BitTorrent handshake')
  }
}

/** Parses a complete 68-byte handshake (copies out the hashes: `buf` may be a pooled chunk). */
export function parseHandshake(buf: Buffer): Handshake {
  if (buf.length < HANDSHAKE_LENGTH) throw new WireError('short_handshake', 'handshake too short')
  checkHandshakeStart(buf)
  return {
    infoHash: Buffer.from(buf.subarray(28, 48)),
    peerId: Buffer.from(buf.subarray(48, 68)),
    extended: (buf[25]! & 0x10) !== 0,
    fast: (buf[27]! & 0x04) !== 0,
    v2: (buf[27]! & 0x10) !== 0,
  }
}
