// The PostgreSQL set of migrations (prisma/migrations/*/postgresql.sql) against prisma/schema.prisma,
// on a real server (TEST_POSTGRES_URL, which `npm test` sets up on CI): every model a table,
// every field a column of the right type and nullability, every index; applied once however
// many processes start at once (they queue on an advisory lock).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import pg from 'pg'
import { migratePostgres } from '../../src/db/migrate.ts'
import { databaseEnv, dropDatabase, testDatabase } from '../helpers/database.ts'
import { compareSchemaWithDatabase, describePostgres, parseSchema, POSTGRES_TYPES } from '../helpers/schemaCheck.ts'
import { makeStorageDir } from '../helpers/server.ts'

const skip = testDatabase === 'postgresql' ? false : 'runs when TEST_POSTGRES_URL names a PostgreSQL server'
const schemaText = readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8')

async function freshDatabase(): Promise<{ url: string; cleanup: () => Promise<void> }> {
  const dir = await makeStorageDir()
  const url = (await databaseEnv(dir)).DATABASE_URL!
  return {
    url,
    cleanup: async () => {
      await dropDatabase(dir)
      await rm(dir, { recursive: true, force: true })
    },
  }
}

test('the PostgreSQL migrations make the database the schema describes, and a second run applies nothing', {
  skip,
}, async () => {
  const { url, cleanup } = await freshDatabase()
  try {
    const applied = await migratePostgres(url)
    assert.ok(applied.length > 0)
    assert.deepEqual(await migratePostgres(url), [])
    const db = await describePostgres(url)
    assert.deepEqual(compareSchemaWithDatabase(parseSchema(schemaText), db, POSTGRES_TYPES), [])
    // The check itself sees a difference.
    const changed = schemaText.replace(/^(\s+pieceLength\s+)Int(\s)/m, '$1BigInt$2')
    assert.ok(
      compareSchemaWithDatabase(parseSchema(changed), db, POSTGRES_TYPES).some((p) =>
        /pieceLength: column type INTEGER/.test(p),
      ),
    )
  } finally {
    await cleanup()
  }
})

test('a process starting while another migrates waits for it, then applies nothing twice', { skip }, async () => {
  const { url, cleanup } = await freshDatabase()
  const holder = new pg.Client({ connectionString: url })
  await holder.connect()
  try {
    // Another process is migrating: it holds the lock.
    await holder.query('SELECT pg_advisory_lock($1)', [0x5eedca57])
    let settled = false
    const first = migratePostgres(url).finally(() => {
      settled = true
    })
    const second = migratePostgres(url)
    await new Promise((r) => setTimeout(r, 500))
    assert.equal(settled, false, 'migrations wait for the lock')
    const tables = await holder.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'Video'")
    assert.equal(tables.rowCount, 0, 'nothing applied while the lock is held')
    await holder.query('SELECT pg_advisory_unlock($1)', [0x5eedca57])
    const [a, b] = await Promise.all([first, second])
    assert.ok(a.length > 0 || b.length > 0)
    assert.equal(a.length + b.length, new Set([...a, ...b]).size, 'each migration applied once')
  } finally {
    await holder.end()
    await cleanup()
  }
})
