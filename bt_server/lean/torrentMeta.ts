// What the lean engine keeps of a .torrent: a few numbers, the tracker list and where each file
// sits in the piece space. The info dict itself (needed only to answer ut_metadata requests) and
// the v2 piece layers (for hash requests) are read again from the .torrent on demand.
import { createHash } from 'node:crypto'
import { TorrentError } from '../../src/bittorrent/errors.ts'
import { aria2LegacyInfoHash } from '../../src/bittorrent/legacyInfoHash.ts'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'

type TorrentFormat = 'v1' | 'hybrid' | 'v2'

/** A file with bytes on disk: its path inside the torrent and its place in the piece space. */
interface MetaFile {
  path: string[]
  offset: number
  length: number
}

export interface TorrentMeta {
  /** The swarm key: v1 SHA-1 (v1, hybrid) or the truncated SHA-256 (v2-only), 40 hex. */
  infoHash: string
  /** Full SHA-256 of the info dict (hybrid, v2), 64 hex; null for v1. */
  infoHashV2: string | null
  format: TorrentFormat
  /**
   * Other infohashes peers name a hybrid by (40 hex): the truncated v2 one (BEP 52), and the one
   * aria2c < 1.37 computes (legacyInfoHash.ts). Empty for v1 and v2-only.
   */
  aliases: string[]
  /** Bytes of the piece space (files, BEP 47 pads, v2 gaps and tail): what piece indices cover. */
  size: number
  pieceLength: number
  pieceCount: number
  /** Length of the bencoded info dict (BEP 9 metadata_size). */
  infoSize: number
  trackers: string[]
  /** BEP 27 private flag: no peer exchange for it. */
  private: boolean
  multiFile: boolean
  /** Files with bytes, in piece-space order (no pads, no empty files). */
  files: MetaFile[]
  /** Hex pieces roots of the files with a piece layer (v2: what hash requests may name). */
  layerRoots: Set<string>
}

/** The info dict's bytes exactly as stored (its SHA-1 / SHA-256 is the infohash). */
export function infoDictBytes(torrent: Buffer): Buffer {
  return decodeTorrent(torrent).infoBytes
}

/** The v2 piece layers of a .torrent (hex pieces root -> 32-byte hashes, one per piece). */
export function pieceLayersOf(torrent: Buffer): Map<string, Buffer> {
  return decodeTorrent(torrent).pieceLayers
}

/** Reads and checks a stored .torrent: it must be the one `infoHash` names. */
export function readTorrentMeta(torrent: Buffer, infoHash: string): TorrentMeta {
  const d = decodeTorrent(torrent)
  if (d.infoHash !== infoHash)
    throw new TorrentError('bad_torrent', `the .torrent is for ${d.infoHash}, not ${infoHash}`)
  return {
    infoHash,
    infoHashV2: d.infoHashV2,
    format: d.format,
    aliases: d.format === 'hybrid' && d.infoHashV2 ? hybridAliases(d.infoHashV2, d.infoBytes) : [],
    // v2-only: every file ends on a piece boundary, the last one too (libtorrent asks for whole
    // blocks of the last piece, and serves zeros past the end), so the space is whole pieces.
    size: d.format === 'v2' ? d.pieceCount * d.pieceLength : d.pieceSpace,
    pieceLength: d.pieceLength,
    pieceCount: d.pieceCount,
    infoSize: d.infoBytes.length,
    trackers: d.trackers,
    private: d.private,
    multiFile: d.multiFile,
    files: d.files
      .filter((f) => !f.pad && f.length > 0)
      .map((f) => ({ path: f.path, offset: f.offset, length: f.length })),
    layerRoots: new Set(d.pieceLayers.keys()),
  }
}

/** Is `info` the info dict of the torrent these hashes name? (The .torrent may have been replaced.) */
export function infoMatches(info: Buffer, infoHash: string, infoHashV2: string | null): boolean {
  if (infoHashV2 !== null) return createHash('sha256').update(info).digest('hex') === infoHashV2
  return createHash('sha1').update(info).digest('hex') === infoHash
}

function hybridAliases(infoHashV2: string, infoBytes: Buffer): string[] {
  const legacy = aria2LegacyInfoHash(infoBytes)
  // BEP 52: v2 peers put the v2 infohash truncated to 20 bytes in their handshake.
  return legacy ? [infoHashV2.slice(0, 40), legacy] : [infoHashV2.slice(0, 40)]
}
