// prisma/schema.prisma against a database the migrations made: a simple parse of the schema's
// models, a description of the database (SQLite or PostgreSQL, read from its catalogue), and one
// comparison of the two as readable lines. test/unit/schema-sql.test.ts (SQLite) and
// test/integration/schema-postgresql.test.ts use it.
import Database from 'better-sqlite3'
import pg from 'pg'

/** The column type each schema type needs, per provider (as each catalogue spells it). */
export const SQLITE_TYPES: Record<string, string> = {
  String: 'TEXT',
  Int: 'INTEGER',
  BigInt: 'BIGINT',
  DateTime: 'DATETIME',
  Boolean: 'BOOLEAN',
  Float: 'REAL',
  Decimal: 'DECIMAL',
  Bytes: 'BLOB',
  Json: 'JSONB',
}

interface Field {
  name: string
  column: string
  type: string
  optional: boolean
  id: boolean
  unique: boolean
}
interface Index {
  columns: string[]
  unique: boolean
}
export interface Model {
  name: string
  table: string
  fields: Field[]
  indexes: Index[]
  compoundId: string[] | null
}

const mapped = (attrs: string): string | undefined => /@map\(\s*(?:name:\s*)?"([^"]+)"\s*\)/.exec(attrs)?.[1]
const fieldList = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim().replace(/\(.*$/, ''))
    .filter(Boolean)

/** A line parser for the parts of the Prisma schema language this project uses. */
export function parseSchema(text: string): Model[] {
  const lines = text.split('\n').map((l) => l.replace(/\/\/.*$/, '').trim())
  const modelNames = new Set<string>()
  const enumNames = new Set<string>()
  for (const l of lines) {
    const m = /^(model|enum)\s+(\w+)\s*\{/.exec(l)
    if (m) (m[1] === 'model' ? modelNames : enumNames).add(m[2]!)
  }
  const models: Model[] = []
  let current: Model | null = null
  for (const line of lines) {
    if (!line) continue
    const open = /^(model|enum|generator|datasource|view|type)\s+(\w+)\s*\{/.exec(line)
    if (open) {
      current =
        open[1] === 'model' ? { name: open[2]!, table: open[2]!, fields: [], indexes: [], compoundId: null } : null
      if (current) models.push(current)
      continue
    }
    if (line === '}') {
      current = null
      continue
    }
    if (!current) continue
    const block = /^@@(\w+)\(\s*(?:fields:\s*)?\[([^\]]*)\]/.exec(line)
    if (block) {
      const cols = fieldList(block[2]!)
      if (block[1] === 'index') current.indexes.push({ columns: cols, unique: false })
      else if (block[1] === 'unique') current.indexes.push({ columns: cols, unique: true })
      else if (block[1] === 'id') current.compoundId = cols
      continue
    }
    const map = /^@@map\(\s*"([^"]+)"\s*\)/.exec(line)
    if (map) {
      current.table = map[1]!
      continue
    }
    if (line.startsWith('@@')) continue
    const field = /^(\w+)\s+(\w+)(\[\])?(\?)?\s*(.*)$/.exec(line)
    if (!field) throw new Error(`cannot parse line in model ${current.name}: ${line}`)
    const [, name, type, list, optional, attrs] = field as unknown as [
      string,
      string,
      string,
      string | undefined,
      string | undefined,
      string,
    ]
    if (list || modelNames.has(type)) continue // relation fields have no column
    current.fields.push({
      name,
      column: mapped(attrs) ?? name,
      type: enumNames.has(type) ? 'String' : type,
      optional: optional === '?',
      id: /(^|\s)@id\b/.test(attrs),
      unique: /(^|\s)@unique\b/.test(attrs),
    })
  }
  // Field names in @@index/@@unique/@@id refer to fields; the SQL names columns.
  for (const m of models) {
    const col = (f: string) => m.fields.find((x) => x.name === f)?.column ?? f
    for (const i of m.indexes) i.columns = i.columns.map(col)
    if (m.compoundId) m.compoundId = m.compoundId.map(col)
  }
  return models
}

export const POSTGRES_TYPES: Record<string, string> = {
  String: 'TEXT',
  Int: 'INTEGER',
  BigInt: 'BIGINT',
  DateTime: 'TIMESTAMP(3)',
  Boolean: 'BOOLEAN',
  Float: 'DOUBLE PRECISION',
}

interface DbColumn {
  name: string
  type: string // upper case
  notnull: boolean
  pk: number // position in the primary key from 1, 0 if not in it
}
interface DbIndex {
  name: string
  unique: boolean
  columns: string[]
}
export interface DbDescription {
  tables: Map<string, { columns: DbColumn[]; indexes: DbIndex[] }>
}

const OURS = (t: string) => t !== '_seedcast_migrations'

export function describeSqlite(file: string): DbDescription {
  const db = new Database(file, { readonly: true })
  try {
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).filter(
      (t) => !t.startsWith('sqlite_') && OURS(t),
    )
    const tables = new Map<string, { columns: DbColumn[]; indexes: DbIndex[] }>()
    for (const t of names) {
      const columns = (
        db.prepare(`PRAGMA table_info("${t}")`).all() as { name: string; type: string; notnull: number; pk: number }[]
      ).map((c) => ({ name: c.name, type: c.type.toUpperCase(), notnull: c.notnull === 1, pk: c.pk }))
      const indexes = (
        db.prepare(`PRAGMA index_list("${t}")`).all() as { name: string; unique: number; origin: string }[]
      )
        .filter((i) => i.origin !== 'pk')
        .map((i) => ({
          name: i.name,
          unique: i.unique === 1,
          columns: (db.prepare(`PRAGMA index_info("${i.name}")`).all() as { name: string }[]).map((x) => x.name),
        }))
      tables.set(t, { columns, indexes })
    }
    return { tables }
  } finally {
    db.close()
  }
}

export async function describePostgres(url: string): Promise<DbDescription> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const cols = await client.query<{
      table_name: string
      column_name: string
      data_type: string
      datetime_precision: number | null
      is_nullable: string
    }>(
      `SELECT table_name, column_name, data_type, datetime_precision, is_nullable FROM information_schema.columns
       WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
    )
    const idx = await client.query<{
      table: string
      name: string
      unique: boolean
      primary: boolean
      columns: string[]
    }>(
      `SELECT t.relname AS table, i.relname AS name, x.indisunique AS unique, x.indisprimary AS primary,
         ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(n, o)
               JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o)::text[] AS columns
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_namespace s ON s.oid = t.relnamespace WHERE s.nspname = 'public'`,
    )
    const tables = new Map<string, { columns: DbColumn[]; indexes: DbIndex[] }>()
    for (const c of cols.rows) {
      if (!OURS(c.table_name)) continue
      if (!tables.has(c.table_name)) tables.set(c.table_name, { columns: [], indexes: [] })
      const pkCols = idx.rows.find((i) => i.table === c.table_name && i.primary)?.columns ?? []
      const type = c.data_type.startsWith('timestamp')
        ? `TIMESTAMP(${c.datetime_precision})${c.data_type.includes('with time zone') && !c.data_type.includes('without') ? ' WITH TIME ZONE' : ''}`
        : c.data_type.toUpperCase()
      tables.get(c.table_name)!.columns.push({
        name: c.column_name,
        type,
        notnull: c.is_nullable === 'NO',
        pk: pkCols.indexOf(c.column_name) + 1,
      })
    }
    for (const i of idx.rows) {
      if (i.primary || !tables.has(i.table)) continue
      tables.get(i.table)!.indexes.push({ name: i.name, unique: i.unique, columns: i.columns })
    }
    return { tables }
  } finally {
    await client.end()
  }
}

/** Every difference between the parsed schema and the described database, as readable lines. */
export function compareSchemaWithDatabase(models: Model[], db: DbDescription, types: Record<string, string>): string[] {
  const problems: string[] = []
  const tables = [...db.tables.keys()]
  for (const t of tables)
    if (!models.some((m) => m.table === t)) problems.push(`table ${t} has no model in schema.prisma`)

  for (const model of models) {
    const table = db.tables.get(model.table)
    if (!table) {
      problems.push(`model ${model.name}: no table "${model.table}" in the migrations`)
      continue
    }
    const { columns } = table
    for (const f of model.fields) {
      const where = `${model.name}.${f.name}`
      const expectedType = types[f.type]
      if (!expectedType) {
        problems.push(`${where}: schema type ${f.type} has no known column type`)
        continue
      }
      const c = columns.find((x) => x.name === f.column)
      if (!c) {
        problems.push(`${where}: no column "${f.column}" in table ${model.table}`)
        continue
      }
      if (c.type !== expectedType)
        problems.push(`${where}: column type ${c.type}, schema type ${f.type} needs ${expectedType}`)
      if (!c.notnull !== f.optional)
        problems.push(
          `${where}: column is ${c.notnull ? 'NOT NULL' : 'NULL'} but the field is ${f.optional ? 'optional' : 'required'}`,
        )
      if (f.id && c.pk !== 1) problems.push(`${where}: @id but the column is not the primary key`)
      if (!f.id && !model.compoundId && c.pk) problems.push(`${where}: primary key column but the field has no @id`)
    }
    for (const c of columns) {
      if (!model.fields.some((f) => f.column === c.name))
        problems.push(`${model.table}.${c.name}: column has no field in model ${model.name}`)
    }
    if (model.compoundId) {
      const pk = columns
        .filter((c) => c.pk > 0)
        .sort((a, b) => a.pk - b.pk)
        .map((c) => c.name)
      if (pk.join(',') !== model.compoundId.join(','))
        problems.push(`${model.name}: @@id(${model.compoundId}) but primary key is (${pk})`)
    }
    const wanted: Index[] = [
      ...model.fields.filter((f) => f.unique).map((f) => ({ columns: [f.column], unique: true })),
      ...model.indexes,
    ]
    const key = (i: { columns: string[]; unique: boolean }) => `${i.unique ? 'UNIQUE ' : ''}(${i.columns.join(', ')})`
    for (const w of wanted) {
      if (!table.indexes.some((a) => key(a) === key(w)))
        problems.push(`${model.name}: no ${key(w)} index in the migrations`)
    }
    for (const a of table.indexes) {
      if (!wanted.some((w) => key(w) === key(a)))
        problems.push(`${model.name}: index ${a.name} ${key(a)} is not declared in schema.prisma`)
    }
  }
  return problems
}
