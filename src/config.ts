// Configuration is read from the environment once, validated, and exported typed.
// A bad value stops the start with one line naming the variable and the reason.
import { z } from 'zod'
import path from 'node:path'

const GiB = 1024 ** 3

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  STORAGE_DIR: z.string().min(1).default('./storage'),
  DATABASE_URL: z.string().regex(/^file:.+/, 'must be file:<path> (SQLite)').optional(),
  ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(20 * GiB),
  SEEDER: z.enum(['on', 'off']).default('on'),
  TRUST_PROXY: z.enum(['on', 'off']).default('off'),
  SEEDER_PORT: z.coerce.number().int().min(0).max(65535).default(6881),
  SEEDER_RESCAN_SECONDS: z.coerce.number().int().min(1).max(86400).default(30),
  SEEDER_ENGINE: z.enum(['lean', 'webtorrent']).default('lean'),
  TRACKER_UDP_PORT: z.coerce.number().int().min(0).max(65535).default(6969),
  TRACKER_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(86400).default(300),
  TRACKER_MIN_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86400).default(60),
  TRACKER_MAX_NUMWANT: z.coerce.number().int().min(1).max(500).default(50),
  TRACKER_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).max(1_000_000).default(600),
  TRACKER_SAMPLE_SECONDS: z.coerce.number().int().min(1).max(86400).default(300),
}).refine((c) => c.TRACKER_MIN_INTERVAL_SECONDS <= c.TRACKER_INTERVAL_SECONDS, {
  path: ['TRACKER_MIN_INTERVAL_SECONDS'], message: 'must not be larger than TRACKER_INTERVAL_SECONDS',
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
  databaseFile: string
  adminPassword: string | undefined
  maxUploadBytes: number
  /** Whether `npm start` runs and supervises the seeder process (bt_server/). */
  seederEnabled: boolean
  /** Behind one reverse proxy: take the peer's address from the last X-Forwarded-For entry. */
  trustProxy: boolean
  seederPort: number
  seederRescanSeconds: number
  /** Which seeding engine bt_server runs: our own lean one, or webtorrent. */
  seederEngine: 'lean' | 'webtorrent'
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
  }
  version: string
}

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''))
  const parsed = schema.safeParse(cleaned)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const value = cleaned[String(issue.path[0])]
    throw new ConfigError(`Invalid ${String(issue.path[0])}=${JSON.stringify(value)}: ${issue.message}`)
  }
  const c = parsed.data
  const storageDir = path.resolve(c.STORAGE_DIR)
  const databaseUrl = c.DATABASE_URL ?? `file:${path.join(storageDir, 'seedcast.db')}`
  const publicUrl = (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '')
  return {
    port: c.PORT,
    host: c.HOST,
    publicUrl,
    storageDir,
    databaseUrl,
    databaseFile: path.resolve(databaseUrl.slice('file:'.length)),
    adminPassword: c.ADMIN_PASSWORD,
    maxUploadBytes: c.MAX_UPLOAD_BYTES,
    seederEnabled: c.SEEDER === 'on',
    trustProxy: c.TRUST_PROXY === 'on',
    seederPort: c.SEEDER_PORT,
    seederRescanSeconds: c.SEEDER_RESCAN_SECONDS,
    seederEngine: c.SEEDER_ENGINE,
    tracker: {
      udpPort: c.TRACKER_UDP_PORT,
      intervalSeconds: c.TRACKER_INTERVAL_SECONDS,
      minIntervalSeconds: c.TRACKER_MIN_INTERVAL_SECONDS,
      maxNumwant: c.TRACKER_MAX_NUMWANT,
      rateLimitPerMinute: c.TRACKER_RATE_LIMIT_PER_MINUTE,
      sampleSeconds: c.TRACKER_SAMPLE_SECONDS,
    },
    version: '0.1.0',
  }
}
