// The one place that builds the Prisma client. DATABASE_URL picks the driver adapter;
// SQLite (better-sqlite3) is the embedded default, PostgreSQL's adapter slots in here later.
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaClient } from './generated/client.ts'
import { migrateSqlite } from './migrate.ts'
import type { Config } from '../config.ts'

export type Db = InstanceType<typeof PrismaClient>

/** The web app applies migrations; the seeder, a reader, opens without (`migrate: false`). */
export async function openDatabase(config: Config, opts: { migrate?: boolean } = {}): Promise<Db> {
  if (opts.migrate !== false) migrateSqlite(config.databaseFile)
  const adapter = new PrismaBetterSqlite3({ url: `file:${config.databaseFile}` })
  const db = new PrismaClient({ adapter })
  await db.$executeRawUnsafe('PRAGMA busy_timeout = 5000')
  await db.$queryRawUnsafe('PRAGMA foreign_keys = ON')
  return db
}
