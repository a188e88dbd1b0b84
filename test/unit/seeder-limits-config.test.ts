// The SEEDER_* bounds as settings: src/config.ts defaults are the engine's own defaults
// (bt_server/lean/limits.ts), values are read in their units, and a bad one stops the start
// naming the variable.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../../src/config.ts'
import { DEFAULT_LIMITS } from '../../bt_server/lean/limits.ts'

test("the seeder bounds default to the engine's defaults", () => {
  assert.deepEqual(loadConfig({}).seederLimits, DEFAULT_LIMITS)
})

test('seeder bounds are read from SEEDER_* (seconds to ms)', () => {
  const c = loadConfig({
    SEEDER_MAX_PEERS: '500',
    SEEDER_PEERS_PER_ADDRESS: '4',
    SEEDER_UNCHOKED_IDLE_SECONDS: '12',
    SEEDER_SEND_STALL_SECONDS: '7',
    SEEDER_PEER_SEND_BUFFER_BYTES: '131072',
  }).seederLimits
  assert.equal(c.maxPeers, 500)
  assert.equal(c.peersPerAddress, 4)
  assert.equal(c.unchokedIdleMs, 12_000)
  assert.equal(c.sendStallMs, 7000)
  assert.equal(c.peerSendBufferBytes, 131_072)
})

for (const [name, value] of [
  ['SEEDER_MAX_PEERS', '0'],
  ['SEEDER_PEERS_PER_ADDRESS', 'many'],
  ['SEEDER_PEER_SEND_BUFFER_BYTES', '1000'],
  ['SEEDER_UNCHOKED_IDLE_SECONDS', '-1'],
] as const) {
  test(`a bad ${name} (${value}) is refused naming it`, () => {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (err: unknown) => err instanceof ConfigError && err.message.includes(name),
    )
  })
}
