import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decode as magnetDecode } from 'magnet-uri'
import { buildMagnet } from '../../src/bittorrent/magnet.ts'
import { TorrentError } from '../../src/bittorrent/errors.ts'

const params = {
  infoHash: '0123456789abcdef0123456789abcdef01234567',
  name: 'My clip & friends = 100% "fun"?#+ é.mp4',
  length: 3_145_851,
  trackers: ['http://tracker.local/announce?key=a&b=c', 'udp://t2.local:6969/announce'],
  webSeeds: ['https://seedcast.local/media/My clip.mp4'],
}

test('builds xt, dn, xl, every tr and ws, percent-encoded', () => {
  const uri = buildMagnet(params)
  assert.ok(uri.startsWith('magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&'))
  const pairs = uri.slice('magnet:?'.length).split('&')
  // Special characters are encoded, so '&' only separates parameters.
  assert.deepEqual(
    pairs.map((p) => p.split('=')[0]),
    ['xt', 'dn', 'xl', 'tr', 'tr', 'ws'],
  )
  assert.ok(pairs.includes(`dn=${encodeURIComponent(params.name)}`))
  assert.ok(pairs.includes('xl=3145851'))
  for (const t of params.trackers) assert.ok(pairs.includes(`tr=${encodeURIComponent(t)}`))
  assert.ok(pairs.includes(`ws=${encodeURIComponent(params.webSeeds[0]!)}`))
  assert.doesNotMatch(uri, /[ "#é]/)
})

test('magnet-uri (what WebTorrent clients parse with) reads back every field', () => {
  // magnet-uri reads every '+' in dn as a space, even one sent as %2B: a name without '+' here.
  const plain = { ...params, name: 'My clip & friends = 100% "fun"?# é.mp4' }
  const m = magnetDecode(buildMagnet(plain))
  assert.equal(m.infoHash, plain.infoHash)
  assert.equal(m.name, plain.name)
  assert.equal(m.xl, String(plain.length))
  assert.deepEqual(m.announce, plain.trackers)
  assert.deepEqual(m.urlList, plain.webSeeds)
  const bare = magnetDecode(buildMagnet({ ...plain, trackers: [], webSeeds: [] }))
  assert.deepEqual([bare.announce, bare.urlList], [[], []])
})

test('a name with "+" is kept by a standard decoder (%2B, not form encoding)', () => {
  const uri = buildMagnet(params)
  assert.equal(new URLSearchParams(uri.slice('magnet:?'.length)).get('dn'), params.name)
})

test('infohash is normalised to lowercase', () => {
  const upper = buildMagnet({ ...params, infoHash: params.infoHash.toUpperCase() })
  assert.match(upper, /btih:0123456789abcdef0123456789abcdef01234567&/)
})

test('invalid input throws bad_magnet', () => {
  const isBad = (err: unknown): boolean => err instanceof TorrentError && err.code === 'bad_magnet'
  assert.throws(() => buildMagnet({ ...params, infoHash: 'abc' }), isBad)
  assert.throws(() => buildMagnet({ ...params, length: -1 }), isBad)
  assert.throws(() => buildMagnet({ ...params, length: 1.5 }), isBad)
})
