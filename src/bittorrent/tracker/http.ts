// HTTP tracker protocol, both sides. The server's: announce/scrape query parsing (BEP 3, BEP 7
// fields ignored, BEP 48 multi-scrape).
//
// Input is the raw query string after '?', as Node hands it over (the request line decoded as
// latin1, so a raw byte 0x80-0xFF arrives as one char of that code). Decoding rule, applied to
// every value: '%XX' is one byte; any other char is its own byte (code <= 0xFF). In particular
// '+' is a literal 0x2B, not a space: that is form encoding, which is for text, not binary
// fields. Real clients never depend on either reading: libtorrent, Transmission, aria2c and
// bittorrent-tracker's client percent-encode every byte of info_hash/peer_id outside
// [A-Za-z0-9-._~] (libtorrent also leaves !*() as is, which decode the same either way).
//
// Hand-written scanner: native indexOf to find '&' and '=', charCodeAt for values, no
// URLSearchParams/regex, and one shared scratch buffer, since this runs on every announce.
//
// Also the client side, for the seeder: announce URLs and reading bencoded replies (BEP 23
// compact peers, BEP 7 peers6), from any tracker, ours or not.
import { compactPeerList } from '../address.ts'
import { decode, isDict, type BValue } from '../bencode.ts'
import { TrackerProtocolError, TrackerReplyError } from '../errors.ts'
import {
  DEFAULT_NUMWANT,
  type AnnounceEvent,
  type AnnounceParams,
  type AnnounceReply,
  type PeerAddress,
} from './announce.ts'

export interface AnnounceRequest {
  infoHash: string // 40 lowercase hex
  peerId: Buffer // 20 bytes, a slice of Node's buffer pool: copy it to keep it long-term
  port: number
  uploaded: number
  downloaded: number
  left: number
  event: AnnounceEvent
  numwant: number // as asked, not capped: the swarm store caps it
  compact: boolean
  noPeerId: boolean
  key?: string // latin1 text of the decoded bytes
}

const MAX_SCRAPE_HASHES = 100
const MAX_KEY_BYTES = 64
const MAX_SAFE = Number.MAX_SAFE_INTEGER

// Hex digit value per char code, -1 if not a hex digit.
const HEX = new Int8Array(128).fill(-1)
for (let c = 0; c < 10; c++) HEX[48 + c] = c
for (let c = 0; c < 6; c++) HEX[65 + c] = HEX[97 + c] = 10 + c

const scratch = Buffer.alloc(MAX_KEY_BYTES + 1) // +1: room to detect an over-long key. Not pooled: lives for the process

const fail = (field: string): never => {
  throw new TrackerProtocolError(`invalid_${field}`, `invalid ${field}`)
}

// Decodes query[start, end) into `scratch`; returns the byte count, or -1 if malformed or longer
// than `max` bytes.
function decodeBytes(q: string, start: number, end: number, max: number): number {
  let n = 0
  for (let i = start; i < end; i++) {
    if (n === max) return -1
    let c = q.charCodeAt(i)
    if (c === 37) {
      // '%XX'
      if (i + 2 >= end) return -1
      const h = q.charCodeAt(i + 1)
      const l = q.charCodeAt(i + 2)
      const hv = h < 128 ? HEX[h]! : -1
      const lv = l < 128 ? HEX[l]! : -1
      if (hv < 0 || lv < 0) return -1
      c = (hv << 4) | lv
      i += 2
    } else if (c > 255) {
      return -1
    }
    scratch[n++] = c
  }
  return n
}

// Decodes a 20-byte binary value (info_hash, peer_id) into scratch[0, 20); false if not 20 bytes.
const decode20 = (q: string, start: number, end: number): boolean => decodeBytes(q, start, end, 20) === 20

// Non-negative decimal integer <= MAX_SAFE_INTEGER, digits only; -1 if not.
function parseUint(q: string, start: number, end: number): number {
  const len = end - start
  if (len === 0 || len > 16) return -1
  let v = 0
  for (let i = start; i < end; i++) {
    const d = q.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v <= MAX_SAFE ? v : -1
}

// Is query[start, end) exactly `s`? A plain loop: startsWith(s, position) isn't inlined by the
// JIT and was the single hottest line of the parser.
function is(q: string, start: number, end: number, s: string): boolean {
  if (end - start !== s.length) return false
  for (let i = 0; i < s.length; i++) if (q.charCodeAt(start + i) !== s.charCodeAt(i)) return false
  return true
}

function parseEvent(q: string, start: number, end: number): AnnounceEvent {
  switch (end - start) {
    case 0:
      return 'update'
    case 5: // BEP 3: "empty" is the same as not present; some clients send it literally
      if (is(q, start, end, 'empty')) return 'update'
      break
    case 6:
      if (is(q, start, end, 'paused')) return 'paused' // BEP 21
      break
    case 7:
      if (is(q, start, end, 'started')) return 'started'
      if (is(q, start, end, 'stopped')) return 'stopped'
      break
    case 9:
      if (is(q, start, end, 'completed')) return 'completed'
      break
  }
  return fail('event')
}

// Walks `name=value` pairs separated by '&'; calls `visit(nameStart, nameEnd, valueStart, valueEnd)`.
// A pair without '=' has an empty value. Linear: the '=' found past the current '&' is reused.
function forEachPair(q: string, visit: (ns: number, ne: number, vs: number, ve: number) => void): void {
  const n = q.length
  let i = 0
  let eq = -2
  while (i < n) {
    let amp = q.indexOf('&', i)
    if (amp < 0) amp = n
    if (eq < i && eq !== -1) eq = q.indexOf('=', i)
    if (eq >= 0 && eq < amp) visit(i, eq, eq + 1, amp)
    else if (amp > i) visit(i, amp, amp, amp)
    i = amp + 1
  }
}

export function parseAnnounceQuery(query: string): AnnounceRequest {
  let infoHash = ''
  let peerId: Buffer | undefined
  let port = -1
  let uploaded = 0
  let downloaded = 0
  let left = -1
  let event: AnnounceEvent = 'update'
  let numwant = DEFAULT_NUMWANT
  let compact = true
  let noPeerId = false
  let key: string | undefined

  // Unknown names (ip, ipv4, ipv6, trackerid, supportcrypto, corrupt, ...) are ignored: the peer's
  // address comes from the socket, never from the query. Repeated known names: the last wins,
  // except info_hash, which must be unambiguous.
  // The pair walk of forEachPair, inlined: a callback here would keep every field in a heap
  // context instead of registers (measured ~20% slower).
  const n = query.length
  let eq = -2
  for (let ns = 0, amp = 0; ns < n; ns = amp + 1) {
    amp = query.indexOf('&', ns)
    if (amp < 0) amp = n
    if (eq < ns && eq !== -1) eq = query.indexOf('=', ns)
    const ne = eq >= 0 && eq < amp ? eq : amp
    const vs = ne < amp ? ne + 1 : amp
    const ve = amp
    switch (ne - ns) {
      case 3:
        if (is(query, ns, ne, 'key')) {
          const len = decodeBytes(query, vs, ve, MAX_KEY_BYTES + 1)
          if (len < 0 || len > MAX_KEY_BYTES) fail('key')
          // Usually plain text (8 hex digits): then the slice is the value, no Buffer round trip.
          key = len === ve - vs ? query.slice(vs, ve) : scratch.toString('latin1', 0, len)
        }
        break
      case 4:
        if (is(query, ns, ne, 'port')) {
          port = parseUint(query, vs, ve)
          if (port < 1 || port > 65535) fail('port')
        } else if (is(query, ns, ne, 'left')) {
          if ((left = parseUint(query, vs, ve)) < 0) fail('left')
        }
        break
      case 5:
        if (is(query, ns, ne, 'event')) event = parseEvent(query, vs, ve)
        break
      case 7:
        if (is(query, ns, ne, 'peer_id')) {
          if (!decode20(query, vs, ve)) fail('peer_id')
          peerId = Buffer.allocUnsafe(20)
          scratch.copy(peerId, 0, 0, 20)
        } else if (is(query, ns, ne, 'numwant')) {
          // Negative (e.g. -1, as in UDP) or empty means "the default", not an error.
          const neg = vs < ve && query.charCodeAt(vs) === 45
          const v = vs === ve ? DEFAULT_NUMWANT : parseUint(query, neg ? vs + 1 : vs, ve)
          if (v < 0) fail('numwant')
          numwant = neg ? DEFAULT_NUMWANT : v
        } else if (is(query, ns, ne, 'compact')) {
          if (is(query, vs, ve, '1')) compact = true
          else if (is(query, vs, ve, '0')) compact = false
          else fail('compact')
        }
        break
      case 8:
        if (is(query, ns, ne, 'uploaded') && (uploaded = parseUint(query, vs, ve)) < 0) fail('uploaded')
        break
      case 9:
        if (is(query, ns, ne, 'info_hash')) {
          if (infoHash !== '') throw new TrackerProtocolError('duplicate_info_hash', 'duplicate info_hash')
          if (!decode20(query, vs, ve)) fail('info_hash')
          infoHash = scratch.toString('hex', 0, 20)
        }
        break
      case 10:
        if (is(query, ns, ne, 'downloaded')) {
          if ((downloaded = parseUint(query, vs, ve)) < 0) fail('downloaded')
        } else if (is(query, ns, ne, 'no_peer_id')) {
          noPeerId = !is(query, vs, ve, '0')
        }
        break
    }
  }

  if (infoHash === '') fail('info_hash')
  if (peerId === undefined) fail('peer_id')
  if (port < 0) fail('port')
  // BEP 3 requires `left`; guessing would misfile the peer as seeder or leecher.
  if (left < 0) fail('left')
  const req: AnnounceRequest = {
    infoHash,
    peerId: peerId!,
    port,
    uploaded,
    downloaded,
    left,
    event,
    numwant,
    compact,
    noPeerId,
  }
  if (key !== undefined) req.key = key
  return req
}

// BEP 48: zero or more info_hash params; zero means "everything", which the server may refuse.
// Returns distinct hex infohashes in first-seen order (the reply is a dict, keys can't repeat).
export function parseScrapeQuery(query: string): string[] {
  const out: string[] = []
  let seen = 0
  forEachPair(query, (ns, ne, vs, ve) => {
    if (!is(query, ns, ne, 'info_hash')) return
    if (++seen > MAX_SCRAPE_HASHES) {
      throw new TrackerProtocolError('too_many_info_hashes', `too many info_hash (max ${MAX_SCRAPE_HASHES})`)
    }
    if (!decode20(query, vs, ve)) fail('info_hash')
    const hex = scratch.toString('hex', 0, 20)
    if (!out.includes(hex)) out.push(hex)
  })
  return out
}

// ---- client side ------------------------------------------------------------------------------

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

export function parseHttpAnnounceReply(body: Buffer): AnnounceReply {
  let value: BValue
  try {
    value = decode(body)
  } catch (err) {
    throw new TrackerReplyError(`not a bencoded reply: ${(err as Error).message}`)
  }
  if (!isDict(value)) throw new TrackerReplyError('reply is not a dictionary')
  const failure = value['failure reason']
  if (Buffer.isBuffer(failure)) return { ok: false, failure: failure.toString('utf8') }
  const interval = num(value.interval)
  if (interval === undefined || interval < 0) throw new TrackerReplyError('reply without interval')
  const peers: PeerAddress[] = []
  const p4 = value.peers
  if (Buffer.isBuffer(p4)) peers.push(...compactPeerList(p4, 4))
  else if (Array.isArray(p4)) {
    // Non-compact list, from trackers that ignore compact=1.
    for (const entry of p4) {
      if (!isDict(entry)) continue
      const ip = entry.ip
      const port = num(entry.port)
      if (Buffer.isBuffer(ip) && port && port > 0 && port < 65536) peers.push({ ip: ip.toString('latin1'), port })
    }
  }
  const p6 = value.peers6
  if (Buffer.isBuffer(p6)) peers.push(...compactPeerList(p6, 6))
  const reply: AnnounceReply = { ok: true, intervalSec: interval, peers }
  const min = num(value['min interval'])
  if (min !== undefined && min >= 0) reply.minIntervalSec = min
  const complete = num(value.complete)
  const incomplete = num(value.incomplete)
  if (complete !== undefined) reply.seeders = complete
  if (incomplete !== undefined) reply.leechers = incomplete
  return reply
}
