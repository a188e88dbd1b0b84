// The one place that builds the Prisma client. DATABASE_URL picks the provider: SQLite
// (better-sqlite3, a file; the default) or PostgreSQL (node-postgres). The two generated clients
// come from one schema (scripts/prisma-generate.mjs) and have the same API; the SQLite one's type
// stands for both.
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { PrismaClient } from './generated/client.ts'
import { PrismaClient as PgPrismaClient } from './generated-pg/client.ts'
import { migratePostgres, migrateSqlite } from './migrate.ts'
import { sqliteAdapter, sqliteConnection } from './sqliteAdapter.ts'
import { type DirectReads, type Provider, postgresReads, sqliteReads } from './directReads.ts'
import type { Config } from '../config.ts'

export type Db = InstanceType<typeof PrismaClient>

const direct = new WeakMap<Db, DirectReads>()

/** For the few statements the two dialects spell differently (repositories only). */
export const providerOf = (db: Db): Provider => direct.get(db)?.provider ?? 'sqlite'

/** The driver under Prisma, for the hottest reads (repositories only: src/db/directReads.ts). */
export function directReads(db: Db): DirectReads {
  const reads = direct.get(db)
  if (!reads) throw new Error('directReads: not a database openDatabase opened')
  return reads
}

/** The web app applies migrations; the seeder, a reader, opens without (`migrate: false`). */
export async function openDatabase(config: Config, opts: { migrate?: boolean } = {}): Promise<Db> {
  if (config.databaseFile === null) {
    if (opts.migrate !== false) await migratePostgres(config.databaseUrl)
    // The pool is Prisma's (closed by $disconnect) and the direct reads'.
    const pool = new pg.Pool({ connectionString: config.databaseUrl })
    const adapter = new PrismaPg(pool, { disposeExternalPool: true })
    const db = new PgPrismaClient({ adapter }) as unknown as Db
    direct.set(db, postgresReads(pool))
    return db
  }
  if (opts.migrate !== false) migrateSqlite(config.databaseFile)
  const adapter = sqliteAdapter(`file:${config.databaseFile}`)
  const db = new PrismaClient({ adapter })
  direct.set(
    db,
    sqliteReads(() => sqliteConnection(adapter)),
  )
  await db.$executeRawUnsafe('PRAGMA busy_timeout = 5000')
  await db.$queryRawUnsafe('PRAGMA foreign_keys = ON')
  return db
}
