// What the swarm's peers downloaded, from their announces, for the offload figures
// (src/offload/offloadMath.ts). Runs inside SwarmStore.announce, the tracker's hot path: numbers
// only, nothing allocated.
//
// Each peer keeps the last `downloaded` it announced, clamped to the file size, as two small
// integers (high and low 30 bits: always Smis, so no heap number per peer), and each announce
// adds its increase to the swarm's tally, which the caller owns (it outlives the store's swarm,
// which goes with its last peer). The increase is never negative and at most the file size per
// peer over a session: a bogus huge value counts as the whole file once. A count that went back
// (the client restarted at 0) or a `started` is a new session counted from 0. A peer the store
// does not know (the site restarted, or the peer expired) sets only a baseline unless it says
// `started`, so nothing is counted twice.

/** Per swarm, owned by the caller: the file size (the clamp) and the bytes counted so far. */
export interface SwarmTally {
  size: number
  downloaded: number
}

/** A peer's last announced `downloaded`: hi * 2^30 + lo. */
interface DownloadedBaseline {
  dlHi: number
  dlLo: number
}

const SPLIT = 2 ** 30

export const clampTo = (v: number, size: number): number => Math.min(size, Math.max(v, 0))

/** Adds the increase to the tally and keeps the value as the peer's baseline. */
export function countDownloaded(
  tally: SwarmTally,
  peer: DownloadedBaseline,
  downloaded: number,
  known: boolean,
  started: boolean,
): void {
  const d = clampTo(downloaded, tally.size)
  const last = peer.dlHi * SPLIT + peer.dlLo
  if (started || (known && d < last)) tally.downloaded += d
  else if (known) tally.downloaded += d - last
  const hi = Math.floor(d / SPLIT)
  peer.dlHi = hi
  peer.dlLo = d - hi * SPLIT
}
