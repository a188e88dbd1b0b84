// Tracker counters, rendered in the Prometheus text format at /metrics.
export type Transport = 'http' | 'udp' | 'ws'

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
  const lines: string[] = []
  const family = (name: string, type: 'counter' | 'gauge', help: string) =>
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`)
  family('seedcast_tracker_announces_total', 'counter', 'Announces answered, by transport.')
  for (const t of ['http', 'udp', 'ws'] as const)
    lines.push(`seedcast_tracker_announces_total{transport="${t}"} ${m.announces[t]}`)
  family('seedcast_tracker_scrapes_total', 'counter', 'Scrapes answered, by transport.')
  for (const t of ['http', 'udp', 'ws'] as const)
    lines.push(`seedcast_tracker_scrapes_total{transport="${t}"} ${m.scrapes[t]}`)
  family('seedcast_tracker_rejected_total', 'counter', 'Requests refused, by reason.')
  for (const [reason, n] of [...m.rejected].sort())
    lines.push(`seedcast_tracker_rejected_total{reason="${reason}"} ${n}`)
  family('seedcast_tracker_udp_connects_total', 'counter', 'UDP connect requests answered.')
  lines.push(`seedcast_tracker_udp_connects_total ${m.udpConnects}`)
  family(
    'seedcast_tracker_udp_dropped_total',
    'counter',
    'UDP packets dropped unanswered (garbage or bad connection id).',
  )
  lines.push(`seedcast_tracker_udp_dropped_total ${m.udpDropped}`)
  family('seedcast_tracker_completed_total', 'counter', 'Completed downloads counted since start.')
  lines.push(`seedcast_tracker_completed_total ${m.completions}`)
  family('seedcast_tracker_swarms', 'gauge', 'Swarms with peers (HTTP/UDP; WebSocket separately).')
  lines.push(
    `seedcast_tracker_swarms{transport="bt"} ${g.swarms}`,
    `seedcast_tracker_swarms{transport="ws"} ${g.wsSwarms}`,
  )
  family('seedcast_tracker_peers', 'gauge', 'Live peers.')
  lines.push(
    `seedcast_tracker_peers{kind="seeder"} ${g.seeders}`,
    `seedcast_tracker_peers{kind="leecher"} ${g.leechers}`,
    `seedcast_tracker_peers{kind="ws"} ${g.wsPeers}`,
  )
  family('seedcast_tracker_peer_addresses', 'gauge', 'Addresses (IPv4, or IPv6 /64) holding HTTP/UDP peers.')
  lines.push(`seedcast_tracker_peer_addresses ${g.peerAddresses}`)
  family('seedcast_tracker_ws_connections', 'gauge', 'Open WebSocket tracker connections.')
  lines.push(`seedcast_tracker_ws_connections ${g.wsConnections}`)
  family('seedcast_tracker_completion_records', 'gauge', 'Addresses remembered per torrent for counting completions.')
  lines.push(`seedcast_tracker_completion_records ${g.completionRecords}`)
  family('seedcast_tracker_allowed_torrents', 'gauge', 'Torrents on the allow list.')
  lines.push(`seedcast_tracker_allowed_torrents ${g.allowed}`)
  family('seedcast_tracker_rate_limited_addresses', 'gauge', 'Addresses with a rate-limit bucket in memory.')
  lines.push(`seedcast_tracker_rate_limited_addresses ${g.rateLimitedAddresses}`)
  return lines.join('\n') + '\n'
}
