import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { ConfigError, loadConfig } from '../../src/config.ts'

test('defaults follow the issue: port 3000, PUBLIC_URL on it, storage ./storage, SQLite inside it, 20 GiB', () => {
  const c = loadConfig({})
  assert.equal(c.port, 3000)
  assert.equal(c.publicUrl, 'http://localhost:3000')
  assert.equal(c.storageDir, path.resolve('storage'))
  assert.equal(c.databaseFile, path.join(path.resolve('storage'), 'seedcast.db'))
  assert.equal(c.maxUploadBytes, 20 * 1024 ** 3)
  assert.equal(c.adminPassword, undefined)
  assert.equal(c.seederEnabled, true)
  assert.equal(c.seederPort, 6881)
  assert.equal(c.seederEngine, 'lean')
  assert.equal(loadConfig({ SEEDER_ENGINE: 'webtorrent' }).seederEngine, 'webtorrent')
})

test('PUBLIC_URL follows PORT and loses its trailing slash', () => {
  assert.equal(loadConfig({ PORT: '8080' }).publicUrl, 'http://localhost:8080')
  assert.equal(loadConfig({ PUBLIC_URL: 'https://video.example.org/' }).publicUrl, 'https://video.example.org')
})

for (const [name, value, why] of [
  ['PORT', 'eighty', /PORT/],
  ['PORT', '70000', /PORT/],
  ['PUBLIC_URL', 'ftp://x', /PUBLIC_URL/],
  ['PUBLIC_URL', 'not a url', /PUBLIC_URL/],
  ['MAX_UPLOAD_BYTES', '-1', /MAX_UPLOAD_BYTES/],
  ['DATABASE_URL', 'mysql://x', /DATABASE_URL.*file:/],
  ['ADMIN_PASSWORD', 'short', /ADMIN_PASSWORD.*8/],
  ['SEEDER', 'maybe', /SEEDER/],
  ['SEEDER_ENGINE', 'libtorrent', /SEEDER_ENGINE/],
] as const) {
  test(`a bad ${name} (${value}) is refused with a message naming it`, () => {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (err: Error) => err instanceof ConfigError && why.test(err.message) && !err.message.includes('\n'),
    )
  })
}

test('npm start with a bad value stops at once with one line on stderr', () => {
  const result = spawnSync(process.execPath, ['src/main.ts'], {
    env: { ...process.env, PORT: 'nope' },
    encoding: 'utf8',
    timeout: 20_000,
  })
  assert.equal(result.status, 1)
  const lines = result.stderr.trim().split('\n')
  assert.equal(lines.length, 1, result.stderr)
  assert.match(lines[0]!, /^seedcast: Invalid PORT="nope"/)
})
