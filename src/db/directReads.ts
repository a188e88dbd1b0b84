// The hottest reads (a video page's video and its swarm chart, a list's ids and videos) go to the
// driver under Prisma instead of through it: Prisma's query interpreter costs most of such a read
// (SQLite, 10,000 videos, 2026-12-08: a video's one statement 91 µs of CPU through $queryRaw and
// 24 µs here; the swarm samples 68 µs through findMany and 9 µs here). Repositories only, as
// Prisma is, and only for reads: Prisma keeps every write and transaction. The driver is the one
// Prisma holds (src/db/client.ts): SQLite's connection (so a read inside a Prisma transaction sees
// what Prisma would), PostgreSQL's pool. Values come as the driver gives them, with fixes so that
// both providers give the same: PostgreSQL's BIGINT as text and TIMESTAMP as a Date in UTC
// whatever the process's zone; SQLite's integers come as BigInt (its connection's setting) and
// dates as the text Prisma stored. src/media/videoReads.ts types them by column.
import { createHash } from 'node:crypto'
import pg from 'pg'
import type { SqliteConnection } from './sqliteAdapter.ts'

export type Provider = 'sqlite' | 'postgresql'
type Row = Record<string, unknown>

export interface DirectReads {
  readonly provider: Provider
  /** `sql` with `?` placeholders on SQLite, `$1…` on PostgreSQL. */
  all(sql: string, args: readonly unknown[]): Promise<Row[]>
}

// SQLite holds what Prisma wrote ("2026-12-07T10:00:00.000+00:00") or CURRENT_TIMESTAMP's
// "2026-12-07 10:00:00"; PostgreSQL's come as Dates (below), or inside JSON as ISO text without a zone. All are UTC.
export const readDate = (v: unknown): Date => {
  if (v instanceof Date) return v
  const s = String(v)
  return new Date(/(Z|[+-]\d\d:\d\d)$/.test(s) ? s : `${s.replace(' ', 'T')}Z`)
}

/** A date as an argument, compared with what Prisma stored: its text on SQLite, UTC on PostgreSQL (cast to TIMESTAMP there). */
export const dateArg = (provider: Provider, d: Date): string =>
  provider === 'sqlite' ? d.toISOString().replace('Z', '+00:00') : d.toISOString()

export function sqliteReads(connection: () => SqliteConnection | null): DirectReads {
  return {
    provider: 'sqlite',
    async all(sql, args) {
      const db = connection()
      if (!db) throw new Error('the SQLite database is not open')
      return db.statement(sql).all(...args) as Row[]
    },
  }
}

// TIMESTAMP(3) (no zone) is UTC here, as Prisma writes it; node-postgres would read it in the
// process's zone. INT8 as its text: a BigInt's digits, whatever parser the process set globally.
const TIMESTAMP = 1114
const INT8 = 20
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === TIMESTAMP
      ? readDate
      : oid === INT8
        ? (text: string) => text
        : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

export function postgresReads(pool: pg.Pool): DirectReads {
  // Named, so each connection parses a text once, and planned once: PostgreSQL would plan a
  // video's read again at every run (it kept choosing custom plans: 0.51 ms a read from Node
  // against 0.31 ms with the one generic plan, 2026-12-08). Prisma names none of its statements,
  // so the setting reaches only these.
  pool.on('connect', (client) => {
    client.query('SET plan_cache_mode = force_generic_plan').catch(() => {})
  })
  const names = new Map<string, string>()
  const nameOf = (sql: string) => {
    let name = names.get(sql)
    if (!name) names.set(sql, (name = `seedcast_${createHash('sha1').update(sql).digest('hex').slice(0, 20)}`))
    return name
  }
  return {
    provider: 'postgresql',
    async all(sql, args) {
      const result = await pool.query({ name: nameOf(sql), text: sql, values: [...args], types })
      return result.rows as Row[]
    },
  }
}
