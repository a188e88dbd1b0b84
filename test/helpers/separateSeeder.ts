// A seeder run as a service of its own beside a test server (`npm run seeder` as the guide's
// second layout has it): the same storage and database, its own peer port. Stopped when the
// test ends.
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import type { TestContext } from 'node:test'
import { NODE_FLAGS } from '../../src/runtimeFlags.ts'
import { freePort, type TestServer } from './server.ts'

export interface SeparateSeeder {
  port: number
  child: ChildProcess
  /** What it printed so far (stdout and stderr). */
  output(): string
}

export async function startSeparateSeeder(
  t: TestContext,
  server: TestServer,
  env: Record<string, string> = {},
): Promise<SeparateSeeder> {
  const port = await freePort()
  const { config } = server.services
  const child = spawn(process.execPath, [...NODE_FLAGS, 'bt_server/main.ts'], {
    env: {
      PATH: process.env.PATH,
      STORAGE_DIR: config.storageDir,
      DATABASE_URL: config.databaseUrl,
      PUBLIC_URL: config.publicUrl,
      PORT: String(config.port),
      SEEDER_PORT: String(port),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  t.after(() => {
    child.kill('SIGTERM')
  })
  return { port, child, output: () => out }
}
