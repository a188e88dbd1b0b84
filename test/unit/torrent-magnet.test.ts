import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildMagnet, parseMagnet } from '../../src/torrent/magnet.ts';
import { TorrentError } from '../../src/torrent/errors.ts';

const params = {
  infoHash: '0123456789abcdef0123456789abcdef01234567',
  name: 'My clip & friends = 100% "fun"?#+ é.mp4',
  length: 3_145_851,
  trackers: ['http://tracker.local/announce?key=a&b=c', 'udp://t2.local:6969/announce'],
  webSeeds: ['https://seedcast.local/media/My clip.mp4'],
};

test('builds xt, dn, xl, every tr and ws, percent-encoded', () => {
  const uri = buildMagnet(params);
  assert.ok(uri.startsWith('magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&'));
  const pairs = uri.slice('magnet:?'.length).split('&');
  // Special characters are encoded, so '&' only separates parameters.
  assert.deepEqual(pairs.map((p) => p.split('=')[0]), ['xt', 'dn', 'xl', 'tr', 'tr', 'ws']);
  assert.ok(pairs.includes(`dn=${encodeURIComponent(params.name)}`));
  assert.ok(pairs.includes('xl=3145851'));
  for (const t of params.trackers) assert.ok(pairs.includes(`tr=${encodeURIComponent(t)}`));
  assert.ok(pairs.includes(`ws=${encodeURIComponent(params.webSeeds[0]!)}`));
  assert.doesNotMatch(uri, /[ "#é]/);
});

test('round-trips through parseMagnet', () => {
  assert.deepEqual(parseMagnet(buildMagnet(params)), params);
  const bare = { ...params, trackers: [], webSeeds: [] };
  assert.deepEqual(parseMagnet(buildMagnet(bare)), bare);
});

test('infohash is normalised to lowercase; base32 btih is accepted', () => {
  const upper = buildMagnet({ ...params, infoHash: params.infoHash.toUpperCase() });
  assert.match(upper, /btih:0123456789abcdef0123456789abcdef01234567&/);
  // Independent base32 encoding via BigInt (base-32 digits remapped to RFC 4648).
  const digits = BigInt('0x' + params.infoHash).toString(32).padStart(32, '0');
  const b32 = [...digits].map((c) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[parseInt(c, 32)]).join('');
  assert.equal(parseMagnet(`magnet:?xt=urn:btih:${b32}`).infoHash, params.infoHash);
  assert.deepEqual(parseMagnet(`magnet:?dn=x&xt=urn:btih:${params.infoHash.toUpperCase()}`), {
    infoHash: params.infoHash, name: 'x', trackers: [], webSeeds: [],
  });
});

test('invalid input throws bad_magnet', () => {
  const isBad = (err: unknown): boolean => err instanceof TorrentError && err.code === 'bad_magnet';
  assert.throws(() => buildMagnet({ ...params, infoHash: 'abc' }), isBad);
  assert.throws(() => buildMagnet({ ...params, length: -1 }), isBad);
  for (const uri of [
    '', 'http://x', 'magnet:?dn=x', 'magnet:?xt=urn:btih:xyz', 'magnet:?xt=urn:sha1:0123',
    `magnet:?xt=urn:btih:${params.infoHash}&xl=12a`, `magnet:?xt=urn:btih:${params.infoHash}&dn=%E0%A4%A`,
    `magnet:?xt=urn:btih:${params.infoHash}&=x`,
  ]) {
    assert.throws(() => parseMagnet(uri), isBad, uri);
  }
});
