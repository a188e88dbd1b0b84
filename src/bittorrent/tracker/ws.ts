// WebTorrent's WebSocket tracker messages (the JSON that bittorrent-tracker's client sends), read
// just far enough to apply the tracker's rules before the package handles them: which action,
// which torrent, which peer. Binary fields (info_hash, peer_id, to_peer_id) are "binary strings",
// one char per byte, as the client writes them; anything else is refused, so the package only ever
// sees well-formed requests. The message size is bounded by the WebSocket server (maxPayload)
// before this runs.
import { TrackerProtocolError } from '../errors.ts'

export type WsRequest =
  | { action: 'announce'; infoHash: string; peerId: string; event: string; answer: boolean }
  | { action: 'scrape'; infoHashes: string[] }

/** `data` as the ws package hands a message over; ids come back as 40 lowercase hex. */
export function parseWsRequest(data: Buffer | string): WsRequest {
  let msg: unknown
  try {
    msg = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'))
  } catch {
    throw new TrackerProtocolError('invalid_json', 'invalid request: not JSON')
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    throw new TrackerProtocolError('invalid_json', 'invalid request: not a JSON object')
  const m = msg as Record<string, unknown>
  if (m.action === 'announce') {
    const infoHash = binaryId(m.info_hash, 'info_hash')
    const peerId = binaryId(m.peer_id, 'peer_id')
    const answer = m.answer !== undefined && m.answer !== null
    if (answer) binaryId(m.to_peer_id, 'to_peer_id')
    const event = typeof m.event === 'string' ? m.event : 'update'
    return { action: 'announce', infoHash, peerId, event, answer }
  }
  if (m.action === 'scrape') {
    const raw = m.info_hash
    const list = raw === undefined || raw === null ? [] : Array.isArray(raw) ? raw : [raw]
    return { action: 'scrape', infoHashes: list.map((h) => binaryId(h, 'info_hash')) }
  }
  throw new TrackerProtocolError('invalid_action', 'invalid request: action must be announce or scrape')
}

/**
 * A refusal as the client reads it: bittorrent-tracker's client shows `failure reason` as a
 * warning only when the reply names its torrent (else it ignores the reply), so say which.
 */
export function wsFailureReply(reason: string, action: 'announce' | 'scrape' = 'announce', infoHash?: string): string {
  const reply: Record<string, string> = { action, 'failure reason': reason }
  if (infoHash !== undefined) reply.info_hash = Buffer.from(infoHash, 'hex').toString('latin1')
  return JSON.stringify(reply)
}

// A 20-byte id as a binary string, returned as hex.
function binaryId(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length !== 20)
    throw new TrackerProtocolError(`invalid_${field}`, `invalid ${field}: must be 20 bytes`)
  for (let i = 0; i < 20; i++)
    if (v.charCodeAt(i) > 255) throw new TrackerProtocolError(`invalid_${field}`, `invalid ${field}: must be 20 bytes`)
  return Buffer.from(v, 'latin1').toString('hex')
}
