// How the web app and a seeder that runs as its own service (SEEDER=off in the web app, `npm run
// seeder` beside it) keep in touch through the database they share: the web app bumps a
// generation on every publish, delete and BitTorrent setting change, which the seeder polls each
// second (a one-row read) to rescan at once; the seeder writes a heartbeat with its status,
// which the web app's /healthz and /metrics read: one per shard when several seeders split the
// torrents (SEEDER_SHARD). A supervised seeder uses IPC instead.
import { providerOf, type Db } from '../db/client.ts'
import { dateArg, type Provider } from '../db/directReads.ts'

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

// The generation is a counter, moved by one in one statement (the row is locked meanwhile), so a
// process knows which values it wrote and its own watcher can skip them: on a site with 10,000
// videos a re-read after each of its own uploads dropped every kept page and read every torrent
// again. A value that is not a counter (from a version that wrote random ones) starts it at 1.
const BUMP: Record<Provider, string> = {
  sqlite: `INSERT INTO "Setting" ("key", "value", "updatedAt") VALUES (?, '1', ?)
    ON CONFLICT ("key") DO UPDATE SET "updatedAt" = excluded."updatedAt", "value" =
      CASE WHEN length("Setting"."value") BETWEEN 1 AND 15 AND "Setting"."value" NOT GLOB '*[^0-9]*'
      THEN CAST(CAST("Setting"."value" AS INTEGER) + 1 AS TEXT) ELSE '1' END
    RETURNING "value"`,
  postgresql: `INSERT INTO "Setting" ("key", "value", "updatedAt") VALUES ($1, '1', $2::timestamp)
    ON CONFLICT ("key") DO UPDATE SET "updatedAt" = EXCLUDED."updatedAt", "value" =
      CASE WHEN "Setting"."value" ~ '^[0-9]{1,15}$' THEN ("Setting"."value"::bigint + 1)::text ELSE '1' END
    RETURNING "value"`,
}

// The values this process wrote, by database handle; the last few are enough (a watcher reads every second).
const OWN_KEPT = 64
const ownBumps = new WeakMap<Db, Set<string>>()
// Bumps under way: a watcher may read the new value before the bump has heard which it is (seen
// on PostgreSQL, the two on different connections), so it decides at its next read. (A process
// bumping without a pause puts its watcher off meanwhile; past OWN_KEPT of its own it wakes once.)
const bumping = new WeakMap<Db, number>()

/** Something the seeder (and every other web process) must see changed. */
export async function bumpGeneration(db: Db): Promise<void> {
  const p = providerOf(db)
  bumping.set(db, (bumping.get(db) ?? 0) + 1)
  try {
    const rows = await db.$queryRawUnsafe<{ value: string }[]>(BUMP[p], GENERATION, dateArg(p, new Date()))
    let own = ownBumps.get(db)
    if (!own) ownBumps.set(db, (own = new Set()))
    own.add(String(rows[0]!.value))
    if (own.size > OWN_KEPT) own.delete(own.values().next().value!)
  } finally {
    bumping.set(db, bumping.get(db)! - 1)
  }
}

/** Whether every step from `last` to `now` was this process's own bump. */
function onlyOwnBumps(db: Db, last: string | null, now: string | null): boolean {
  const own = ownBumps.get(db)
  const from = last === null ? 0 : Number(last)
  const to = Number(now)
  if (!own || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || to <= from || to - from > own.size)
    return false
  for (let n = from + 1; n <= to; n++) if (!own.has(String(n))) return false
  return true
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
 * Calls `onChange` when the generation moves: another process (the CLI's import, another web
 * process) published or changed something this one must follow. Its own bumps do not call it.
 */
export function watchGeneration(db: Db, everyMs: number, onChange: () => Promise<void>): { stop(): void } {
  let last: string | null | undefined
  let busy = false
  const timer = setInterval(() => {
    if (busy) return
    busy = true
    readGeneration(db)
      .then(async (now) => {
        if (last !== undefined && now !== last && !onlyOwnBumps(db, last, now)) {
          if (bumping.get(db)) return
          await onChange()
        }
        last = now
      })
      .catch(() => {})
      .finally(() => {
        busy = false
      })
  }, everyMs)
  return { stop: () => clearInterval(timer) }
}
