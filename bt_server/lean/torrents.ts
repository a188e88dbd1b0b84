// A seeded torrent as the lean engine keeps it: a few numbers, paths and lazily made sets. The
// piece hashes and the info dict stay in the .torrent file; nothing per piece is in memory.
import type { FileMap } from './fileMap.ts'
import type { HashTorrent } from './hashRequests.ts'
import type { CacheTorrent } from './pieceCache.ts'
import type { Peer } from './peer.ts'
import type { PieceLedger } from './pieceLedger.ts'
import type { TorrentMeta } from './torrentMeta.ts'
import { UnchokeSlots } from './unchokeSlots.ts'

export interface LeanTorrent extends CacheTorrent, HashTorrent {
  /** The swarm key: v1 SHA-1, or for v2-only the truncated SHA-256. */
  readonly infoHash: string
  readonly infoHashBuf: Buffer
  /** Full SHA-256 of the info dict (hybrid, v2), 64 hex; null for v1. */
  readonly infoHashV2: string | null
  /** Other infohashes peers name a hybrid by (truncated v2, aria2c's; torrentMeta.ts). */
  readonly aliasBufs: Buffer[]
  /** The video file (single-file torrents: the one file). */
  readonly filePath: string
  /** Where the piece space's bytes are on disk. */
  readonly fileMap: FileMap
  readonly torrentPath: string
  readonly infoSize: number
  /** BEP 27: peers learn of each other from the trackers only (no ut_pex). */
  readonly private: boolean
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

export function newTorrent(
  id: number,
  meta: TorrentMeta,
  filePath: string,
  fileMap: FileMap,
  torrentPath: string,
): LeanTorrent {
  return {
    id,
    infoHash: meta.infoHash,
    infoHashBuf: Buffer.from(meta.infoHash, 'hex'),
    infoHashV2: meta.infoHashV2,
    aliasBufs: meta.aliases.map((h) => Buffer.from(h, 'hex')),
    format: meta.format,
    layerRoots: meta.layerRoots,
    filePath,
    fileMap,
    torrentPath,
    size: meta.size,
    pieceLength: meta.pieceLength,
    pieceCount: meta.pieceCount,
    infoSize: meta.infoSize,
    private: meta.private,
    trackers: meta.trackers,
    uploaded: 0,
    removed: false,
    peers: null,
    slots: null,
    ledger: null,
    dialled: null,
  }
}

/**
 * The infohash our answer to a peer's handshake names: the one it named, except that a v2 peer
 * (BEP 52 bit) naming a hybrid by its v1 hash gets the truncated v2 one, the upgrade libtorrent 2
 * makes itself when it answers. It must: libtorrent checks the answer against the hash its entry
 * for us holds when the answer arrives, and that entry turns v2 as soon as the reply to its v2
 * announce (sent with the v1 one) names us too, often while our answer is under way; a v1 answer
 * then fails as "invalid info-hash" and it waits a minute or more before trying again. A v2
 * answer it takes whichever hash it sent.
 */
export function answerInfoHash(t: LeanTorrent, named: Buffer, peerV2: boolean): Buffer {
  if (!peerV2 || t.format !== 'hybrid' || t.infoHashV2 === null || !named.equals(t.infoHashBuf)) return named
  return Buffer.from(t.infoHashV2.slice(0, 40), 'hex')
}

export function slotsOf(t: LeanTorrent, maxUnchoked: number, rank?: (p: Peer) => number): UnchokeSlots<Peer> {
  t.slots ??= new UnchokeSlots<Peer>(maxUnchoked, rank)
  return t.slots
}
