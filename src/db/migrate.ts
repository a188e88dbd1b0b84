// Applies prisma/migrations/*/migration.sql in order, once each. The Prisma CLI's
// migrate engine cannot be downloaded on our machines, so the app does it at start.
import Database from 'better-sqlite3'
import { readdirSync, readFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations/', import.meta.url))

function listMigrations(dir = MIGRATIONS_DIR): { name: string; sql: string }[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => ({ name, sql: readFileSync(path.join(dir, name, 'migration.sql'), 'utf8') }))
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
    for (const m of listMigrations(dir)) {
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
