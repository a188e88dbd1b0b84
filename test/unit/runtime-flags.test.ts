import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { NODE_FLAGS } from '../../src/runtimeFlags.ts'

test('npm start and npm run seeder run with the same V8 flags as the supervisor and the benchmarks', () => {
  const scripts = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).scripts as Record<
    string,
    string
  >
  assert.ok(NODE_FLAGS.length > 0)
  for (const name of ['start', 'seeder']) {
    for (const flag of NODE_FLAGS)
      assert.ok(scripts[name]!.split(/\s+/).includes(flag), `${name} lacks ${flag}: ${scripts[name]}`)
  }
})
