// The one place that builds the Prisma client. DATABASE_URL picks the provider: SQLite
// (better-sqlite3, a file; the default) or PostgreSQL (node-postgres). The two generated clients
// come from one schema (scripts/prisma-generate.mjs) and have the same API; the SQLite one's type
// stands for both.
import { PrismaPg } from '@prisma/adapter-pg'
import { PrismaClient } from './generated/client.ts'
import { PrismaClient as PgPrismaClient } from './generated-pg/client.ts'
import { migratePostgres, migrateSqlite } from './migrate.ts'
import { sqliteAdapter } from './sqliteAdapter.ts'
import type { Config } from '../config.ts'

export type Db = InstanceType<typeof PrismaClient>

const providers = new WeakMap<Db, 'sqlite' | 'postgresql'>()

/** For the few statements the two dialects spell differently (repositories only). */
export const providerOf = (db: Db): 'sqlite' | 'postgresql' => providers.get(db) ?? 'sqlite'

/** The web app applies migrations; the seeder, a reader, opens without (`migrate: false`). */
export async function openDatabase(config: Config, opts: { migrate?: boolean } = {}): Promise<Db> {
  if (config.databaseFile === null) {
    if (opts.migrate !== false) await migratePostgres(config.databaseUrl)
    const adapter = new PrismaPg({ connectionString: config.databaseUrl })
    const db = new PgPrismaClient({ adapter }) as unknown as Db
    providers.set(db, 'postgresql')
    return db
  }
  if (opts.migrate !== false) migrateSqlite(config.databaseFile)
  const adapter = sqliteAdapter(`file:${config.databaseFile}`)
  const db = new PrismaClient({ adapter })
  await db.$executeRawUnsafe('PRAGMA busy_timeout = 5000')
  await db.$queryRawUnsafe('PRAGMA foreign_keys = ON')
  return db
}
