// Rewrites a .torrent's top-level `announce` / `announce-list` (BEP 12) to other tracker URLs,
// with the app's own splice (the info dict is copied verbatim, so the infohash cannot change).
import { decodeTorrent, spliceTopLevel } from '../../src/bittorrent/metainfo.ts'

export function withTrackers(torrent: Buffer, trackers: string[]): Buffer {
  if (trackers.length === 0) throw new RangeError('at least one tracker URL')
  return spliceTopLevel(torrent, { announce: trackers[0], 'announce-list': trackers.map((t) => [t]) })
}

/** The raw bytes of the top-level info dict, to compare two .torrent files' infos exactly. */
export function infoBytes(torrent: Buffer): Buffer {
  return decodeTorrent(torrent).infoBytes
}
