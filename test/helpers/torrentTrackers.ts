// Rewrites a .torrent's top-level `announce` / `announce-list` (BEP 12) to other tracker URLs,
// with the app's own splice (the info dict is copied verbatim, so the infohash cannot change).
import { spliceTopLevel } from '../../src/torrent/builder.ts'
import { topLevelEntries } from '../../src/torrent/bencodeScan.ts'

export function withTrackers(torrent: Buffer, trackers: string[]): Buffer {
  if (trackers.length === 0) throw new RangeError('at least one tracker URL')
  return spliceTopLevel(torrent, { announce: trackers[0], 'announce-list': trackers.map((t) => [t]) })
}

/** The raw bytes of the top-level info dict, to compare two .torrent files' infos exactly. */
export function infoBytes(torrent: Buffer): Buffer {
  const info = topLevelEntries(torrent).find((e) => e.key === 'info')
  if (!info) throw new Error('no info dict')
  return torrent.subarray(info.valueStart, info.end)
}
