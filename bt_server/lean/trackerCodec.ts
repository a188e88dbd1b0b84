// The client side of tracker announces, as bytes: HTTP query strings and bencoded replies
// (BEP 3, BEP 23 compact peers, BEP 7 peers6), and BEP 15 UDP packets (the layouts our own
// tracker parses in src/tracker/protocol/udp.ts). Pure: no sockets.
import { ACTION_ANNOUNCE, ACTION_CONNECT, ACTION_ERROR, PROTOCOL_ID } from '../../src/tracker/protocol/udp.ts'
import { decodeBencode, type BValue } from '../wire/bencode.ts'

export type AnnounceEvent = 'started' | 'stopped' | 'completed' | 'update'

export interface AnnounceParams {
  infoHash: Buffer // 20 bytes
  peerId: Buffer // 20 bytes
  port: number
  uploaded: number
  downloaded: number
  left: number
  event: AnnounceEvent
  numwant: number
  key: number // uint32
}

export interface PeerAddress { ip: string; port: number }

export type AnnounceReply =
  | { ok: true; intervalSec: number; minIntervalSec?: number; peers: PeerAddress[]; seeders?: number; leechers?: number }
  | { ok: false; failure: string }

export class TrackerReplyError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TrackerReplyError'
  }
}

// ---- HTTP ------------------------------------------------------------------------------------

// Unreserved characters stay as they are, every other byte is %XX (what the site tracker and
// every other tracker decode).
function percentBytes(b: Buffer): string {
  let s = ''
  for (const c of b) {
    const ch = String.fromCharCode(c)
    s += /[A-Za-z0-9\-._~]/.test(ch) ? ch : `%${c.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return s
}

/** The announce URL for `base` (which may already carry a query, e.g. a passkey). */
export function httpAnnounceUrl(base: string, p: AnnounceParams): string {
  const q = [
    `info_hash=${percentBytes(p.infoHash)}`,
    `peer_id=${percentBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${p.uploaded}`,
    `downloaded=${p.downloaded}`,
    `left=${p.left}`,
    'compact=1',
    `numwant=${p.numwant}`,
    `key=${(p.key >>> 0).toString(16).padStart(8, '0')}`,
  ]
  if (p.event !== 'update') q.push(`event=${p.event}`)
  return `${base}${base.includes('?') ? '&' : '?'}${q.join('&')}`
}

const num = (v: BValue | undefined): number | undefined => (typeof v === 'number' ? v : undefined)

export function parseCompactPeers(buf: Buffer, family: 4 | 6): PeerAddress[] {
  const size = family === 4 ? 6 : 18
  const out: PeerAddress[] = []
  for (let off = 0; off + size <= buf.length; off += size) {
    const port = buf.readUInt16BE(off + size - 2)
    if (port === 0) continue
    let ip: string
    if (family === 4) ip = `${buf[off]}.${buf[off + 1]}.${buf[off + 2]}.${buf[off + 3]}`
    else {
      const groups: string[] = []
      for (let i = 0; i < 16; i += 2) groups.push(buf.readUInt16BE(off + i).toString(16))
      ip = groups.join(':')
    }
    out.push({ ip, port })
  }
  return out
}

export function parseHttpAnnounceReply(body: Buffer): AnnounceReply {
  let value: BValue
  try {
    value = decodeBencode(body).value
  } catch (err) {
    throw new TrackerReplyError(`not a bencoded reply: ${(err as Error).message}`)
  }
  if (!(value instanceof Map)) throw new TrackerReplyError('reply is not a dictionary')
  const failure = value.get('failure reason')
  if (Buffer.isBuffer(failure)) return { ok: false, failure: failure.toString('utf8') }
  const interval = num(value.get('interval'))
  if (interval === undefined || interval < 0) throw new TrackerReplyError('reply without interval')
  const peers: PeerAddress[] = []
  const p4 = value.get('peers')
  if (Buffer.isBuffer(p4)) peers.push(...parseCompactPeers(p4, 4))
  else if (Array.isArray(p4)) {
    // Non-compact list, from trackers that ignore compact=1.
    for (const entry of p4) {
      if (!(entry instanceof Map)) continue
      const ip = entry.get('ip')
      const port = num(entry.get('port'))
      if (Buffer.isBuffer(ip) && port && port > 0 && port < 65536) peers.push({ ip: ip.toString('latin1'), port })
    }
  }
  const p6 = value.get('peers6')
  if (Buffer.isBuffer(p6)) peers.push(...parseCompactPeers(p6, 6))
  const reply: AnnounceReply = { ok: true, intervalSec: interval, peers }
  const min = num(value.get('min interval'))
  if (min !== undefined && min >= 0) reply.minIntervalSec = min
  const complete = num(value.get('complete'))
  const incomplete = num(value.get('incomplete'))
  if (complete !== undefined) reply.seeders = complete
  if (incomplete !== undefined) reply.leechers = incomplete
  return reply
}

// ---- UDP (BEP 15) ----------------------------------------------------------------------------

const EVENT_CODES: Record<AnnounceEvent, number> = { update: 0, completed: 1, started: 2, stopped: 3 }

export function udpConnectRequest(transactionId: number): Buffer {
  const b = Buffer.alloc(16)
  b.writeBigUInt64BE(PROTOCOL_ID, 0)
  b.writeUInt32BE(ACTION_CONNECT, 8)
  b.writeUInt32BE(transactionId >>> 0, 12)
  return b
}

function u64(b: Buffer, n: number, off: number): void {
  b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(n))), off)
}

export function udpAnnounceRequest(connectionId: Buffer, transactionId: number, p: AnnounceParams): Buffer {
  const b = Buffer.alloc(98)
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
    peers: parseCompactPeers(msg.subarray(20), family),
  }
}
