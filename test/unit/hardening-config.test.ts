// Config errors never echo a secret, and every new bound has its default and refuses bad values
// with one line naming it.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { ConfigError, loadConfig } from '../../src/config.ts'

test('a too-short ADMIN_PASSWORD is refused without echoing it', () => {
  assert.throws(
    () => loadConfig({ ADMIN_PASSWORD: 'hunter2' }),
    (err: Error) => {
      assert.ok(err instanceof ConfigError)
      assert.match(err.message, /ADMIN_PASSWORD/)
      assert.match(err.message, /8 characters/)
      assert.doesNotMatch(err.message, /hunter2/)
      return true
    },
  )
})

test('npm start with a too-short ADMIN_PASSWORD prints one line without it', () => {
  const result = spawnSync(process.execPath, ['src/main.ts'], {
    env: { ...process.env, ADMIN_PASSWORD: 'tiny-pw' },
    encoding: 'utf8',
    timeout: 20_000,
  })
  assert.equal(result.status, 1)
  assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr)
  assert.doesNotMatch(result.stderr + result.stdout, /tiny-pw/)
})

test('web and auth bounds: defaults', () => {
  const c = loadConfig({})
  assert.deepEqual(c.web, {
    maxConnections: 400,
    maxConnectionsPerAddress: 64,
    headersTimeoutSeconds: 20,
    bodyMinKib: 16,
    bodyWindowSeconds: 10,
  })
  assert.deepEqual(c.auth, {
    maxFailures: 10,
    failureWindowSeconds: 600,
    throttleMaxAddresses: 10_000,
    maxConcurrentHashes: 2,
    hashQueue: 16,
  })
})

for (const [name, value] of [
  ['WEB_MAX_CONNECTIONS', '0'],
  ['WEB_MAX_CONNECTIONS_PER_ADDRESS', '-1'],
  ['WEB_HEADERS_TIMEOUT_SECONDS', '0'],
  ['WEB_BODY_MIN_KIB', 'fast'],
  ['WEB_BODY_WINDOW_SECONDS', '0'],
  ['AUTH_MAX_FAILURES', '1.5'],
  ['AUTH_FAILURE_WINDOW_SECONDS', '0'],
  ['AUTH_THROTTLE_MAX_ADDRESSES', '0'],
  ['AUTH_MAX_CONCURRENT_HASHES', '0'],
  ['AUTH_HASH_QUEUE', '-3'],
] as const) {
  test(`a bad ${name} (${value}) is refused with one line naming it`, () => {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (err: Error) =>
        err instanceof ConfigError && err.message.startsWith(`Invalid ${name}=`) && !err.message.includes('\n'),
    )
  })
}
