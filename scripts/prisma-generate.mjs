// Runs `prisma generate` offline. The Prisma CLI wants to download its schema engine
// even though generating the (engine-free) client never uses it, so point it at a dummy.
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync, existsSync, chmodSync } from 'node:fs'
import { join } from 'node:path'
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
const result = spawnSync(process.execPath, [cli, 'generate', '--schema', 'prisma/schema.prisma'], {
  stdio: 'inherit',
  env,
})
process.exit(result.status ?? 1)
