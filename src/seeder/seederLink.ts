// How the web app and a seeder that runs as its own service (SEEDER=off in the web app, `npm run
// seeder` beside it) keep in touch through the database they share: the web app bumps a
// generation on every publish, delete and BitTorrent setting change, which the seeder polls each
// second (a one-row read) to rescan at once; the seeder writes a heartbeat with its status,
// which the web app's /healthz and /metrics read. A supervised seeder uses IPC instead.
import type { Db } from '../db/client.ts'

const GENERATION = 'seederGeneration'
const HEARTBEAT = 'seederHeartbeat'
/** A heartbeat older than this means the seeder is gone (it writes one every 5 s). */
export const HEARTBEAT_STALE_MS = 20_000

export interface SeederHeartbeat {
  at: number
  pid: number
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

export const writeHeartbeat = (db: Db, beat: SeederHeartbeat) => put(db, HEARTBEAT, JSON.stringify(beat))

export async function readHeartbeat(db: Db): Promise<SeederHeartbeat | null> {
  const raw = await read(db, HEARTBEAT)
  if (!raw) return null
  try {
    return JSON.parse(raw) as SeederHeartbeat
  } catch {
    return null
  }
}

/** What /healthz says of a seeder that runs as its own service. */
export function separateSeederHealth(beat: SeederHeartbeat | null, nowMs: number) {
  if (!beat) return { state: 'off' as const }
  const base = {
    separate: true,
    pid: beat.pid,
    seeding: beat.seeding,
    port: beat.port,
    problems: beat.problems,
    lastSeen: new Date(beat.at).toISOString(),
  }
  return { state: nowMs - beat.at <= HEARTBEAT_STALE_MS ? ('running' as const) : ('unreachable' as const), ...base }
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
