// The lean engine's bounds on what strangers can make it hold or do, and the counters of how
// often each bit. Every bound is a setting (SEEDER_* in src/config.ts, documented in
// bt_server/README.md); the counters reach /metrics as seedcast_refused_total{bound="..."}.
import { Refusals } from '../../src/refusals.ts'

export interface SeederLimits {
  /** Connections open at once, all torrents and addresses (SEEDER_MAX_PEERS). */
  maxPeers: number
  /** Connections from one address (an IPv6 /64 counts as one) (SEEDER_PEERS_PER_ADDRESS). */
  peersPerAddress: number
  /** Connections from one address still in their handshake, MSE included (SEEDER_HANDSHAKES_PER_ADDRESS). */
  handshakesPerAddress: number
  /** Peers of one torrent (SEEDER_PEERS_PER_TORRENT). */
  peersPerTorrent: number
  /** Peers unchoked at once per torrent (SEEDER_UNCHOKED_PER_TORRENT). */
  unchokedPerTorrent: number
  /** A connection must finish its handshake within this (SEEDER_HANDSHAKE_TIMEOUT_SECONDS). */
  handshakeTimeoutMs: number
  /** An unchoked peer that requests nothing this long loses its slot (SEEDER_UNCHOKED_IDLE_SECONDS). */
  unchokedIdleMs: number
  /** Output queued for one peer above which we stop reading from it (SEEDER_PEER_SEND_BUFFER_BYTES). */
  peerSendBufferBytes: number
  /** Input we hold for a peer we stopped reading from (uTP has no back-pressure) (SEEDER_PEER_RECV_BUFFER_BYTES). */
  peerRecvBufferBytes: number
  /** Output queued for all peers together (SEEDER_SEND_BUFFER_TOTAL_BYTES). */
  sendBufferTotalBytes: number
  /** A peer whose output stays over its bound without draining this long is dropped (SEEDER_SEND_STALL_SECONDS). */
  sendStallMs: number
}

const MiB = 1024 * 1024

export const DEFAULT_LIMITS: SeederLimits = {
  maxPeers: 2000,
  peersPerAddress: 16,
  handshakesPerAddress: 8,
  peersPerTorrent: 100,
  unchokedPerTorrent: 50,
  handshakeTimeoutMs: 20_000,
  unchokedIdleMs: 5_000,
  peerSendBufferBytes: MiB,
  peerRecvBufferBytes: 256 * 1024,
  sendBufferTotalBytes: 64 * MiB,
  sendStallMs: 30_000,
}

/** Bound names as /metrics shows them; `seeder_` keeps them apart from the web app's. */
export type Bound =
  | 'seeder_peers_total'
  | 'seeder_peers_per_address'
  | 'seeder_handshakes_per_address'
  | 'seeder_peers_per_torrent'
  | 'seeder_handshake_timeout'
  | 'seeder_idle_peer_timeout'
  | 'seeder_idle_timeout'
  | 'seeder_send_queue_full'
  | 'seeder_recv_queue_full'
  | 'seeder_send_queue_total'
  | 'seeder_send_stalled'
  /** Peers offered to dial (tracker replies, the site tracker's pushes, ut_pex) beyond the dial queue's bound. */
  | 'seeder_dials_dropped'
  /** Not a refusal: a block that waited for the site's upload cap (seederUploadCap). */
  | 'seeder_upload_cap'
  /** Not a refusal of a stranger: a block request rejected so the swarm serves it (pieceLedger.ts). */
  | 'seeder_piece_held_back'

/** The seeder's refusal counters (one implementation with the web app's: src/refusals.ts). */
export class RefusalCounts extends Refusals<Bound> {}
