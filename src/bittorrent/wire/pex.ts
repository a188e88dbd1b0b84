// BEP 11 peer exchange: the ut_pex extended message (payload after the extended message id byte).
// A bencoded dict of compact peer lists: `added` / `added6` (with one flag byte per peer in
// `added.f` / `added6.f`) and `dropped` / `dropped6`. By the convention BEP 11 points to (the
// Azureus and uTorrent one), a message carries at most 50 added and 50 dropped peers, IPv4 and
// IPv6 together, and a peer sends at most one a minute. Pure: bytes in, values out.
import { encode, isDict, type BValue } from '../bencode.ts'
import { compactAddress, compactPeerList, normalizeAddress } from '../address.ts'
import { WireError } from '../errors.ts'
import { decodePeerBencode } from './extended.ts'

/** The id under which we accept ut_pex messages (our extension handshake's `m`). */
export const OUR_UT_PEX_ID = 2
/** Added peers, and dropped peers, one message may carry (IPv4 and IPv6 together). */
export const PEX_MAX_PEERS = 50
/** A peer should send at most one ut_pex message in this time. */
export const PEX_INTERVAL_MS = 60_000
/** Larger payloads are refused unread: 50 + 50 IPv6 peers with flags take under 2 KiB. */
export const PEX_MAX_PAYLOAD = 8 * 1024

/** BEP 11 flag bits of an added peer (0x01, prefers encryption, we neither send nor read). */
export const PEX_SEED = 0x02
export const PEX_UTP = 0x04
export const PEX_REACHABLE = 0x10

interface PexPeer {
  ip: string
  port: number
  /** BEP 11 flags (PEX_*); 0 when the sender gave none. */
  flags: number
}

export interface PexMessage {
  added: PexPeer[]
  dropped: { ip: string; port: number }[]
}

/**
 * The payload of a ut_pex message. More than PEX_MAX_PEERS added or dropped peers is a caller's
 * bug (RangeError); addresses that are not IP addresses or have port 0 are left out.
 */
export function buildPexMessage(m: PexMessage): Buffer {
  if (m.added.length > PEX_MAX_PEERS || m.dropped.length > PEX_MAX_PEERS)
    throw new RangeError(`a ut_pex message carries at most ${PEX_MAX_PEERS} added and ${PEX_MAX_PEERS} dropped peers`)
  const added4: string[] = []
  const flags4: number[] = []
  const added6: string[] = []
  const flags6: number[] = []
  for (const p of m.added) {
    const c = p.port > 0 && p.port < 65536 ? compactAddress(p.ip, p.port) : null
    if (c === null) continue
    if (c.length === 6) {
      added4.push(c)
      flags4.push(p.flags & 0xff)
    } else {
      added6.push(c)
      flags6.push(p.flags & 0xff)
    }
  }
  const dropped4: string[] = []
  const dropped6: string[] = []
  for (const p of m.dropped) {
    const c = p.port > 0 && p.port < 65536 ? compactAddress(p.ip, p.port) : null
    if (c !== null) (c.length === 6 ? dropped4 : dropped6).push(c)
  }
  const bytes = (list: string[]) => Buffer.from(list.join(''), 'latin1')
  const dict: Record<string, BValue> = {
    added: bytes(added4),
    'added.f': Buffer.from(flags4),
    dropped: bytes(dropped4),
  }
  // IPv6 lists only when there is something in them (most peers have none).
  if (added6.length > 0) {
    dict.added6 = bytes(added6)
    dict['added6.f'] = Buffer.from(flags6)
  }
  if (dropped6.length > 0) dict.dropped6 = bytes(dropped6)
  return encode(dict)
}

/**
 * A peer's ut_pex payload. Hostile input: a payload over PEX_MAX_PAYLOAD or not a bencoded dict is
 * a WireError; lists that are not strings count as empty; at most `maxPeers` added and `maxPeers`
 * dropped are read (the rest ignored), entries with port 0 dropped, IPv4-mapped IPv6 read as IPv4.
 */
export function parsePexMessage(payload: Buffer, maxPeers = PEX_MAX_PEERS): PexMessage {
  if (payload.length > PEX_MAX_PAYLOAD)
    throw new WireError('bad_pex', `ut_pex message of ${payload.length} bytes (at most ${PEX_MAX_PAYLOAD})`)
  const { value } = decodePeerBencode(payload)
  if (!isDict(value)) throw new WireError('bad_pex', 'ut_pex message is not a dict')
  const buf = (v: BValue | undefined): Buffer => (Buffer.isBuffer(v) ? v : Buffer.alloc(0))
  const added: PexPeer[] = []
  const take = (list: Buffer, flags: Buffer, family: 4 | 6) => {
    const size = family === 4 ? 6 : 18
    for (let i = 0; i * size + size <= list.length && added.length < maxPeers; i++) {
      const [p] = compactPeerList(list.subarray(i * size, (i + 1) * size), family)
      if (p) added.push({ ip: normalizeAddress(p.ip), port: p.port, flags: flags[i] ?? 0 })
    }
  }
  take(buf(value.added), buf(value['added.f']), 4)
  take(buf(value.added6), buf(value['added6.f']), 6)
  const dropped = [...compactPeerList(buf(value.dropped), 4), ...compactPeerList(buf(value.dropped6), 6)]
    .slice(0, maxPeers)
    .map((p) => ({ ip: normalizeAddress(p.ip), port: p.port }))
  return { added, dropped }
}
