// What web workers (WEB_WORKERS=N) and the process that owns the swarms say to each other over
// the cluster's IPC channel (advanced serialization: Buffers arrive as Buffers). Workers answer
// HTTP; the owner holds the tracker's swarms, the UDP and WebSocket tracker, the seeder and the
// background jobs, so counts, peer lists and completions never depend on which worker a client hit.
import type {
  AnnounceOutcome,
  AllowRow,
  LiveSwarm,
  PeerAnnouncement,
  ScrapeOutcome,
} from '../tracker/embeddedTracker.ts'

/** One request a worker batches with others of the same tick (see trackerReplica.ts). */
export type OwnerCall =
  | { op: 'announce'; a: PeerAnnouncement; address: string }
  | { op: 'scrape'; infoHashes: string[]; address: string }
  | { op: 'allow'; row: AllowRow }
  | { op: 'disallow'; infoHash: string }
  /** The torrents changed (a publish, a delete): the seeder rescans. */
  | { op: 'torrentsChanged' }
  /** A worker saved settings: the owner re-reads them (its jobs follow) and tells every worker. */
  | { op: 'settingsChanged' }
  /** Videos changed on a worker (null: any): every worker drops its drawn copies of their pages. */
  | { op: 'pagesChanged'; ids: string[] | null }

export type OwnerAnswer = AnnounceOutcome | ScrapeOutcome | null

export interface CallBatch {
  t: 'calls'
  id: number
  calls: OwnerCall[]
}

interface AnswerBatch {
  t: 'answers'
  id: number
  answers: OwnerAnswer[]
}

/**
 * A WebSocket tracker connection, handed over with its socket: the owner finishes the handshake,
 * but only once the worker has said `released`. Until Node closes the worker's copy of the socket
 * (when the owner's receipt reaches it) the worker still reads from it and drops what it reads:
 * a peer's first message, sent as soon as it has the 101, could go there.
 */
interface Upgrade {
  t: 'upgrade'
  id: number
  url: string
  headers: Record<string, string | string[] | undefined>
  head: Buffer
}

/** The worker's copy of the upgrade `id`'s socket is closed (it has read the owner's `got`). */
interface Released {
  t: 'released'
  id: number
}

/** The owner has the upgrade `id`'s socket (Node's own receipt went before this, on the same channel). */
interface Got {
  t: 'got'
  id: number
}

/** A worker is ready to hear the owner: it gets a snapshot at once. */
interface Hello {
  t: 'hello'
}

/** Counted by a worker before the tracker saw the request (unparsable): summed in /metrics. */
interface Rejected {
  t: 'reject'
  reason: 'malformed'
}

/** What the owner pushes to every worker each second: all a page or /healthz reads of it. */
export interface Snapshot {
  t: 'snapshot'
  swarms: LiveSwarm[]
  metricsText: string
  udpListening: boolean | null
  seeder: { health: unknown; refusals: Record<string, number> } | null
}

/** The settings changed in the database (another worker saved them): re-read them. */
interface SettingsNotice {
  t: 'settings'
}

/** These videos' pages (null: all) changed: drop the copies drawn of them (src/web/pageCache.ts). */
interface PagesNotice {
  t: 'pages'
  ids: string[] | null
}

/**
 * A worker listens on the web port (to the primary: a worker's own sockets, not the cluster's
 * shared one, give Node's cluster no 'listening' of its own).
 */
export interface WorkerListening {
  t: 'listening'
  port: number
}

export const isWorkerListening = (m: unknown): m is WorkerListening =>
  typeof m === 'object' && m !== null && (m as { t?: string }).t === 'listening'

export type WorkerMessage = CallBatch | Upgrade | Released | Rejected | Hello
export type OwnerMessage = AnswerBatch | Snapshot | SettingsNotice | PagesNotice | Got

export const isOwnerMessage = (m: unknown): m is OwnerMessage =>
  typeof m === 'object' &&
  m !== null &&
  ['answers', 'snapshot', 'settings', 'pages', 'got'].includes((m as { t?: string }).t ?? '')

export const isWorkerMessage = (m: unknown): m is WorkerMessage =>
  typeof m === 'object' &&
  m !== null &&
  ['calls', 'upgrade', 'released', 'reject', 'hello'].includes((m as { t?: string }).t ?? '')
