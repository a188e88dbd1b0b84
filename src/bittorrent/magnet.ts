// Magnet links (BEP 9): xt/dn/xl/tr plus BEP 19 `ws` web seeds, which let a
// magnet-only client fetch from our HTTP server before any peer exists. Only written here: the
// site never reads a magnet; the tests read ours with the `magnet-uri` package, as WebTorrent
// clients do. Written by hand because magnet-uri's encoder writes spaces in `dn` as '+' and its
// decoder turns every '+' (also a %2B) into a space, so a name with '+' would not survive it;
// encodeURIComponent throughout keeps every name intact for every other client.
import { TorrentError } from './errors.ts'

export interface MagnetParams {
  infoHash: string
  name: string
  length: number
  trackers: string[]
  webSeeds: string[]
}

const HEX_HASH = /^[0-9a-fA-F]{40}$/

function bad(message: string): never {
  throw new TorrentError('bad_magnet', message)
}

export function buildMagnet(p: MagnetParams): string {
  if (!HEX_HASH.test(p.infoHash)) bad(`infoHash must be 40 hex chars, got ${p.infoHash}`)
  if (!Number.isSafeInteger(p.length) || p.length < 0) bad(`length must be a non-negative integer, got ${p.length}`)
  const parts = [
    `xt=urn:btih:${p.infoHash.toLowerCase()}`,
    `dn=${encodeURIComponent(p.name)}`,
    `xl=${p.length}`,
    ...p.trackers.map((t) => `tr=${encodeURIComponent(t)}`),
    ...p.webSeeds.map((w) => `ws=${encodeURIComponent(w)}`),
  ]
  return `magnet:?${parts.join('&')}`
}
