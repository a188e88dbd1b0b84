// What the stored counters mean, in one place (API, page, dashboard). Pure.
//
// "Served by peers" = what the swarm's peers announced they downloaded, minus what the origin
// sent to BitTorrent clients (seeder and web seed), floored at 0. Every byte a peer downloads
// came from the origin or from another peer, so the rest came from peers. Announced `uploaded`
// was not used: clients count it in different ways, a seed reports it only at its next announce
// (minutes later) and nothing bounds it, while `downloaded` arrives with the `completed` and
// `stopped` announces and is clamped to the file size per peer (swarmStore.ts). Page playback
// is not subtracted: a player is not a peer and announces nothing. The figure is conservative:
// a peer that never announces to this site's tracker (DHT only, other trackers, a browser over
// WebSocket) adds nothing, while what the origin sent it is subtracted.

export interface OffloadCounters {
  seederBytes: bigint | number
  webSeedBytes: bigint | number
  playbackBytes: bigint | number
  downloadedBytes: bigint | number
}

export interface OffloadFigures {
  originBytes: { seeder: number; webseed: number; playback: number; total: number }
  peerBytes: number
  /** peerBytes / (peerBytes + origin total), 0 when nothing was sent. */
  peerShare: number
}

export function offloadFigures(c: OffloadCounters | null | undefined): OffloadFigures {
  const seeder = Number(c?.seederBytes ?? 0)
  const webseed = Number(c?.webSeedBytes ?? 0)
  const playback = Number(c?.playbackBytes ?? 0)
  const total = seeder + webseed + playback
  const peerBytes = Math.max(0, Number(c?.downloadedBytes ?? 0) - seeder - webseed)
  return { originBytes: { seeder, webseed, playback, total }, peerBytes, peerShare: share(peerBytes, total) }
}

export const share = (peerBytes: number, originBytes: number): number =>
  peerBytes + originBytes > 0 ? peerBytes / (peerBytes + originBytes) : 0
