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
 * The ST_RESETs that end the connection of the peer whose receive id is `connectionId`. `ack`:
 * the peer's latest sequence number we have (libtorrent ignores a reset acking what it has not
 * sent, or far behind what it had acked). `seq`: our latest one the peer acked, or null when it
 * has acked none yet (it has sent only its SYN). libtorrent drops any packet whose seq_nr is more
 * than its reorder window (16 or more) ahead of the last one it has from us, a reset too; what is
 * behind passes. Without `seq` there are two, half the sequence space apart: whatever libtorrent
 * holds, one of them is not ahead of it. libutp takes a reset by its connection id alone (the
 * second one must come once it has freed the connection: utp.ts), and neither answers a reset it
 * ignores or one for a connection it no longer has.
 */
export function utpResets(connectionId: number, seq: number | null, ack: number): Buffer[] {
  return (seq === null ? [0, 0x8000] : [seq]).map((s) => {
    const b = Buffer.alloc(UTP_HEADER_BYTES)
    b[0] = (UTP_RESET << 4) | 1
    b.writeUInt16BE(connectionId & 0xffff, 2)
    b.writeUInt16BE(s & 0xffff, 16)
    b.writeUInt16BE(ack & 0xffff, 18)
    return b
  })
}
