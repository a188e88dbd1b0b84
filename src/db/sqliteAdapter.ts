// Prisma's SQLite driver adapter with its prepared statements kept. @prisma/adapter-better-sqlite3
// 7.10 prepares every query again (`client.prepare(sql).bind(args)`, and a bound statement
// cannot be bound twice): in a CPU profile of the video page under bench:load that prepare was
// 10.8 % of the web process's time (2026-12-02). Here the adapter's better-sqlite3 handle gets a
// prepare() that hands back the statement prepared the first time for that SQL, with the
// arguments given at each run instead of bound. Prisma's SQL is a few hundred texts at most (an
// IN list of each length is one); past MAX_STATEMENTS the oldest go. The only file that reaches
// into the adapter (its `client`): test/unit/sqlite-adapter.test.ts checks the version it was
// written for and that results, errors and transactions are what the adapter gives alone.
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import type BetterSqlite3 from 'better-sqlite3'

export const ADAPTER_VERSION = '7.10.0'
const MAX_STATEMENTS = 500

type Statement = BetterSqlite3.Statement<unknown[]>

/** What the adapter calls on `prepare(sql).bind(args)` and `prepare(sql)`, nothing more. */
interface BoundView {
  readonly reader: boolean
  run(): BetterSqlite3.RunResult
  columns(): BetterSqlite3.ColumnDefinition[]
  raw(): { all(): unknown[] }
}

/** Statements kept per database handle (for statementsKept). */
const kept = new WeakMap<object, Map<string, Statement>>()

// A kept statement's columns, read once: the adapter asks on every query and only reads them,
// better-sqlite3 builds the list anew each time (9 % of a video read's CPU, 2026-12-04), and
// Prisma's SQL names every column it reads, so the list cannot change under a kept text.
const columnsOf = new WeakMap<Statement, BetterSqlite3.ColumnDefinition[]>()

function columns(s: Statement): BetterSqlite3.ColumnDefinition[] {
  let c = columnsOf.get(s)
  if (!c) columnsOf.set(s, (c = s.columns()))
  return c
}

function bound(s: Statement, args: unknown[]): BoundView {
  return {
    reader: s.reader,
    run: () => s.run(args),
    columns: () => columns(s),
    raw: () => ({ all: () => s.raw(true).all(args) }),
  }
}

/** The statement prepared for `sql`, kept in `statements` (Map order is the LRU order), at most `max`. */
function keptStatement(
  statements: Map<string, Statement>,
  sql: string,
  prepare: (sql: string) => Statement,
  max: number,
): Statement {
  let stmt = statements.get(sql)
  if (stmt) {
    statements.delete(sql)
    statements.set(sql, stmt)
  } else {
    stmt = prepare(sql)
    statements.set(sql, stmt)
    if (statements.size > max) statements.delete(statements.keys().next().value!)
  }
  return stmt
}

// src/db/directReads.ts's statements: its own texts, in a map of their own, for a kept one of
// Prisma's is left in raw mode (arrays, not objects).
const DIRECT_STATEMENTS = 200

// Each handle's connection for src/db/directReads.ts, with its own prepare from before
// keepStatements replaced it.
const own = new WeakMap<BetterSqlite3.Database, SqliteConnection>()

function keepStatements(db: BetterSqlite3.Database): void {
  const prepare = db.prepare.bind(db) as (sql: string) => Statement
  const direct = new Map<string, Statement>()
  own.set(db, { statement: (sql) => keptStatement(direct, sql, prepare, DIRECT_STATEMENTS) })
  const statements = new Map<string, Statement>()
  kept.set(db, statements)
  const prepareKept = (sql: string): BoundView & { bind(args: unknown[]): BoundView } => {
    const stmt = keptStatement(statements, sql, prepare, MAX_STATEMENTS)
    // prepare(sql).bind(args) for queries, prepare('BEGIN').run() for transactions.
    return { ...bound(stmt, []), bind: (args) => bound(stmt, args) }
  }
  ;(db as unknown as { prepare: typeof prepareKept }).prepare = prepareKept
}

/** The adapter factory for PrismaClient({ adapter }), for a SQLite file URL (`file:…`). */
export function sqliteAdapter(url: string): PrismaBetterSqlite3 {
  const factory = new PrismaBetterSqlite3({ url })
  const connect = factory.connect.bind(factory)
  factory.connect = async () => {
    const adapter = await connect()
    const client = (adapter as unknown as { client?: BetterSqlite3.Database }).client
    if (!client || typeof client.prepare !== 'function')
      throw new Error(`@prisma/adapter-better-sqlite3 is not the ${ADAPTER_VERSION} src/db/sqliteAdapter.ts knows`)
    keepStatements(client)
    connected.set(factory, client)
    return adapter
  }
  return factory
}

// The connection each factory last made (Prisma connects again after a $disconnect).
const connected = new WeakMap<PrismaBetterSqlite3, BetterSqlite3.Database>()

/** What src/db/directReads.ts needs of a connection: a statement for a text, prepared once. */
export interface SqliteConnection {
  statement(sql: string): Statement
}

/** The connection Prisma reads and writes through; null before its first query or once closed. */
export function sqliteConnection(factory: PrismaBetterSqlite3): SqliteConnection | null {
  const client = connected.get(factory)
  return (client?.open && own.get(client)) || null
}

/** How many statements a connected adapter (what the factory's connect() gave) keeps (tests). */
export function statementsKept(adapter: unknown): number {
  const client = (adapter as { client?: object }).client
  return client ? (kept.get(client)?.size ?? 0) : 0
}
