// Magnet links (BEP 9): xt (btih, and BEP 52's btmh for v2)/dn/xl/tr plus BEP 19 `ws` web seeds, which let a
// magnet-only client fetch from our HTTP server before any peer exists. Only written here: the
// site never reads a magnet; the tests read ours with the `magnet-uri` package, as WebTorrent
// clients do. Written by hand because magnet-uri's encoder writes spaces in `dn` as '+' and its
// decoder turns every '+' (also a %2B) into a space, so a name with '+' would not survive it;
// encodeURIComponent throughout keeps every name intact for every other client.
import { TorrentError } from './errors.ts'

export interface MagnetParams {
  /** v1 infohash (40 hex); left out for a v2-only torrent. */
  infoHash?: string
  /** BEP 52: the full SHA-256 infohash (64 hex) of a v2 or hybrid torrent, written as a multihash. */
  infoHashV2?: string
  name: string
  length: number
  trackers: string[]
  webSeeds: string[]
}

const HEX_HASH = /^[0-9a-fA-F]{40}$/
const HEX_HASH_V2 = /^[0-9a-fA-F]{64}$/
const SHA256_MULTIHASH = '1220' // multihash: code 0x12 (sha2-256), 0x20 bytes

function bad(message: string): never {
  throw new TorrentError('bad_magnet', message)
}

export function buildMagnet(p: MagnetParams): string {
  if (p.infoHash === undefined && p.infoHashV2 === undefined) bad('a magnet needs infoHash or infoHashV2')
  if (p.infoHash !== undefined && !HEX_HASH.test(p.infoHash)) bad(`infoHash must be 40 hex chars, got ${p.infoHash}`)
  if (p.infoHashV2 !== undefined && !HEX_HASH_V2.test(p.infoHashV2))
    bad(`infoHashV2 must be 64 hex chars, got ${p.infoHashV2}`)
  if (!Number.isSafeInteger(p.length) || p.length < 0) bad(`length must be a non-negative integer, got ${p.length}`)
  const parts = [
    ...(p.infoHash === undefined ? [] : [`xt=urn:btih:${p.infoHash.toLowerCase()}`]),
    ...(p.infoHashV2 === undefined ? [] : [`xt=urn:btmh:${SHA256_MULTIHASH}${p.infoHashV2.toLowerCase()}`]),
    `dn=${encodeURIComponent(p.name)}`,
    `xl=${p.length}`,
    ...p.trackers.map((t) => `tr=${encodeURIComponent(t)}`),
    ...p.webSeeds.map((w) => `ws=${encodeURIComponent(w)}`),
  ]
  return `magnet:?${parts.join('&')}`
}
