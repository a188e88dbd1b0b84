// When the web seed steps aside (src/offload/webSeedPolicy.ts): only for a crowd that has a seed,
// the crowd counted as the distinct addresses asking the web seed lately.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RecentClients, WEB_SEED_CLIENT_MS, webSeedYields } from '../../src/offload/webSeedPolicy.ts'

test('the web seed serves a lone or first downloader and a swarm with no seed; yields to a seeded crowd', () => {
  const yields = (seeders: number, webSeedClients: number) => webSeedYields({ seeders, webSeedClients })
  assert.equal(yields(1, 1), false, 'a lone downloader (however many connections from its address)')
  assert.equal(yields(0, 5), false, 'no seed: the web seed is the only source')
  assert.equal(yields(1, 2), true)
  assert.equal(yields(4, 9), true)
})

test('recent web-seed clients: distinct addresses within the window, bounded', () => {
  const c = new RecentClients()
  assert.equal(c.note('10.0.0.1', 1000), 1)
  assert.equal(c.note('10.0.0.1', 2000), 1, 'the same address counts once')
  assert.equal(c.note('10.0.0.2', 3000), 2)
  assert.equal(c.note('10.0.0.2', 2000 + WEB_SEED_CLIENT_MS), 1, 'the first aged out')
  for (let i = 0; i < 100; i++) c.note(`10.1.0.${i}`, 50_000)
  assert.equal(c.note('10.2.0.1', 50_000), 16)
  assert.equal(c.note('10.2.0.1', 50_000 + WEB_SEED_CLIENT_MS), 1)
})
