// Configuration is read from the environment once, validated, and exported typed.
// A bad value stops the start with one line naming the variable and the reason.
import { z } from 'zod'
import path from 'node:path'
// Type only: the seeder's bounds are described once, where the engine that applies them lives.
import type { SeederLimits } from '../bt_server/lean/limits.ts'

const GiB = 1024 ** 3

const schema = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
    STORAGE_DIR: z.string().min(1).default('./storage'),
    DATABASE_URL: z
      .string()
      .regex(/^(file:.+|postgres(ql)?:\/\/.+)/, 'must be file:<path> (SQLite) or postgresql://… (PostgreSQL)')
      .optional(),
    ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
    MAX_UPLOAD_BYTES: z.coerce
      .number()
      .int()
      .positive()
      .default(20 * GiB),
    // Resumable (tus) uploads: an unfinished one is removed this long after its last byte.
    TUS_EXPIRY_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(30 * 86400)
      .default(86400),
    TUS_MAX_UNFINISHED_PER_USER: z.coerce.number().int().min(1).max(10_000).default(10),
    // A video's extra files (subtitles, renditions, a poster): how many, and their total bytes.
    RELEASE_MAX_FILES: z.coerce.number().int().min(0).max(1000).default(20),
    RELEASE_MAX_BYTES: z.coerce
      .number()
      .int()
      .min(0)
      .default(4 * GiB),
    SEEDER: z.enum(['on', 'off']).default('on'),
    // Web processes answering the port (src/cluster/): more than one shares the tracker's swarms through an owner.
    WEB_WORKERS: z.coerce.number().int().min(1).max(64).default(1),
    TRUST_PROXY: z.enum(['on', 'off']).default('off'),
    // Anonymous video pages kept drawn (src/web/pageCache.ts): memory at most, and how long a copy serves.
    PAGE_CACHE_MB: z.coerce.number().int().min(0).max(65_536).default(128),
    PAGE_CACHE_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
    // Behind nginx: media bytes are sent by nginx from this internal location (X-Accel-Redirect).
    ACCEL_REDIRECT: z
      .string()
      .regex(/^\/[A-Za-z0-9_\-/]*\/$/, 'a path that starts and ends with /, e.g. /_media/')
      .optional(),
    SEEDER_PORT: z.coerce.number().int().min(0).max(65535).default(6881),
    SEEDER_RESCAN_SECONDS: z.coerce.number().int().min(1).max(86400).default(30),
    SEEDER_ENGINE: z.enum(['lean', 'webtorrent']).default('lean'),
    // This seeder seeds shard i of n of the torrents (by infohash, bt_server/shard.ts); 1/1: all.
    SEEDER_SHARD: z
      .string()
      .regex(/^[1-9]\d{0,1}\/[1-9]\d{0,1}$/, 'must be i/n, e.g. 1/2 (at most 99 seeders)')
      .refine((v) => Number(v.split('/')[0]) <= Number(v.split('/')[1]), 'i must not be greater than n')
      .default('1/1'),
    // Lean seeder bounds (bt_server/lean/limits.ts; counted in /metrics as seeder_*).
    SEEDER_MAX_PEERS: z.coerce.number().int().min(1).max(1_000_000).default(2000),
    SEEDER_PEERS_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(16),
    SEEDER_HANDSHAKES_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(8),
    SEEDER_PEERS_PER_TORRENT: z.coerce.number().int().min(1).max(100_000).default(100),
    SEEDER_UNCHOKED_PER_TORRENT: z.coerce.number().int().min(1).max(100_000).default(50),
    SEEDER_HANDSHAKE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(20),
    SEEDER_UNCHOKED_IDLE_SECONDS: z.coerce.number().int().min(1).max(3600).default(5),
    SEEDER_PEER_SEND_BUFFER_BYTES: z.coerce
      .number()
      .int()
      .min(64 * 1024)
      .max(1024 ** 3)
      .default(1024 ** 2),
    SEEDER_PEER_RECV_BUFFER_BYTES: z.coerce
      .number()
      .int()
      .min(140 * 1024)
      .max(1024 ** 3)
      .default(256 * 1024),
    SEEDER_SEND_BUFFER_TOTAL_BYTES: z.coerce
      .number()
      .int()
      .min(1024 ** 2)
      .max(64 * GiB)
      .default(64 * 1024 ** 2),
    SEEDER_SEND_STALL_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
    TRACKER_UDP_PORT: z.coerce.number().int().min(0).max(65535).default(6969),
    TRACKER_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(86400).default(300),
    TRACKER_MIN_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
    TRACKER_MAX_NUMWANT: z.coerce.number().int().min(1).max(500).default(50),
    TRACKER_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(600),
    TRACKER_SAMPLE_SECONDS: z.coerce.number().int().min(1).max(86400).default(300),
    // Tracker bounds (src/tracker/embeddedTracker.ts); "address" is an IPv4 address or an IPv6 /64.
    TRACKER_MAX_PEERS: z.coerce.number().int().min(1).max(100_000_000).default(200_000),
    TRACKER_MAX_PEERS_PER_ADDRESS: z.coerce.number().int().min(1).max(1_000_000).default(16),
    TRACKER_COMPLETIONS_PER_ADDRESS: z.coerce.number().int().min(0).max(1_000_000).default(3),
    TRACKER_MAX_COMPLETION_RECORDS: z.coerce.number().int().min(4).max(100_000_000).default(100_000),
    TRACKER_WS_MAX_MESSAGE_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(100 * 1024 ** 2)
      .default(64 * 1024),
    // Below WEB_MAX_CONNECTIONS: WebSocket peers hold web connections, and pages need some too.
    TRACKER_WS_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(10_000_000).default(256),
    TRACKER_WS_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(1).max(10_000_000).default(16),
    TRACKER_WS_MAX_PEERS_PER_CONNECTION: z.coerce.number().int().min(1).max(1_000_000).default(32),
    TRACKER_WS_MAX_BUFFERED_BYTES: z.coerce
      .number()
      .int()
      .min(16 * 1024)
      .max(GiB)
      .default(128 * 1024),
    // Web server bounds (src/web/httpGuards.ts). Each connection may hold a second file descriptor
    // (the file it serves or receives), so keep WEB_MAX_CONNECTIONS under half of `ulimit -n`.
    WEB_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(400),
    // Per TCP peer (IPv6 by /64); 0 = none. Not applied with TRUST_PROXY=on: every connection is the proxy's.
    WEB_MAX_CONNECTIONS_PER_ADDRESS: z.coerce.number().int().min(0).max(1_000_000).default(64),
    WEB_HEADERS_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(20),
    // A request body that delivers less than WEB_BODY_MIN_KIB in WEB_BODY_WINDOW_SECONDS is dropped; 0 = no minimum.
    WEB_BODY_MIN_KIB: z.coerce.number().int().min(0).max(1_048_576).default(16),
    WEB_BODY_WINDOW_SECONDS: z.coerce.number().int().min(1).max(3600).default(10),
    // Failed log-ins + Basic auth per client address (IPv6 by /64): a bucket of AUTH_MAX_FAILURES
    // refilled over AUTH_FAILURE_WINDOW_SECONDS; 0 = no limit.
    AUTH_MAX_FAILURES: z.coerce.number().int().min(0).max(1_000_000).default(10),
    AUTH_FAILURE_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86400).default(600),
    AUTH_THROTTLE_MAX_ADDRESSES: z.coerce.number().int().min(1).max(10_000_000).default(10_000),
    // Password hashes (scrypt, on libuv's 4-thread pool shared with file I/O) at once, and waiting.
    AUTH_MAX_CONCURRENT_HASHES: z.coerce.number().int().min(1).max(64).default(2),
    AUTH_HASH_QUEUE: z.coerce.number().int().min(0).max(10_000).default(16),
    // The import folder (src/media/importFolder.ts): off unless set.
    IMPORT_DIR: z.string().min(1).optional(),
    IMPORT_SETTLE_SECONDS: z.coerce.number().min(0.1).max(86400).default(30),
    IMPORT_OWNER: z.string().min(1).max(64).optional(),
  })
  .refine((c) => c.TRACKER_MIN_INTERVAL_SECONDS <= c.TRACKER_INTERVAL_SECONDS, {
    path: ['TRACKER_MIN_INTERVAL_SECONDS'],
    message: 'must not be larger than TRACKER_INTERVAL_SECONDS',
  })

/** Every variable the configuration reads (the guide's env file is checked against it). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape)

export interface Config {
  port: number
  host: string
  /** No trailing slash; base of every URL written into torrents and pages. */
  publicUrl: string
  storageDir: string
  databaseUrl: string
  databaseFile: string | null
  adminPassword: string | undefined
  maxUploadBytes: number
  /** Resumable uploads: seconds after its last byte that an unfinished one is removed; how many one user may hold. */
  tus: { expirySeconds: number; maxUnfinishedPerUser: number }
  /** A video's extra files: at most maxFiles, maxBytes together (src/media/releaseFiles.ts). */
  release: { maxFiles: number; maxBytes: number }
  /** Whether `npm start` runs and supervises the seeder process (bt_server/). */
  seederEnabled: boolean
  /** Web processes on the port; above 1, an owner process holds the swarms and the jobs (src/cluster/). */
  webWorkers: number
  /** Behind one reverse proxy: take the peer's address from the last X-Forwarded-For entry. */
  trustProxy: boolean
  /** nginx's internal location of media/ (X-Accel-Redirect): nginx sends the bytes; null: Node does. */
  accelRedirect: string | null
  /** Anonymous video pages sent again as drawn (src/web/pageCache.ts); maxBytes 0: off. */
  pageCache: { maxBytes: number; ttlMs: number }
  seederPort: number
  seederRescanSeconds: number
  /** Which seeding engine bt_server runs: our own lean one, or webtorrent. */
  seederEngine: 'lean' | 'webtorrent'
  seederShard: { index: number; count: number }
  /** Bounds of the lean seeder on what peers can make it hold (bt_server/lean/limits.ts). */
  seederLimits: SeederLimits
  /** The SEEDER_* variables as given, for the supervised seeder, which reads them itself. */
  seederVariables: Record<string, string>
  tracker: {
    /** UDP tracker port; 0 = no UDP tracker. */
    udpPort: number
    intervalSeconds: number
    minIntervalSeconds: number
    maxNumwant: number
    /** Announces + scrapes per minute from one address; 0 = no limit. */
    rateLimitPerMinute: number
    /** How often every swarm's size is stored for the history charts. */
    sampleSeconds: number
    /** HTTP/UDP peers stored in all; a full store drops a peer of the address holding the most. */
    maxPeers: number
    /** Peers one address may have in one swarm: HTTP/UDP ones (more are answered, not stored), and WebSocket ones (more are refused). */
    maxPeersPerAddress: number
    /** Completions counted per torrent per address per peer TTL (2 intervals + 60 s). */
    completionsPerAddress: number
    /** (torrent, address) pairs remembered for that, in all (a quarter of it per torrent). */
    maxCompletionRecords: number
    /** WebSocket tracker: largest message (bigger: closed with 1009), connections in all and per address, (torrent, peer id) pairs per connection, unsent bytes per connection. */
    wsMaxMessageBytes: number
    wsMaxConnections: number
    wsMaxConnectionsPerAddress: number
    wsMaxPeersPerConnection: number
    wsMaxBufferedBytes: number
  }
  web: {
    maxConnections: number
    /** 0 = no per-address cap (and none with TRUST_PROXY=on). */
    maxConnectionsPerAddress: number
    headersTimeoutSeconds: number
    /** Minimum body progress: bodyMinKib KiB per bodyWindowSeconds; 0 = none. */
    bodyMinKib: number
    bodyWindowSeconds: number
  }
  auth: {
    /** Failed password checks per address per failureWindowSeconds; 0 = no limit. */
    maxFailures: number
    failureWindowSeconds: number
    throttleMaxAddresses: number
    maxConcurrentHashes: number
    hashQueue: number
  }
  import: {
    /** Absolute; null: no import folder. */
    dir: string | null
    /** A file is taken once its size and mtime stayed the same this long. */
    settleMs: number
    /** User name owning imported videos; null: the first enabled admin. */
    owner: string | null
  }
  version: string
}

export class ConfigError extends Error {}

// Never echoed in an error line: it would land in logs and terminals.
const SECRETS = new Set(['ADMIN_PASSWORD'])

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''))
  const parsed = schema.safeParse(cleaned)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const name = String(issue.path[0])
    const shown = SECRETS.has(name) ? ' (value not shown)' : `=${JSON.stringify(cleaned[name])}`
    throw new ConfigError(`Invalid ${name}${shown}: ${issue.message}`)
  }
  const c = parsed.data
  const storageDir = path.resolve(c.STORAGE_DIR)
  const importDir = c.IMPORT_DIR ? path.resolve(c.IMPORT_DIR) : null
  // Files there are moved into storage: a folder inside storage (or holding it) would import the site's own files.
  const inside = (a: string, b: string) => a === b || a.startsWith(`${b}${path.sep}`)
  if (importDir && (inside(importDir, storageDir) || inside(storageDir, importDir)))
    throw new ConfigError(
      `Invalid IMPORT_DIR=${JSON.stringify(c.IMPORT_DIR)}: must be outside STORAGE_DIR (${storageDir})`,
    )
  const databaseUrl = c.DATABASE_URL ?? `file:${path.join(storageDir, 'seedcast.db')}`
  const publicUrl = (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '')
  return {
    port: c.PORT,
    host: c.HOST,
    publicUrl,
    storageDir,
    databaseUrl,
    // null: the database is a PostgreSQL server (databaseUrl), not a file.
    databaseFile: databaseUrl.startsWith('file:') ? path.resolve(databaseUrl.slice('file:'.length)) : null,
    adminPassword: c.ADMIN_PASSWORD,
    maxUploadBytes: c.MAX_UPLOAD_BYTES,
    tus: { expirySeconds: c.TUS_EXPIRY_SECONDS, maxUnfinishedPerUser: c.TUS_MAX_UNFINISHED_PER_USER },
    release: { maxFiles: c.RELEASE_MAX_FILES, maxBytes: c.RELEASE_MAX_BYTES },
    seederEnabled: c.SEEDER === 'on',
    webWorkers: c.WEB_WORKERS,
    trustProxy: c.TRUST_PROXY === 'on',
    accelRedirect: c.ACCEL_REDIRECT ?? null,
    pageCache: { maxBytes: c.PAGE_CACHE_MB * 1024 * 1024, ttlMs: c.PAGE_CACHE_SECONDS * 1000 },
    seederPort: c.SEEDER_PORT,
    seederRescanSeconds: c.SEEDER_RESCAN_SECONDS,
    seederEngine: c.SEEDER_ENGINE,
    seederShard: { index: Number(c.SEEDER_SHARD.split('/')[0]), count: Number(c.SEEDER_SHARD.split('/')[1]) },
    seederVariables: Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('SEEDER_') && e[1] !== undefined),
    ),
    seederLimits: {
      maxPeers: c.SEEDER_MAX_PEERS,
      peersPerAddress: c.SEEDER_PEERS_PER_ADDRESS,
      handshakesPerAddress: c.SEEDER_HANDSHAKES_PER_ADDRESS,
      peersPerTorrent: c.SEEDER_PEERS_PER_TORRENT,
      unchokedPerTorrent: c.SEEDER_UNCHOKED_PER_TORRENT,
      handshakeTimeoutMs: c.SEEDER_HANDSHAKE_TIMEOUT_SECONDS * 1000,
      unchokedIdleMs: c.SEEDER_UNCHOKED_IDLE_SECONDS * 1000,
      peerSendBufferBytes: c.SEEDER_PEER_SEND_BUFFER_BYTES,
      peerRecvBufferBytes: c.SEEDER_PEER_RECV_BUFFER_BYTES,
      sendBufferTotalBytes: c.SEEDER_SEND_BUFFER_TOTAL_BYTES,
      sendStallMs: c.SEEDER_SEND_STALL_SECONDS * 1000,
    },
    tracker: {
      udpPort: c.TRACKER_UDP_PORT,
      intervalSeconds: c.TRACKER_INTERVAL_SECONDS,
      minIntervalSeconds: c.TRACKER_MIN_INTERVAL_SECONDS,
      maxNumwant: c.TRACKER_MAX_NUMWANT,
      rateLimitPerMinute: c.TRACKER_RATE_LIMIT_PER_MINUTE,
      sampleSeconds: c.TRACKER_SAMPLE_SECONDS,
      maxPeers: c.TRACKER_MAX_PEERS,
      maxPeersPerAddress: c.TRACKER_MAX_PEERS_PER_ADDRESS,
      completionsPerAddress: c.TRACKER_COMPLETIONS_PER_ADDRESS,
      maxCompletionRecords: c.TRACKER_MAX_COMPLETION_RECORDS,
      wsMaxMessageBytes: c.TRACKER_WS_MAX_MESSAGE_BYTES,
      wsMaxConnections: c.TRACKER_WS_MAX_CONNECTIONS,
      wsMaxConnectionsPerAddress: c.TRACKER_WS_MAX_CONNECTIONS_PER_ADDRESS,
      wsMaxPeersPerConnection: c.TRACKER_WS_MAX_PEERS_PER_CONNECTION,
      wsMaxBufferedBytes: c.TRACKER_WS_MAX_BUFFERED_BYTES,
    },
    web: {
      maxConnections: c.WEB_MAX_CONNECTIONS,
      maxConnectionsPerAddress: c.WEB_MAX_CONNECTIONS_PER_ADDRESS,
      headersTimeoutSeconds: c.WEB_HEADERS_TIMEOUT_SECONDS,
      bodyMinKib: c.WEB_BODY_MIN_KIB,
      bodyWindowSeconds: c.WEB_BODY_WINDOW_SECONDS,
    },
    auth: {
      maxFailures: c.AUTH_MAX_FAILURES,
      failureWindowSeconds: c.AUTH_FAILURE_WINDOW_SECONDS,
      throttleMaxAddresses: c.AUTH_THROTTLE_MAX_ADDRESSES,
      maxConcurrentHashes: c.AUTH_MAX_CONCURRENT_HASHES,
      hashQueue: c.AUTH_HASH_QUEUE,
    },
    import: {
      dir: importDir,
      settleMs: Math.round(c.IMPORT_SETTLE_SECONDS * 1000),
      owner: c.IMPORT_OWNER ?? null,
    },
    version: '0.1.0',
  }
}
