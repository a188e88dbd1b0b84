// How the web app and a seeder that runs as its own service (SEEDER=off in the web app, `npm run
// seeder` beside it) keep in touch through the database they share: the web app bumps a
// generation on every publish, delete and BitTorrent setting change, which the seeder polls each
// second (a one-row read) to rescan at once; the seeder writes a heartbeat with its status,
// which the web app's /healthz and /metrics read: one per shard when several seeders split the
// torrents (SEEDER_SHARD). A supervised seeder uses IPC instead.
import type { Db } from '../db/client.ts'

const GENERATION = 'seederGeneration'
const HEARTBEAT = 'seederHeartbeat'
/** A heartbeat older than this means the seeder is gone (it writes one every 5 s). */
export const HEARTBEAT_STALE_MS = 20_000
/** Older than this, a shard's heartbeat is of a seeder that was retired (or re-sharded): not reported. */
const HEARTBEAT_FORGOTTEN_MS = 3600_000

export interface SeederHeartbeat {
  at: number
  pid: number
  /** `i/n` (SEEDER_SHARD): which share of the torrents it seeds. */
  shard: string
  seeding: number
  port: number
  problems: { fileName: string; reason: string }[]
  refusals: Record<string, number>
}

async function put(db: Db, key: string, value: string): Promise<void> {
  await db.setting.upsert({ where: { key }, create: { key, value }, update: { value } })
}

async function read(db: Db, key: string): Promise<string | null> {
  return (await db.setting.findUnique({ where: { key }, select: { value: true } }))?.value ?? null
}

/** Something the seeder must see changed. */
export async function bumpGeneration(db: Db): Promise<void> {
  await put(db, GENERATION, `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`)
}

export const readGeneration = (db: Db) => read(db, GENERATION)

// The whole site's seeder keeps the key it always had; shards have one each.
const heartbeatKey = (shard: string) => (shard === '1/1' ? HEARTBEAT : `${HEARTBEAT}:${shard}`)

export const writeHeartbeat = (db: Db, beat: SeederHeartbeat) => put(db, heartbeatKey(beat.shard), JSON.stringify(beat))

/** Every seeder's last heartbeat (one per shard), oldest shard name first; unreadable ones left out. */
export async function readHeartbeats(db: Db): Promise<SeederHeartbeat[]> {
  const rows = await db.setting.findMany({
    where: { OR: [{ key: HEARTBEAT }, { key: { startsWith: `${HEARTBEAT}:` } }] },
    orderBy: { key: 'asc' },
    select: { value: true },
  })
  return rows.flatMap((r) => {
    try {
      const beat = JSON.parse(r.value) as SeederHeartbeat
      return [{ ...beat, shard: beat.shard ?? '1/1' }]
    } catch {
      return []
    }
  })
}

function oneSeeder(beat: SeederHeartbeat, nowMs: number) {
  return {
    state: nowMs - beat.at <= HEARTBEAT_STALE_MS ? ('running' as const) : ('unreachable' as const),
    separate: true,
    shard: beat.shard,
    pid: beat.pid,
    seeding: beat.seeding,
    port: beat.port,
    problems: beat.problems,
    lastSeen: new Date(beat.at).toISOString(),
  }
}

/**
 * What /healthz says of seeders that run as their own services: one reads as before; several
 * (shards) read as running only when each is, with their sum and each one's own report.
 */
export function separateSeederHealth(beats: SeederHeartbeat[], nowMs: number) {
  const live = beats.filter((b) => nowMs - b.at <= HEARTBEAT_FORGOTTEN_MS)
  if (live.length === 0) return { state: 'off' as const }
  if (live.length === 1) return oneSeeder(live[0]!, nowMs)
  const each = live.map((b) => oneSeeder(b, nowMs))
  return {
    state: each.every((s) => s.state === 'running') ? ('running' as const) : ('unreachable' as const),
    separate: true,
    seeding: each.reduce((n, s) => n + s.seeding, 0),
    problems: each.flatMap((s) => s.problems),
    shards: each,
  }
}

/** The seeders' refusal counters, summed over shards (for /metrics). */
export function heartbeatRefusals(beats: SeederHeartbeat[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const b of beats) for (const [k, v] of Object.entries(b.refusals ?? {})) out[k] = (out[k] ?? 0) + v
  return out
}

/**
 * Calls `onChange` when the generation moves: another process (the CLI's import) published or
 * changed something this one must follow. Its own bumps call it too, which costs one re-read.
 */
export function watchGeneration(db: Db, everyMs: number, onChange: () => Promise<void>): { stop(): void } {
  let last: string | null | undefined
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    readGeneration(db)
      .then(async (now) => {
        if (last !== undefined && now !== last) await onChange()
        last = now
      })
      .catch(() => {})
      .finally(() => {
        busy = false
      })
  }, everyMs)
  return { stop: () => clearInterval(timer) }
}
