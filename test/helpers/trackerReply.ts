// Reading tracker replies in tests: the core's strict bencode reader (not the server's hand-written
// reply writer) in canonical mode, so unsorted or repeated keys, leading zeros, "-0" and trailing
// bytes all fail. Dict keys are latin1 strings (the `bencode` package would decode them as UTF-8,
// mangling a scrape's raw 20-byte infohash keys).
import { compactPeerList } from '../../src/bittorrent/address.ts'
import { decodeDict, type BDict, type BValue } from '../../src/bittorrent/bencode.ts'

export { isDict, type BDict, type BValue } from '../../src/bittorrent/bencode.ts'

/** Decodes a reply and requires a canonical dict. */
export const bdecodeDict = (input: Uint8Array): BDict => decodeDict(input, { canonical: true })

/** The failure reason of a tracker reply as text, or undefined when there is none. */
export function failureOf(reply: BDict): string | undefined {
  const f = reply['failure reason']
  return Buffer.isBuffer(f) ? f.toString('utf8') : undefined
}

/** Compact IPv4 (6-byte) or IPv6 (18-byte) peer entries, in whole entries only; IPv6 as RFC 5952. */
export function compactPeers(v: BValue | undefined, entry: 6 | 18): { ip: string; port: number }[] {
  if (v === undefined) return []
  if (!Buffer.isBuffer(v) || v.length % entry !== 0) throw new Error(`compact peers not a multiple of ${entry} bytes`)
  return compactPeerList(v, entry === 6 ? 4 : 6)
}
