// What the lean engine keeps of a .torrent: a few numbers and the tracker list. The info dict
// itself (needed only to answer ut_metadata requests) is read again from the .torrent on demand.
import { createHash } from 'node:crypto'
import { TorrentError } from '../../src/bittorrent/errors.ts'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'

export interface TorrentMeta {
  infoHash: string
  size: number
  pieceLength: number
  pieceCount: number
  /** Length of the bencoded info dict (BEP 9 metadata_size). */
  infoSize: number
  trackers: string[]
}

/** The info dict's bytes exactly as stored (its SHA-1 is the infohash). */
export function infoDictBytes(torrent: Buffer): Buffer {
  return decodeTorrent(torrent).infoBytes
}

/** Reads and checks a stored single-file .torrent: it must be the one `infoHash` names. */
export function readTorrentMeta(torrent: Buffer, infoHash: string): TorrentMeta {
  const decoded = decodeTorrent(torrent)
  if (decoded.infoHash !== infoHash)
    throw new TorrentError('bad_torrent', `the .torrent is for ${decoded.infoHash}, not ${infoHash}`)
  if (decoded.multiFile) throw new TorrentError('bad_torrent', 'a multi-file torrent')
  return {
    infoHash,
    size: decoded.length,
    pieceLength: decoded.pieceLength,
    pieceCount: decoded.pieceCount,
    infoSize: decoded.infoBytes.length,
    trackers: decoded.trackers,
  }
}

export function sha1Hex(b: Buffer): string {
  return createHash('sha1').update(b).digest('hex')
}
