// When the web seed steps aside (src/offload/webSeedPolicy.ts): only for a crowd that has a seed.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { webSeedYields } from '../../src/offload/webSeedPolicy.ts'

test('the web seed serves a lone or first downloader and a swarm with no seed; yields to a seeded crowd', () => {
  assert.equal(webSeedYields({ seeders: 1, leechers: 1 }), false, 'a lone downloader')
  assert.equal(webSeedYields({ seeders: 0, leechers: 0 }), false, 'before its announce arrives')
  assert.equal(webSeedYields({ seeders: 0, leechers: 5 }), false, 'no seed: the web seed is the only source')
  assert.equal(webSeedYields({ seeders: 1, leechers: 2 }), true)
  assert.equal(webSeedYields({ seeders: 4, leechers: 9 }), true)
})
