// Applies prisma/migrations/* in order, once each: migration.sql on SQLite, postgresql.sql on
// PostgreSQL (the same steps in each dialect; test/unit/schema-sql.test.ts and
// test/integration/schema-postgresql.test.ts check each set against the schema). The Prisma CLI's
// migrate engine cannot be downloaded on our machines, so the app does it at start.
import Database from 'better-sqlite3'
import pg from 'pg'
import { readdirSync, readFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { fromRoot } from '../projectPaths.ts'

const MIGRATIONS_DIR = fromRoot('prisma', 'migrations')

function listMigrations(dir: string, file: 'migration.sql' | 'postgresql.sql'): { name: string; sql: string }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => ({ name, sql: readFileSync(path.join(dir, name, file), 'utf8') }))
}

/** Returns the names of the migrations applied by this call. */
export function migrateSqlite(file: string, dir = MIGRATIONS_DIR): string[] {
  mkdirSync(path.dirname(file), { recursive: true })
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    db.exec('CREATE TABLE IF NOT EXISTS "_seedcast_migrations" ("name" TEXT PRIMARY KEY, "appliedAt" TEXT NOT NULL)')
    const done = new Set(db.prepare('SELECT name FROM _seedcast_migrations').pluck().all() as string[])
    const applied: string[] = []
    for (const m of listMigrations(dir, 'migration.sql')) {
      if (done.has(m.name)) continue
      db.transaction(() => {
        db.exec(m.sql)
        db.prepare('INSERT INTO _seedcast_migrations (name, appliedAt) VALUES (?, ?)').run(
          m.name,
          new Date().toISOString(),
        )
      })()
      applied.push(m.name)
    }
    return applied
  } finally {
    db.close()
  }
}

// Any fixed number: every process of the site takes this lock, so two starting at once apply
// each migration once, the second waiting for the first.
const MIGRATION_LOCK = 0x5eedca57

/** PostgreSQL: each migration in its own transaction, under an advisory lock; returns those applied. */
export async function migratePostgres(url: string, dir = MIGRATIONS_DIR): Promise<string[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    await client.query(
      'CREATE TABLE IF NOT EXISTS "_seedcast_migrations" ("name" TEXT PRIMARY KEY, "appliedAt" TEXT NOT NULL)',
    )
    const done = new Set((await client.query('SELECT name FROM _seedcast_migrations')).rows.map((r) => r.name))
    const applied: string[] = []
    for (const m of listMigrations(dir, 'postgresql.sql')) {
      if (done.has(m.name)) continue
      await client.query('BEGIN')
      try {
        await client.query(m.sql)
        await client.query('INSERT INTO _seedcast_migrations (name, "appliedAt") VALUES ($1, $2)', [
          m.name,
          new Date().toISOString(),
        ])
        await client.query('COMMIT')
      } catch (err) {
        await client.query('ROLLBACK')
        throw new Error(`migration ${m.name} failed on PostgreSQL: ${(err as Error).message}`)
      }
      applied.push(m.name)
    }
    return applied
  } finally {
    await client.end() // also releases the advisory lock
  }
}
