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
import { waitFor } from '../helpers/http.ts'
import { databaseEnv } from '../helpers/database.ts'

const HOLD = new URL('../helpers/holdStart.ts', import.meta.url).pathname

test('a request that arrives while the site is still starting waits for it and is answered as the admin', {
  timeout: 60_000,
}, async (t) => {
  const storage = await mkdtemp(path.join(tmpdir(), 'seedcast-start-window-'))
  t.after(() => rm(storage, { recursive: true, force: true }))
  const port = await freePort()
  // test/helpers/holdStart.ts holds the start inside the window (listening, no admin yet) until
  // a line arrives on stdin, so the request below lands in it every time.
  const child = spawn(process.execPath, ['--import', HOLD, ...NODE_FLAGS, 'src/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      STORAGE_DIR: storage,
      ...(await databaseEnv(storage)),
      ADMIN_PASSWORD,
      SEEDER: 'off',
      TRACKER_UDP_PORT: '0',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  t.after(() => {
    child.kill('SIGKILL')
  })
  const seen = (line: string) =>
    waitFor(
      async () => out.includes(line),
      () => `${line} (output:\n${out})`,
      30_000,
    )
  await seen('[hold] start held')
  const auth = 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')
  let answered = false
  const first = fetch(`http://127.0.0.1:${port}/api/settings`, { headers: { authorization: auth } }).then((r) => {
    answered = true
    return r.status
  })
  await seen('[hold] request')
  // Served at once, it would meet a site without its admin (401) now; it must wait instead.
  await new Promise((r) => setTimeout(r, 500))
  assert.equal(answered, false, `answered before the start finished (output:\n${out})`)
  child.stdin!.end('go\n')
  assert.equal(await first, 200, `the first answer to the admin (output:\n${out})`)
})
