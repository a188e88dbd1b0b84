// What every tracker protocol (HTTP, UDP, WebSocket) shares about an announce, on both sides:
// the server parsing requests and the seeder's client sending them.

/** BEP 3 events plus BEP 21 `paused`; 'update' is a regular announce (no event sent). */
export type AnnounceEvent = 'started' | 'completed' | 'stopped' | 'paused' | 'update'

/**
 * The start of the peer id of this site's own seeder (bt_server/lean, Azureus style: Seedcast
 * 0.1.0.0): the tracker leaves it out of what peers downloaded, since it is the origin.
 */
export const SEEDER_PEER_ID_PREFIX = '-SC0100-'

/** Peers returned when the client does not say how many it wants (or asks for a negative number). */
export const DEFAULT_NUMWANT = 50

/** An announce as the seeder's client sends it, over HTTP or UDP. */
export interface AnnounceParams {
  infoHash: Buffer // 20 bytes
  peerId: Buffer // 20 bytes
  port: number
  uploaded: number
  downloaded: number
  left: number
  event: AnnounceEvent
  numwant: number
  key: number // uint32
}

export interface PeerAddress {
  ip: string
  port: number
}

/** A tracker's answer as the client reads it. */
export type AnnounceReply =
  | {
      ok: true
      intervalSec: number
      minIntervalSec?: number
      peers: PeerAddress[]
      seeders?: number
      leechers?: number
    }
  | { ok: false; failure: string }
