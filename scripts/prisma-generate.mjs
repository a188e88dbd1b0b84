// Runs `prisma generate` offline, twice: the SQLite client (src/db/generated) from
// prisma/schema.prisma, and the PostgreSQL one (src/db/generated-pg) from the same schema with
// only the provider changed, so the two cannot drift. The Prisma CLI wants to download its schema
// engine even though generating the (engine-free) client never uses it, so point it at a dummy.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync, existsSync, chmodSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { tmpdir } from 'node:os'

const dir = join(tmpdir(), 'seedcast-prisma')
mkdirSync(dir, { recursive: true })
const dummy = join(dir, 'schema-engine-unused')
if (!existsSync(dummy)) {
  writeFileSync(dummy, '#!/bin/sh\nexit 1\n')
  chmodSync(dummy, 0o755)
}

const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? dummy,
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  CHECKPOINT_DISABLE: '1',
  PRISMA_ENGINES_CHECKSUM_IGNORE_MISSING: '1',
}
const cli = join('node_modules', 'prisma', 'build', 'index.js')
const generate = (schema) =>
  spawnSync(process.execPath, [cli, 'generate', '--schema', schema], { stdio: 'inherit', env }).status ?? 1

const sqlite = 'prisma/schema.prisma'
const text = readFileSync(sqlite, 'utf8')
const pg = text
  .replace(/provider\s*=\s*"sqlite"/, 'provider = "postgresql"')
  .replace(/output\s*=\s*"\.\.\/src\/db\/generated"/, `output = ${JSON.stringify(resolve('src/db/generated-pg'))}`)
if (pg === text || !pg.includes('generated-pg')) throw new Error('prisma-generate: cannot derive the PostgreSQL schema')
const pgSchema = join(dir, 'schema.postgresql.prisma')
writeFileSync(pgSchema, pg)
process.exit(generate(sqlite) || generate(pgSchema))
