// src/db/sqliteAdapter.ts keeps the SQLite adapter's prepared statements: the same answers,
// errors and transactions as the adapter alone, each SQL text prepared once; and the installed
// adapter is the version it reaches into.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { ADAPTER_VERSION, sqliteAdapter, statementsKept } from '../../src/db/sqliteAdapter.ts'
import { fromRoot } from '../../src/projectPaths.ts'

test('the installed @prisma/adapter-better-sqlite3 is the version sqliteAdapter.ts was written for', () => {
  const pkg = JSON.parse(readFileSync(fromRoot('node_modules/@prisma/adapter-better-sqlite3/package.json'), 'utf8'))
  assert.equal(pkg.version, ADAPTER_VERSION)
})

const int = { scalarType: 'int', arity: 'scalar' } as const
const text = { scalarType: 'string', arity: 'scalar' } as const
const q = (sql: string, args: unknown[] = [], argTypes: unknown[] = args.map(() => int)) =>
  ({ sql, args, argTypes }) as Parameters<Awaited<ReturnType<PrismaBetterSqlite3['connect']>>['queryRaw']>[0]

test('kept statements: the same rows, changes, errors and transactions as the adapter alone; each SQL prepared once', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'seedcast-sqlite-adapter-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const plain = await new PrismaBetterSqlite3({ url: `file:${path.join(dir, 'plain.db')}` }).connect()
  const cached = await sqliteAdapter(`file:${path.join(dir, 'kept.db')}`).connect()
  t.after(async () => {
    await plain.dispose()
    await cached.dispose()
  })

  // The same script and calls on both; every answer (or error) compared.
  const both = async (fn: (a: typeof plain) => Promise<unknown>) => {
    const run = (a: typeof plain) =>
      fn(a).then(
        (v) => ({ ok: v }),
        (e: Error & { cause?: unknown }) => ({ err: e.name, cause: JSON.stringify(e.cause ?? e.message) }),
      )
    const [a, b] = [await run(plain), await run(cached)]
    assert.deepEqual(b, a)
    return b
  }
  await both((a) => a.executeScript('CREATE TABLE v (id INTEGER PRIMARY KEY, title TEXT NOT NULL UNIQUE, n INTEGER)'))
  const insert = 'INSERT INTO v (title, n) VALUES (?, ?)'
  for (let i = 0; i < 5; i++)
    assert.deepEqual(await both((a) => a.executeRaw(q(insert, [`t${i}`, i], [text, int]))), { ok: 1 })
  const select = 'SELECT id, title, n FROM v WHERE n >= ? ORDER BY id'
  const rows = (await both((a) => a.queryRaw(q(select, [3])))) as { ok: { rows: unknown[][] } }
  assert.deepEqual(rows.ok.rows, [
    [4, 't3', 3],
    [5, 't4', 4],
  ])
  // Another argument on the kept statement: not the first one's rows.
  assert.equal(((await both((a) => a.queryRaw(q(select, [0])))) as { ok: { rows: unknown[] } }).ok.rows.length, 5)
  assert.equal(((await both((a) => a.queryRaw(q(select, [9])))) as { ok: { rows: unknown[] } }).ok.rows.length, 0)
  // Errors: a constraint broken, SQL that does not prepare; and the statement is fine after.
  const dup = await both((a) => a.executeRaw(q(insert, ['t1', 1], [text, int])))
  assert.ok('err' in dup && /UniqueConstraintViolation/.test(dup.cause), JSON.stringify(dup))
  const bad = await both((a) => a.queryRaw(q('SELECT nope FROM v')))
  assert.ok('err' in bad, JSON.stringify(bad))
  assert.deepEqual(await both((a) => a.executeRaw(q(insert, ['t9', 9], [text, int]))), { ok: 1 })

  // Transactions: rolled back leaves nothing, committed stays.
  for (const [end, title] of [
    ['rollback', 'gone'],
    ['commit', 'kept'],
  ] as const) {
    await both(async (a) => {
      const tx = await a.startTransaction()
      await tx.executeRaw(q(insert, [title, 7], [text, int]))
      // Prisma ends a transaction with its SQL, then tells the adapter (which unlocks).
      await tx.executeRaw(q(end === 'commit' ? 'COMMIT' : 'ROLLBACK'))
      await tx[end]()
    })
  }
  const titles = (await both((a) => a.queryRaw(q('SELECT title FROM v WHERE n = ? ORDER BY id', [7])))) as {
    ok: { rows: unknown[][] }
  }
  assert.deepEqual(titles.ok.rows, [['kept']])

  // Prepared once per SQL text, whatever the arguments and however often.
  const before = statementsKept(cached)
  for (let i = 0; i < 50; i++) await cached.queryRaw(q(select, [i]))
  assert.equal(statementsKept(cached), before, 'no new statement for a text already kept')
  assert.ok(before <= 8, `${before} statements for 6 texts and BEGIN/COMMIT/ROLLBACK`)
  assert.equal(statementsKept(plain), 0, 'the plain adapter keeps none')
})
