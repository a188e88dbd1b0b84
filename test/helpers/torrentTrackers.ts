// Rewrites a .torrent's top-level `announce` / `announce-list` (BEP 12) to other tracker URLs.
// The raw top-level entries are spliced, never re-encoded, so every other byte (the info dict
// above all) is copied verbatim and the infohash cannot change; the new keys go in sorted order.
import bencode from 'bencode'
import { topLevelEntries } from '../../src/torrent/bencodeScan.ts'

export function withTrackers(torrent: Buffer, trackers: string[]): Buffer {
  if (trackers.length === 0) throw new RangeError('at least one tracker URL')
  const kept = topLevelEntries(torrent)
    .filter((e) => e.key !== 'announce' && e.key !== 'announce-list')
    .map((e) => ({ key: Buffer.from(e.key, 'latin1'), bytes: torrent.subarray(e.keyStart, e.end) }))
  const entry = (key: string, value: unknown) => ({
    key: Buffer.from(key),
    bytes: Buffer.concat([Buffer.from(`${Buffer.byteLength(key)}:${key}`), Buffer.from(bencode.encode(value))]),
  })
  const added = [entry('announce', trackers[0]), entry('announce-list', trackers.map((t) => [t]))]
  const all = [...kept, ...added].sort((a, b) => Buffer.compare(a.key, b.key))
  return Buffer.concat([Buffer.from('d'), ...all.map((e) => e.bytes), Buffer.from('e')])
}

/** The raw bytes of the top-level info dict, to compare two .torrent files' infos exactly. */
export function infoBytes(torrent: Buffer): Buffer {
  const info = topLevelEntries(torrent).find((e) => e.key === 'info')
  if (!info) throw new Error('no info dict')
  return torrent.subarray(info.valueStart, info.end)
}
