// The database under the tests: SQLite files by default; with TEST_POSTGRES_URL (a server from
// scripts/postgres.sh, as `npm test` on CI starts) every storage folder gets its own PostgreSQL
// database instead, named after the folder, so a server restarted on the same folder finds its
// data again, exactly as with the SQLite file inside it.
import { createHash } from 'node:crypto'
import path from 'node:path'
import Database from 'better-sqlite3'
import pg from 'pg'

const POSTGRES = process.env.TEST_POSTGRES_URL

/** The provider the tests run on. */
export const testDatabase: 'sqlite' | 'postgresql' = POSTGRES ? 'postgresql' : 'sqlite'

// COUNT(*) and BIGINT columns come back as text from node-postgres; the tests' values are small.
pg.types.setTypeParser(pg.types.builtins.INT8, Number)

const nameFor = (storageDir: string) =>
  `t_${createHash('sha1').update(path.resolve(storageDir)).digest('hex').slice(0, 24)}`

function urlOf(database: string): string {
  const url = new URL(POSTGRES!)
  url.pathname = `/${database}`
  return url.toString()
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES })
  await client.connect()
  try {
    return await fn(client)
  } finally {
    await client.end()
  }
}

/**
 * What a process on `storageDir` needs in its environment to use the tests' database: nothing for
 * SQLite (the file in the folder), DATABASE_URL for PostgreSQL (made by databaseEnv).
 */
export const databaseUrlEnv = (storageDir: string): Record<string, string> =>
  POSTGRES ? { DATABASE_URL: urlOf(nameFor(storageDir)) } : {}

/** databaseUrlEnv, the PostgreSQL database made first if it is missing (as an admin would). */
export async function databaseEnv(storageDir: string): Promise<Record<string, string>> {
  if (!POSTGRES) return {}
  const name = nameFor(storageDir)
  await admin(async (c) => {
    const found = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])
    if (found.rowCount === 0) await c.query(`CREATE DATABASE "${name}"`).catch(ignoreDuplicate)
  })
  return databaseUrlEnv(storageDir)
}

// Two servers started on one folder at once may both try to create it.
function ignoreDuplicate(err: { code?: string }): void {
  if (err.code !== '42P04' && err.code !== '23505') throw err
}

/** Removes the PostgreSQL database of `storageDir` (SQLite's goes with the folder). */
export async function dropDatabase(storageDir: string): Promise<void> {
  if (!POSTGRES) return
  await admin((c) => c.query(`DROP DATABASE IF EXISTS "${nameFor(storageDir)}" WITH (FORCE)`))
}

/**
 * Runs one statement on the database of a server's storage folder (or of a SQLite file, or its
 * folder, after the server stopped), beside the server's own connection. `?` placeholders on both.
 */
export async function sql<T = any>(
  target: { storageDir: string } | string,
  query: string,
  ...params: unknown[]
): Promise<T[]> {
  const where = typeof target === 'string' ? target : target.storageDir
  const storageDir = where.endsWith('.db') ? path.dirname(where) : where
  if (POSTGRES) {
    const client = new pg.Client({ connectionString: urlOf(nameFor(storageDir)) })
    await client.connect()
    try {
      let n = 0
      const text = query.replace(/\?/g, () => `$${++n}`)
      // No parameters: the simple protocol, which takes several statements at once.
      return (await (params.length > 0 ? client.query(text, params) : client.query(text))).rows as T[]
    } finally {
      await client.end()
    }
  }
  const db = new Database(where.endsWith('.db') ? where : path.join(storageDir, 'seedcast.db'))
  try {
    const stmt = db.prepare(query)
    if (stmt.reader) return stmt.all(...params) as T[]
    stmt.run(...params)
    return []
  } finally {
    db.close()
  }
}

export const countRows = async (server: { storageDir: string }, table: string): Promise<number> =>
  (await sql<{ n: number }>(server, `SELECT COUNT(*) AS n FROM "${table}"`))[0]!.n

/**
 * Every write of the server's database fails while `on`: SQLite's query_only on the server's own
 * connection; PostgreSQL's read-only default for the database, its sessions ended so that the
 * server's pool reconnects under it (as after a fail-over to a read-only replica).
 */
export async function setReadOnly(
  server: { storageDir: string; services: { db: { $executeRawUnsafe(q: string): Promise<unknown> } } },
  on: boolean,
): Promise<void> {
  if (!POSTGRES) {
    await server.services.db.$executeRawUnsafe(`PRAGMA query_only = ${on ? 'ON' : 'OFF'}`)
    return
  }
  const name = nameFor(server.storageDir)
  await admin(async (c) => {
    await c.query(
      `ALTER DATABASE "${name}" ${on ? 'SET default_transaction_read_only = on' : 'RESET default_transaction_read_only'}`,
    )
    await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [name])
  })
}
