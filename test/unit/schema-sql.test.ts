// prisma/schema.prisma and the SQL in prisma/migrations must describe the same database: the app
// applies the SQL itself (src/db/migrate.ts), while the Prisma client is generated from the schema.
// Applies every migration to a temporary SQLite file and compares tables, columns (type and
// nullability), primary keys and indexes with a simple parse of the schema's models.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { migrateSqlite } from '../../src/db/migrate.ts'

const SCHEMA_FILE = fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url))

const SQLITE_TYPES: Record<string, string> = {
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
interface Model {
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
function parseSchema(text: string): Model[] {
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

interface ColumnInfo {
  name: string
  type: string
  notnull: number
  pk: number
}
interface IndexInfo {
  name: string
  unique: number
  origin: string
}

/** Every difference between the parsed schema and the database file, as readable lines. */
function compareSchemaWithDatabase(models: Model[], dbFile: string): string[] {
  const problems: string[] = []
  const db = new Database(dbFile, { readonly: true })
  try {
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).filter(
      (t) => !t.startsWith('sqlite_') && t !== '_seedcast_migrations',
    )
    for (const t of tables)
      if (!models.some((m) => m.table === t)) problems.push(`table ${t} has no model in schema.prisma`)

    for (const model of models) {
      if (!tables.includes(model.table)) {
        problems.push(`model ${model.name}: no table "${model.table}" in the migrations`)
        continue
      }
      const columns = db.prepare(`PRAGMA table_info("${model.table}")`).all() as ColumnInfo[]
      for (const f of model.fields) {
        const where = `${model.name}.${f.name}`
        const expectedType = SQLITE_TYPES[f.type]
        if (!expectedType) {
          problems.push(`${where}: schema type ${f.type} has no known SQLite type`)
          continue
        }
        const c = columns.find((x) => x.name === f.column)
        if (!c) {
          problems.push(`${where}: no column "${f.column}" in table ${model.table}`)
          continue
        }
        if (c.type.toUpperCase() !== expectedType)
          problems.push(`${where}: column type ${c.type}, schema type ${f.type} needs ${expectedType}`)
        const nullable = c.notnull === 0
        if (nullable !== f.optional)
          problems.push(
            `${where}: column is ${nullable ? 'NULL' : 'NOT NULL'} but the field is ${f.optional ? 'optional' : 'required'}`,
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

      const actual = (db.prepare(`PRAGMA index_list("${model.table}")`).all() as IndexInfo[])
        .filter((i) => i.origin !== 'pk')
        .map((i) => ({
          name: i.name,
          unique: i.unique === 1,
          columns: (db.prepare(`PRAGMA index_info("${i.name}")`).all() as { name: string }[]).map((x) => x.name),
        }))
      const wanted: Index[] = [
        ...model.fields.filter((f) => f.unique).map((f) => ({ columns: [f.column], unique: true })),
        ...model.indexes,
      ]
      const key = (i: { columns: string[]; unique: boolean }) => `${i.unique ? 'UNIQUE ' : ''}(${i.columns.join(', ')})`
      for (const w of wanted) {
        if (!actual.some((a) => key(a) === key(w))) problems.push(`${model.name}: no ${key(w)} index in the migrations`)
      }
      for (const a of actual) {
        if (!wanted.some((w) => key(w) === key(a)))
          problems.push(`${model.name}: index ${a.name} ${key(a)} is not declared in schema.prisma`)
      }
    }
  } finally {
    db.close()
  }
  return problems
}

function migratedDatabase(): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'seedcast-schema-'))
  const file = path.join(dir, 'schema-check.db')
  migrateSqlite(file)
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}

const schemaText = readFileSync(SCHEMA_FILE, 'utf8')

test('the parser finds the models and their scalar fields', () => {
  const models = parseSchema(schemaText)
  assert.ok(models.length > 0, 'at least one model')
  for (const m of models) {
    assert.ok(m.fields.length > 0, `${m.name} has scalar fields`)
    assert.ok(m.fields.some((f) => f.id) || m.compoundId, `${m.name} has an id`)
  }
  const sample = parseSchema(
    'model A {\n  id Int @id\n  b  B[]\n  n  String? @unique // c\n  @@index([n])\n}\nmodel B {\n  id String @id\n  a A @relation(fields: [aId], references: [id])\n  aId Int\n}\n',
  )
  assert.deepEqual(
    sample.map((m) => [
      m.name,
      m.fields.map((f) => `${f.name}:${f.type}${f.optional ? '?' : ''}${f.unique ? '!' : ''}`),
    ]),
    [
      ['A', ['id:Int', 'n:String?!']],
      ['B', ['id:String', 'aId:Int']],
    ],
  )
  assert.deepEqual(sample[0]!.indexes, [{ columns: ['n'], unique: false }])
})

test('the migrations create every model as a table, every scalar field as a matching column, and every index', () => {
  const { file, cleanup } = migratedDatabase()
  try {
    assert.deepEqual(compareSchemaWithDatabase(parseSchema(schemaText), file), [])
  } finally {
    cleanup()
  }
})

test('the check fails when the schema gains what the SQL lacks', () => {
  const { file, cleanup } = migratedDatabase()
  try {
    const models = parseSchema(schemaText)
    const first = models[0]!
    const edits: [string, (text: string) => string, RegExp][] = [
      [
        'a new field',
        (t) => t.replace(`model ${first.name} {`, `model ${first.name} {\n  addedLater String`),
        /addedLater: no column/,
      ],
      [
        'a new optional field',
        (t) => t.replace(`model ${first.name} {`, `model ${first.name} {\n  addedLater Int?`),
        /addedLater: no column/,
      ],
      ['a new model', (t) => `${t}\nmodel Extra {\n  id Int @id\n}\n`, /model Extra: no table/],
      [
        'a field made optional',
        (t) => t.replace(/^(\s+title\s+)String(\s)/m, '$1String?$2'),
        /title: column is NOT NULL but the field is optional/,
      ],
      [
        'a changed type',
        (t) => t.replace(/^(\s+pieceLength\s+)Int(\s)/m, '$1BigInt$2'),
        /pieceLength: column type INTEGER/,
      ],
      ['a new @unique', (t) => t.replace(/^(\s+title\s+String)(\s)/m, '$1 @unique$2'), /no UNIQUE \(title\) index/],
      [
        'a new @@index',
        (t) => t.replace('@@index([createdAt])', '@@index([createdAt])\n  @@index([status, createdAt])'),
        /no \(status, createdAt\) index/,
      ],
      ['a removed field', (t) => t.replace(/^\s+failReason\s+String\?.*$/m, ''), /failReason: column has no field/],
    ]
    for (const [what, edit, expected] of edits) {
      const changed = edit(schemaText)
      assert.notEqual(changed, schemaText, `${what}: the edit applies to schema.prisma`)
      const problems = compareSchemaWithDatabase(parseSchema(changed), file)
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${what}: expected a problem matching ${expected}, got ${JSON.stringify(problems)}`,
      )
    }
  } finally {
    cleanup()
  }
})
