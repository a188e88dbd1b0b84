// The admin is made only once the ports are bound (a failed start must not use up the password
// it prints), so there is a moment after listen when the site has no admin yet. A request that
// lands in it waits for the start to finish: the first answer an admin gets is never a 401.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { NODE_FLAGS } from '../../src/runtimeFlags.ts'
import { ADMIN_PASSWORD, freePort } from '../helpers/server.ts'

test('a request that arrives while the site is still starting waits for it and is answered as the admin', { timeout: 60_000 }, async (t) => {
  const storage = await mkdtemp(path.join(tmpdir(), 'seedcast-start-window-'))
  t.after(() => rm(storage, { recursive: true, force: true }))
  const port = await freePort()
  const child = spawn(process.execPath, [...NODE_FLAGS, 'src/main.ts'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', STORAGE_DIR: storage, ADMIN_PASSWORD, SEEDER: 'off', TRACKER_UDP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => { out += d })
  child.stderr!.on('data', (d) => { out += d })
  t.after(() => { child.kill('SIGKILL') })
  const auth = 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')
  // Knock as fast as we can, so the first request lands as soon as the port accepts.
  const deadline = Date.now() + 30_000
  let first: number | null = null
  while (first === null && Date.now() < deadline) {
    first = await fetch(`http://127.0.0.1:${port}/api/settings`, { headers: { authorization: auth } }).then((r) => r.status, () => null)
  }
  assert.equal(first, 200, `the first answer to the admin (output:\n${out})`)
})
