// UDP tracker protocol (BEP 15), both sides, no sockets: the server's request parsing and reply
// writing, and the seeder's client requests and reply reading.
//
// Which bad packets get an answer: parseUdpRequest sets `transactionId` on the thrown
// TrackerProtocolError only when the packet has a full 16-byte header with a known action
// (and, for connect, the protocol magic). Everything else is noise or a probe: drop it, so the
// tracker can't be used to reflect traffic at a spoofed address. Note the server must still check
// the connection ID (ConnectionIds) before answering an announce/scrape, even with an error.
import { compactPeerList } from '../address.ts'
import { TrackerProtocolError, TrackerReplyError } from '../errors.ts'
import { DEFAULT_NUMWANT, type AnnounceEvent, type AnnounceParams, type AnnounceReply } from './announce.ts'

const PROTOCOL_ID = 0x41727101980n // connect magic, bytes 0-7 of a connect request
export const ACTION_CONNECT = 0
export const ACTION_ANNOUNCE = 1
export const ACTION_SCRAPE = 2
export const ACTION_ERROR = 3
const CONNECT_REQUEST_LENGTH = 16
const ANNOUNCE_REQUEST_LENGTH = 98 // BEP 41 options may follow; ignored
// 16 + 74 * 20 + 28 (IPv4+UDP headers) = 1524 bytes: about the most that fits a 1500-byte MTU,
// and the reply (8 + 74 * 12 bytes) stays small too.
export const MAX_SCRAPE_HASHES = 74

// BEP 15 event codes, by index. It has none for BEP 21's `paused`: a client sends 0 (none).
const EVENTS: readonly AnnounceEvent[] = ['update', 'completed', 'started', 'stopped']
const EVENT_CODES: Record<AnnounceEvent, number> = { update: 0, completed: 1, started: 2, stopped: 3, paused: 0 }

interface UdpConnectRequest {
  action: 'connect'
  transactionId: number
}

interface UdpAnnounceRequest {
  action: 'announce'
  connectionId: Buffer // 8 bytes, a copy
  transactionId: number
  infoHash: string // 40 lowercase hex
  peerId: Buffer // 20 bytes, a copy
  downloaded: number
  left: number
  uploaded: number
  event: AnnounceEvent
  ip: number // uint32 as sent; never trusted, the source address is used
  key: number // uint32
  numwant: number // -1 (or any negative) -> DEFAULT_NUMWANT; not capped here
  port: number
}

interface UdpScrapeRequest {
  action: 'scrape'
  connectionId: Buffer
  transactionId: number
  infoHashes: string[] // 1..MAX_SCRAPE_HASHES, in request order (duplicates kept: the reply is positional)
}

export type UdpRequest = UdpConnectRequest | UdpAnnounceRequest | UdpScrapeRequest

const TWO_32 = 2 ** 32

// Unsigned 64-bit big-endian as a number, clamped to MAX_SAFE_INTEGER (a "left" of 2^64-1, which
// some clients send for "unknown", becomes a large leecher value instead of losing precision).
function readU64(msg: Buffer, off: number): number {
  const hi = msg.readUInt32BE(off)
  if (hi >= 0x200000) return Number.MAX_SAFE_INTEGER
  return hi * TWO_32 + msg.readUInt32BE(off + 4)
}

// Copies out of `msg` (into Node's buffer pool, cheap): fine for per-request use; anything kept
// long-term should be copied again or converted, or it pins an 8 KiB pool chunk.
const copy = (msg: Buffer, start: number, end: number): Buffer => {
  const b = Buffer.allocUnsafe(end - start)
  msg.copy(b, 0, start, end)
  return b
}

export function parseUdpRequest(msg: Buffer): UdpRequest {
  if (msg.length < 16) throw new TrackerProtocolError('short_packet', 'packet too short')
  const action = msg.readUInt32BE(8)
  const transactionId = msg.readUInt32BE(12)
  const bad = (code: string, message: string): never => {
    throw new TrackerProtocolError(code, message, transactionId)
  }

  if (action === ACTION_CONNECT) {
    if (msg.readBigUInt64BE(0) !== PROTOCOL_ID) {
      throw new TrackerProtocolError('invalid_protocol_id', 'invalid protocol id')
    }
    return { action: 'connect', transactionId }
  }

  if (action === ACTION_ANNOUNCE) {
    if (msg.length < ANNOUNCE_REQUEST_LENGTH) bad('short_packet', 'announce packet too short')
    const event = EVENTS[msg.readUInt32BE(80)]
    if (event === undefined) bad('invalid_event', 'invalid event')
    const port = msg.readUInt16BE(96)
    if (port === 0) bad('invalid_port', 'invalid port')
    const numwant = msg.readInt32BE(92)
    return {
      action: 'announce',
      connectionId: copy(msg, 0, 8),
      transactionId,
      infoHash: msg.toString('hex', 16, 36),
      peerId: copy(msg, 36, 56),
      downloaded: readU64(msg, 56),
      left: readU64(msg, 64),
      uploaded: readU64(msg, 72),
      event: event!,
      ip: msg.readUInt32BE(84),
      key: msg.readUInt32BE(88),
      numwant: numwant < 0 ? DEFAULT_NUMWANT : numwant,
      port,
    }
  }

  if (action === ACTION_SCRAPE) {
    const bytes = msg.length - 16
    if (bytes < 20 || bytes % 20 !== 0) bad('invalid_scrape_length', 'scrape packet must carry whole infohashes')
    const n = bytes / 20
    if (n > MAX_SCRAPE_HASHES) bad('too_many_info_hashes', `too many info_hash (max ${MAX_SCRAPE_HASHES})`)
    const infoHashes: string[] = new Array(n)
    for (let i = 0; i < n; i++) infoHashes[i] = msg.toString('hex', 16 + i * 20, 36 + i * 20)
    return { action: 'scrape', connectionId: copy(msg, 0, 8), transactionId, infoHashes }
  }

  // Unknown action (including 3, "error", which only trackers send): not ours to answer.
  throw new TrackerProtocolError('invalid_action', 'invalid action')
}

// Counts go out as 32-bit fields; clamp rather than throw on absurd values.
const u32 = (n: number): number => (n > 0xffffffff ? 0xffffffff : n > 0 ? Math.floor(n) : 0)

export function connectReply(transactionId: number, connectionId: Buffer): Buffer {
  if (connectionId.length !== 8) throw new RangeError('connection id must be 8 bytes')
  const out = Buffer.allocUnsafe(16)
  out.writeUInt32BE(ACTION_CONNECT, 0)
  out.writeUInt32BE(transactionId >>> 0, 4)
  connectionId.copy(out, 8)
  return out
}

// `peers`: 6-byte entries for a request that came over IPv4, 18-byte entries over IPv6 (BEP 15:
// the address family of the reply follows the socket's).
export function announceReply(
  transactionId: number,
  interval: number,
  leechers: number,
  seeders: number,
  peers: Buffer,
): Buffer {
  const out = Buffer.allocUnsafe(20 + peers.length)
  out.writeUInt32BE(ACTION_ANNOUNCE, 0)
  out.writeUInt32BE(transactionId >>> 0, 4)
  out.writeUInt32BE(u32(interval), 8)
  out.writeUInt32BE(u32(leechers), 12)
  out.writeUInt32BE(u32(seeders), 16)
  peers.copy(out, 20)
  return out
}

// One 12-byte entry per requested infohash, in request order: seeders, completed, leechers.
export function scrapeReply(
  transactionId: number,
  entries: { complete: number; downloaded: number; incomplete: number }[],
): Buffer {
  const out = Buffer.allocUnsafe(8 + entries.length * 12)
  out.writeUInt32BE(ACTION_SCRAPE, 0)
  out.writeUInt32BE(transactionId >>> 0, 4)
  let off = 8
  for (const e of entries) {
    out.writeUInt32BE(u32(e.complete), off)
    out.writeUInt32BE(u32(e.downloaded), off + 4)
    out.writeUInt32BE(u32(e.incomplete), off + 8)
    off += 12
  }
  return out
}

export function errorReply(transactionId: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8')
  const out = Buffer.allocUnsafe(8 + text.length)
  out.writeUInt32BE(ACTION_ERROR, 0)
  out.writeUInt32BE(transactionId >>> 0, 4)
  text.copy(out, 8)
  return out
}

// ---- client side ------------------------------------------------------------------------------

export function udpConnectRequest(transactionId: number): Buffer {
  const b = Buffer.alloc(CONNECT_REQUEST_LENGTH)
  b.writeBigUInt64BE(PROTOCOL_ID, 0)
  b.writeUInt32BE(ACTION_CONNECT, 8)
  b.writeUInt32BE(transactionId >>> 0, 12)
  return b
}

// Two 32-bit halves instead of a BigInt: the bench's load generator builds 150k announces a second.
function u64(b: Buffer, n: number, off: number): void {
  const v = n > 0 ? Math.floor(n) : 0
  b.writeUInt32BE(Math.floor(v / 2 ** 32) >>> 0, off)
  b.writeUInt32BE(v >>> 0, off + 4)
}

export function udpAnnounceRequest(connectionId: Buffer, transactionId: number, p: AnnounceParams): Buffer {
  const b = Buffer.alloc(ANNOUNCE_REQUEST_LENGTH)
  connectionId.copy(b, 0, 0, 8)
  b.writeUInt32BE(ACTION_ANNOUNCE, 8)
  b.writeUInt32BE(transactionId >>> 0, 12)
  p.infoHash.copy(b, 16)
  p.peerId.copy(b, 36)
  u64(b, p.downloaded, 56)
  u64(b, p.left, 64)
  u64(b, p.uploaded, 72)
  b.writeUInt32BE(EVENT_CODES[p.event], 80)
  b.writeUInt32BE(0, 84) // ip: the source address
  b.writeUInt32BE(p.key >>> 0, 88)
  b.writeInt32BE(p.numwant, 92)
  b.writeUInt16BE(p.port, 96)
  return b
}

export function udpScrapeRequest(connectionId: Buffer, transactionId: number, infoHashes: Buffer[]): Buffer {
  const b = Buffer.alloc(16 + 20 * infoHashes.length)
  connectionId.copy(b, 0, 0, 8)
  b.writeUInt32BE(ACTION_SCRAPE, 8)
  b.writeUInt32BE(transactionId >>> 0, 12)
  infoHashes.forEach((h, i) => h.copy(b, 16 + 20 * i))
  return b
}

/** Transaction id and action of a tracker's UDP reply, or null if it is too short to be one. */
export function udpReplyHeader(msg: Buffer): { action: number; transactionId: number } | null {
  if (msg.length < 8) return null
  return { action: msg.readUInt32BE(0), transactionId: msg.readUInt32BE(4) }
}

export function parseUdpConnectReply(msg: Buffer): Buffer {
  if (msg.length >= 8 && msg.readUInt32BE(0) === ACTION_ERROR) throw new TrackerReplyError(msg.toString('utf8', 8))
  if (msg.length < 16) throw new TrackerReplyError('connect reply too short')
  if (msg.readUInt32BE(0) !== ACTION_CONNECT) throw new TrackerReplyError('not a connect reply')
  return Buffer.from(msg.subarray(8, 16))
}

/** `family`: of the socket the reply came over (BEP 15: IPv6 replies carry 18-byte peers). */
export function parseUdpAnnounceReply(msg: Buffer, family: 4 | 6): AnnounceReply {
  if (msg.length >= 8 && msg.readUInt32BE(0) === ACTION_ERROR) return { ok: false, failure: msg.toString('utf8', 8) }
  if (msg.length < 20 || msg.readUInt32BE(0) !== ACTION_ANNOUNCE) throw new TrackerReplyError('not an announce reply')
  return {
    ok: true,
    intervalSec: msg.readUInt32BE(8),
    leechers: msg.readUInt32BE(12),
    seeders: msg.readUInt32BE(16),
    peers: compactPeerList(msg.subarray(20), family),
  }
}
