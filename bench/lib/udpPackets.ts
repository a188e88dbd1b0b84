// BEP 15 (UDP tracker) requests the benchmarks send, built in one place. Kept fast: the UDP load
// generator builds every announce it sends (80k+/s) with announceRequest.
export const PROTOCOL_ID = 0x41727101980n
export const ACTION_CONNECT = 0
export const ACTION_ANNOUNCE = 1
export const ACTION_ERROR = 3

export function connectRequest(tx: number): Buffer {
  const b = Buffer.alloc(16)
  b.writeBigUInt64BE(PROTOCOL_ID, 0)
  b.writeUInt32BE(ACTION_CONNECT, 8)
  b.writeUInt32BE(tx, 12)
  return b
}

export interface AnnounceFields {
  /** Bytes left (below 2^53). Default 0. */
  left?: number
  /** Default -1 (the tracker's default). */
  numwant?: number
  key?: number
  /** 0 none, 1 completed, 2 started, 3 stopped. */
  event?: number
}

const ZEROS = Buffer.alloc(98)

/**
 * A 98-byte announce; downloaded, uploaded and ip are 0. A fresh buffer each time (dgram may
 * still hold the last one), cleared by a copy, which is cheaper than Buffer.alloc.
 */
export function announceRequest(connId: Uint8Array, tx: number, infoHash: Uint8Array, peerId: Uint8Array, port: number, f: AnnounceFields = {}): Buffer {
  const b = Buffer.allocUnsafe(98)
  ZEROS.copy(b, 0)
  b.set(connId, 0)
  b.writeUInt32BE(ACTION_ANNOUNCE, 8)
  b.writeUInt32BE(tx, 12)
  b.set(infoHash, 16)
  b.set(peerId, 36)
  const left = f.left ?? 0
  b.writeUInt32BE(Math.floor(left / 2 ** 32), 64)
  b.writeUInt32BE(left >>> 0, 68)
  b.writeUInt32BE(f.event ?? 0, 80)
  b.writeUInt32BE((f.key ?? 0) >>> 0, 88)
  b.writeInt32BE(f.numwant ?? -1, 92)
  b.writeUInt16BE(port, 96)
  return b
}
