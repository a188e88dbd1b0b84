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
import { migrateSqlite } from '../../src/db/migrate.ts'
import { compareSchemaWithDatabase, describeSqlite, parseSchema, SQLITE_TYPES } from '../helpers/schemaCheck.ts'

const SCHEMA_FILE = fileURLToPath(new URL('../../prisma/schema.prisma', import.meta.url))

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
    assert.deepEqual(compareSchemaWithDatabase(parseSchema(schemaText), describeSqlite(file), SQLITE_TYPES), [])
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
        (t) => t.replace('@@index([uploaderId])', '@@index([uploaderId])\n  @@index([status, createdAt])'),
        /no \(status, createdAt\) index/,
      ],
      ['a removed field', (t) => t.replace(/^\s+failReason\s+String\?.*$/m, ''), /failReason: column has no field/],
    ]
    for (const [what, edit, expected] of edits) {
      const changed = edit(schemaText)
      assert.notEqual(changed, schemaText, `${what}: the edit applies to schema.prisma`)
      const problems = compareSchemaWithDatabase(parseSchema(changed), describeSqlite(file), SQLITE_TYPES)
      assert.ok(
        problems.some((p) => expected.test(p)),
        `${what}: expected a problem matching ${expected}, got ${JSON.stringify(problems)}`,
      )
    }
  } finally {
    cleanup()
  }
})
