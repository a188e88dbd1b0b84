import bencode from 'bencode'
import { TorrentError } from '../src/torrent/errors.ts'

/** The piece length and piece hashes of a single-file v1 torrent. */
export function decodeTorrentPieces(torrent: Buffer): { pieceLength: number; pieces: Buffer } {
  const decoded = bencode.decode(torrent) as { info?: { 'piece length'?: number; pieces?: Uint8Array } }
  const info = decoded?.info
  if (!info || typeof info['piece length'] !== 'number' || !(info.pieces instanceof Uint8Array)) {
    throw new TorrentError('bad_torrent', 'not a v1 torrent')
  }
  return { pieceLength: info['piece length'], pieces: Buffer.from(info.pieces) }
}
