// Bencoded HTTP tracker replies, written by hand: the shape is fixed, so the bytes are laid out
// directly into one Buffer (no generic encoder walking objects, no per-key sorting at run time).
// Dict keys are emitted in the raw-byte order bencode requires; the order is fixed in the code.
// The one place the core does not encode through the `bencode` package (../bencode.ts encode):
// every HTTP announce is answered here, and bench:tracker measures this path; the package would
// build an object per reply, sort its keys and concatenate a Uint8Array per value.
import { TrackerProtocolError } from '../errors.ts'

interface NonCompactPeer {
  ip: string
  port: number
  peerId?: Buffer // omitted when the client sent no_peer_id
}

export interface AnnounceReplyInput {
  interval: number
  minInterval?: number
  complete: number
  incomplete: number
  downloaded?: number // completed downloads; BEP 48 puts it in scrape, many trackers also here
  peers4: Buffer // compact 6-byte entries
  peers6: Buffer // compact 18-byte entries (BEP 7); the key is left out when empty
  compact: boolean
  peerList?: NonCompactPeer[] // used instead of peers4/peers6 when !compact
  warning?: string
}

export interface ScrapeFile {
  infoHash: string // 40 hex
  complete: number
  downloaded: number
  incomplete: number
}

// Bencode integers must be integers: a float would print as "1.5" and corrupt the reply.
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new TypeError(`bencode integer expected, got ${n}`)
  return `i${n}e`
}

// Byte string header "len:" for a byte length.
const str = (byteLength: number): string => `${byteLength}:`

// Concatenates latin1 strings and buffers into one Buffer with a single allocation.
function join(parts: (string | Buffer)[]): Buffer {
  let len = 0
  for (const p of parts) len += p.length // latin1: one byte per char
  const out = Buffer.allocUnsafe(len)
  let off = 0
  for (const p of parts) off += typeof p === 'string' ? out.write(p, off, 'latin1') : p.copy(out, off)
  return out
}

// UTF-8 text as a latin1 string of its bytes, so it can go through join().
const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1')

export function announceReply(r: AnnounceReplyInput): Buffer {
  // Sorted keys: complete, downloaded, incomplete, interval, min interval, peers, peers6, warning message.
  let head = `d8:complete${int(r.complete)}`
  if (r.downloaded !== undefined) head += `10:downloaded${int(r.downloaded)}`
  head += `10:incomplete${int(r.incomplete)}8:interval${int(r.interval)}`
  if (r.minInterval !== undefined) head += `12:min interval${int(r.minInterval)}`
  const tail = r.warning === undefined ? 'e' : warning(r.warning)
  if (!r.compact) return join([head, '5:peers', peerList(r.peerList ?? []), tail])
  const parts: (string | Buffer)[] = [`${head}5:peers${str(r.peers4.length)}`, r.peers4]
  if (r.peers6.length > 0) parts.push(`6:peers6${str(r.peers6.length)}`, r.peers6)
  parts.push(tail)
  return join(parts)
}

function warning(text: string): string {
  const bytes = utf8(text)
  return `15:warning message${str(bytes.length)}${bytes}e`
}

// BEP 3 original form: a list of dicts with sorted keys 'ip', 'peer id', 'port'.
function peerList(peers: NonCompactPeer[]): Buffer {
  const parts: (string | Buffer)[] = ['l']
  for (const p of peers) {
    let s = `d2:ip${str(p.ip.length)}${p.ip}`
    if (p.peerId !== undefined) {
      parts.push(`${s}7:peer id${str(p.peerId.length)}`, p.peerId)
      s = ''
    }
    parts.push(`${s}4:port${int(p.port)}e`)
  }
  parts.push('e')
  return join(parts)
}

export function failureReply(reason: string): Buffer {
  const bytes = utf8(reason)
  return Buffer.from(`d14:failure reason${str(bytes.length)}${bytes}e`, 'latin1')
}

const HEX40 = /^[0-9a-f]{40}$/

// BEP 48. Keys of `files` are the 20 raw infohash bytes, sorted bytewise; lowercase hex sorts in
// the same order as the bytes it encodes, so sorting the hex strings is enough. Duplicates are
// written once (a dict can't repeat a key).
export function scrapeReply(files: ScrapeFile[]): Buffer {
  const sorted = files.slice().sort((a, b) => (a.infoHash < b.infoHash ? -1 : a.infoHash > b.infoHash ? 1 : 0))
  const parts: (string | Buffer)[] = ['d5:filesd']
  let prev = ''
  for (const f of sorted) {
    if (!HEX40.test(f.infoHash)) throw new TrackerProtocolError('invalid_info_hash', 'invalid info_hash')
    if (f.infoHash === prev) continue
    prev = f.infoHash
    parts.push(
      '20:',
      Buffer.from(f.infoHash, 'hex'),
      `d8:complete${int(f.complete)}10:downloaded${int(f.downloaded)}10:incomplete${int(f.incomplete)}e`,
    )
  }
  parts.push('ee')
  return join(parts)
}
