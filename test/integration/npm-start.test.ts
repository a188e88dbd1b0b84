// The README's run command: `npm start` on the embedded defaults serves the site, prints the
// generated admin password once, and stops cleanly on SIGTERM.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { freePort } from '../helpers/server.ts'
import { databaseEnv } from '../helpers/database.ts'

test('npm start serves the site and prints the generated admin password', async () => {
  const storage = await mkdtemp(path.join(tmpdir(), 'seedcast-npm-start-'))
  const port = await freePort()
  // Only what a second instance on this machine needs: its own port and storage; no seeder or
  // UDP tracker so nothing else is bound.
  const env = {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    STORAGE_DIR: storage,
    ...(await databaseEnv(storage)),
    SEEDER: 'off',
    TRACKER_UDP_PORT: '0',
    ADMIN_PASSWORD: '',
  }
  // Its own process group, so the SIGTERM reaches node under npm too.
  const child = spawn('npm', ['start', '--silent'], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let output = ''
  child.stdout.on('data', (d) => {
    output += d
  })
  child.stderr.on('data', (d) => {
    output += d
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  try {
    const deadline = Date.now() + 30_000
    let health: Response | undefined
    while (Date.now() < deadline) {
      health = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined)
      if (health?.ok) break
      await new Promise((r) => setTimeout(r, 200))
    }
    assert.ok(health?.ok, `no healthy server within 30 s:\n${output}`)
    assert.equal((await health!.json()).ok, true)
    const home = await fetch(`http://127.0.0.1:${port}/`)
    assert.equal(home.status, 200)
    assert.match(await home.text(), /Seedcast/)
    const password = /Created user "admin" with password: (\S+)/.exec(output)?.[1]
    assert.ok(password, `no generated password printed:\n${output}`)
    const me = await fetch(`http://127.0.0.1:${port}/api/settings`, {
      headers: { Authorization: 'Basic ' + Buffer.from(`admin:${password}`).toString('base64') },
    })
    assert.equal(me.status, 200, 'the printed password works')
  } finally {
    process.kill(-child.pid!, 'SIGTERM')
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))])
    if (code === 'timeout') process.kill(-child.pid!, 'SIGKILL')
    await rm(storage, { recursive: true, force: true })
    assert.notEqual(code, 'timeout', 'npm start did not stop on SIGTERM')
  }
})
