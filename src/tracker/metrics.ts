// Tracker counters, rendered in the Prometheus text format at /metrics.
import { metricFamily } from '../metricsText.ts'

export type Transport = 'http' | 'udp' | 'ws'
const TRANSPORTS: readonly Transport[] = ['http', 'udp', 'ws']

/**
 * Why a request was refused, as /metrics counts it (seedcast_tracker_rejected_total{reason}; the
 * README lists them). Refusals carry one of these; their text is for the client only.
 */
export type RejectReason =
  | 'rate_limited'
  | 'disabled'
  | 'unregistered'
  | 'full_scrape'
  | 'malformed'
  | 'peers_swarm_full'
  | 'peers_per_address'
  | 'peers_full'
  | 'peers_evicted'
  | 'completion_repeated'
  | 'completions_per_address'
  | 'completions_full'
  | 'ws_connections'
  | 'ws_connections_per_address'
  | 'ws_peers_per_connection'
  | 'ws_peers_per_address'
  | 'ws_message_too_big'
  | 'ws_bad_frame'
  | 'ws_slow_reader'
  | 'ws_idle'

export class TrackerMetrics {
  readonly announces: Record<Transport, number> = { http: 0, udp: 0, ws: 0 }
  readonly scrapes: Record<Transport, number> = { http: 0, udp: 0, ws: 0 }
  readonly rejected = new Map<RejectReason, number>()
  udpConnects = 0
  udpDropped = 0
  completions = 0

  reject(reason: RejectReason): void {
    this.rejected.set(reason, (this.rejected.get(reason) ?? 0) + 1)
  }
}

export interface GaugeValues {
  swarms: number
  seeders: number
  leechers: number
  peerAddresses: number
  wsSwarms: number
  wsPeers: number
  wsConnections: number
  allowed: number
  rateLimitedAddresses: number
  completionRecords: number
}

export function renderMetrics(m: TrackerMetrics, g: GaugeValues): string {
  const transports = (counts: Record<Transport, number>): [string, number][] =>
    TRANSPORTS.map((t) => [`transport="${t}"`, counts[t]])
  const one = (value: number): [string, number][] => [['', value]]
  return [
    metricFamily(
      'seedcast_tracker_announces_total',
      'counter',
      'Announces answered, by transport.',
      transports(m.announces),
    ),
    metricFamily('seedcast_tracker_scrapes_total', 'counter', 'Scrapes answered, by transport.', transports(m.scrapes)),
    metricFamily(
      'seedcast_tracker_rejected_total',
      'counter',
      'Requests refused, by reason.',
      [...m.rejected].sort().map(([reason, n]) => [`reason="${reason}"`, n]),
    ),
    metricFamily(
      'seedcast_tracker_udp_connects_total',
      'counter',
      'UDP connect requests answered.',
      one(m.udpConnects),
    ),
    metricFamily(
      'seedcast_tracker_udp_dropped_total',
      'counter',
      'UDP packets dropped unanswered (garbage or bad connection id).',
      one(m.udpDropped),
    ),
    metricFamily(
      'seedcast_tracker_completed_total',
      'counter',
      'Completed downloads counted since start.',
      one(m.completions),
    ),
    metricFamily('seedcast_tracker_swarms', 'gauge', 'Swarms with peers (HTTP/UDP; WebSocket separately).', [
      ['transport="bt"', g.swarms],
      ['transport="ws"', g.wsSwarms],
    ]),
    metricFamily('seedcast_tracker_peers', 'gauge', 'Live peers.', [
      ['kind="seeder"', g.seeders],
      ['kind="leecher"', g.leechers],
      ['kind="ws"', g.wsPeers],
    ]),
    metricFamily(
      'seedcast_tracker_peer_addresses',
      'gauge',
      'Addresses (IPv4, or IPv6 /64) holding HTTP/UDP peers.',
      one(g.peerAddresses),
    ),
    metricFamily(
      'seedcast_tracker_ws_connections',
      'gauge',
      'Open WebSocket tracker connections.',
      one(g.wsConnections),
    ),
    metricFamily(
      'seedcast_tracker_completion_records',
      'gauge',
      'Addresses remembered per torrent for counting completions.',
      one(g.completionRecords),
    ),
    metricFamily('seedcast_tracker_allowed_torrents', 'gauge', 'Torrents on the allow list.', one(g.allowed)),
    metricFamily(
      'seedcast_tracker_rate_limited_addresses',
      'gauge',
      'Addresses with a rate-limit bucket in memory.',
      one(g.rateLimitedAddresses),
    ),
  ].join('')
}
