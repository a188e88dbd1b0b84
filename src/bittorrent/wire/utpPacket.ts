// uTP packet headers (BEP 29): reading the 20 bytes every packet starts with, and building the
// ST_RESET that ends a connection. Pure: bytes in, values out.

export const UTP_DATA = 0
export const UTP_STATE = 2
const UTP_RESET = 3
export const UTP_SYN = 4

export const UTP_HEADER_BYTES = 20

export interface UtpHeader {
  type: number
  connectionId: number
  seq: number
  ack: number
}

/** The header of a version-1 uTP packet, or null if `buf` does not start with one. */
export function readUtpHeader(buf: Uint8Array): UtpHeader | null {
  if (buf.length < UTP_HEADER_BYTES) return null
  const type = buf[0]! >> 4
  if ((buf[0]! & 0x0f) !== 1 || type > UTP_SYN) return null
  const v = new DataView(buf.buffer, buf.byteOffset, UTP_HEADER_BYTES)
  return { type, connectionId: v.getUint16(2), seq: v.getUint16(16), ack: v.getUint16(18) }
}

/** Whether `a` comes after `b` in 16-bit sequence space (the nearer way round). */
export function seqAfter(a: number, b: number): boolean {
  const d = (a - b) & 0xffff
  return d !== 0 && d < 0x8000
}

/**
 * An ST_RESET for the peer whose receive id is `connectionId`. `ack`: the peer's latest sequence
 * number we have (libtorrent ignores a reset acking what it has not sent, or far behind what we
 * acked); `seq`: at most our latest one it acked (it ignores what comes after a FIN it holds).
 */
export function utpReset(connectionId: number, seq: number, ack: number): Buffer {
  const b = Buffer.alloc(UTP_HEADER_BYTES)
  b[0] = (UTP_RESET << 4) | 1
  b.writeUInt16BE(connectionId & 0xffff, 2)
  b.writeUInt16BE(seq & 0xffff, 16)
  b.writeUInt16BE(ack & 0xffff, 18)
  return b
}
