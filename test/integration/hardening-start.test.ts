// Start-up: a start that fails must not use up the one showing of the generated admin password,
// and the seeder child gets only the environment it needs (no ADMIN_PASSWORD, no other secrets).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { freePort, makeStorageDir, startTestServer } from '../helpers/server.ts'
import { waitFor } from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'

test('a start that fails (port taken) creates no admin, so the next good start prints its password', async () => {
  const dir = await makeStorageDir()
  const blocker = net.createServer()
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()))
  const taken = (blocker.address() as net.AddressInfo).port
  try {
    await assert.rejects(startTestServer({ PORT: String(taken), ADMIN_PASSWORD: '' }, dir), /EADDRINUSE/)
    assert.deepEqual(await sql(path.join(dir, 'seedcast.db'), 'SELECT username FROM "User"'), [], 'no admin yet')
    const server = await startTestServer({ ADMIN_PASSWORD: '' }, dir)
    try {
      const line = server.logs.find((l) => l.startsWith('Created user "admin" with password: '))
      assert.ok(line, `the good start prints the password:\n${server.logs.join('\n')}`)
      const password = /password: (\S+)/.exec(line)![1]!
      const res = await fetch(`${server.url}/api/settings`, {
        headers: { authorization: 'Basic ' + Buffer.from(`admin:${password}`).toString('base64') },
      })
      assert.equal(res.status, 200, 'and it is the password')
    } finally {
      await server.stop({ keepStorage: true })
    }
  } finally {
    blocker.close()
    await rm(dir, { recursive: true, force: true })
  }
})

test('the seeder child is not given ADMIN_PASSWORD or the rest of the environment', async () => {
  const saved = { ADMIN_PASSWORD: process.env.ADMIN_PASSWORD, UNRELATED_SECRET: process.env.UNRELATED_SECRET }
  process.env.ADMIN_PASSWORD = 'password-in-the-environment'
  process.env.UNRELATED_SECRET = 'an-api-key'
  const server = await startTestServer({ SEEDER: 'on', SEEDER_PORT: String(await freePort()) })
  try {
    const health = await waitFor(async () => {
      const h = server.services.seeder!.health()
      return h.state === 'running' && h.pid ? h : null
    }, 'the seeder running')
    const environ = (await readFile(`/proc/${health.pid}/environ`, 'utf8')).split('\0').filter(Boolean)
    const names = environ.map((e) => e.slice(0, e.indexOf('=')))
    assert.ok(!names.includes('ADMIN_PASSWORD'), 'no ADMIN_PASSWORD')
    assert.ok(!names.includes('UNRELATED_SECRET'), 'nothing it does not read')
    assert.ok(!environ.some((e) => e.includes('password-in-the-environment') || e.includes('an-api-key')))
    assert.ok(environ.includes(`STORAGE_DIR=${server.storageDir}`), 'what it needs is there')
  } finally {
    await server.stop()
    for (const [k, v] of Object.entries(saved))
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
  }
})
