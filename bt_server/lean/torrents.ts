// A seeded torrent as the lean engine keeps it: a few numbers, paths and lazily made sets. The
// piece hashes and the info dict stay in the .torrent file; nothing per piece is in memory.
import type { CacheTorrent } from './pieceCache.ts'
import type { Peer } from './peer.ts'
import type { PieceLedger } from './pieceLedger.ts'
import type { TorrentMeta } from './torrentMeta.ts'
import { UnchokeSlots } from './unchokeSlots.ts'

export interface LeanTorrent extends CacheTorrent {
  readonly infoHash: string
  readonly infoHashBuf: Buffer
  readonly filePath: string
  readonly torrentPath: string
  readonly infoSize: number
  /** As the .torrent lists them; replaced when the admin changes the site's trackers. */
  trackers: string[]
  uploaded: number
  removed: boolean
  /** Connected peers (handshake done); null while there are none. */
  peers: Set<Peer> | null
  slots: UnchokeSlots<Peer> | null
  /** Who holds which piece, while peers are connected (pieceLedger.ts). */
  ledger: PieceLedger | null
  /** "ip:port" of connections we dialled, open or opening (not to dial twice). */
  dialled: Set<string> | null
}

export function newTorrent(id: number, meta: TorrentMeta, filePath: string, torrentPath: string): LeanTorrent {
  return {
    id,
    infoHash: meta.infoHash,
    infoHashBuf: Buffer.from(meta.infoHash, 'hex'),
    filePath,
    torrentPath,
    size: meta.size,
    pieceLength: meta.pieceLength,
    pieceCount: meta.pieceCount,
    infoSize: meta.infoSize,
    trackers: meta.trackers,
    uploaded: 0,
    removed: false,
    peers: null,
    slots: null,
    ledger: null,
    dialled: null,
  }
}

export function slotsOf(t: LeanTorrent, maxUnchoked: number, rank?: (p: Peer) => number): UnchokeSlots<Peer> {
  t.slots ??= new UnchokeSlots<Peer>(maxUnchoked, rank)
  return t.slots
}
