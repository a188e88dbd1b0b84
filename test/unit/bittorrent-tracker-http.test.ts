import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { parseAnnounceQuery, parseScrapeQuery } from '../../src/bittorrent/tracker/http.ts'
import { DEFAULT_NUMWANT } from '../../src/bittorrent/tracker/announce.ts'
import { TrackerProtocolError } from '../../src/bittorrent/errors.ts'

// How real clients escape binary values.
const hex2 = (b: number) => '%' + b.toString(16).toUpperCase().padStart(2, '0')
const keepBytes = (keep: string) => (buf: Uint8Array) =>
  Array.from(buf, (b) => (keep.includes(String.fromCharCode(b)) ? String.fromCharCode(b) : hex2(b))).join('')
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const everyByte = keepBytes('') // e.g. bittorrent-tracker's client, curl scripts
const aria2 = keepBytes(ALNUM + '-._~') // aria2c, Transmission: RFC 3986 unreserved kept
const libtorrent = keepBytes(ALNUM + '-_.!~*()') // libtorrent's escape_string

// Bytes that exercise every escape decision: unreserved, !*(), '+', '%', '&', '=', high bytes.
const TRICKY_HASH = Buffer.from([
  0x41, 0x2d, 0x2e, 0x5f, 0x7e, 0x21, 0x2a, 0x28, 0x29, 0x2b, 0x25, 0x26, 0x3d, 0x20, 0x00, 0x7f, 0x80, 0xff, 0x3f,
  0x23,
])
const PEER_ID = Buffer.from('-qB4650-abcdefghijkl') // typical Azureus-style peer id

const announce = (enc: (b: Uint8Array) => string, extra = '') =>
  `info_hash=${enc(TRICKY_HASH)}&peer_id=${enc(PEER_ID)}&port=6881&uploaded=0&downloaded=0&left=1234&corrupt=0&key=7C3A9B1F&event=started&numwant=200&compact=1&no_peer_id=1&supportcrypto=1&redundant=0${extra}`

const code = (c: string) => (err: unknown) => err instanceof TrackerProtocolError && err.code === c

test('decodes info_hash and peer_id the way each client family encodes them', () => {
  for (const enc of [everyByte, aria2, libtorrent]) {
    const r = parseAnnounceQuery(announce(enc))
    assert.equal(r.infoHash, TRICKY_HASH.toString('hex'))
    assert.deepEqual(r.peerId, PEER_ID)
  }
})

test('parses every field of a libtorrent-style announce', () => {
  assert.deepEqual(parseAnnounceQuery(announce(libtorrent)), {
    infoHash: TRICKY_HASH.toString('hex'),
    peerId: PEER_ID,
    port: 6881,
    uploaded: 0,
    downloaded: 0,
    left: 1234,
    event: 'started',
    numwant: 200,
    compact: true,
    noPeerId: true,
    key: '7C3A9B1F',
  })
})

test('round-trips random binary hashes', () => {
  for (let i = 0; i < 500; i++) {
    const h = randomBytes(20)
    const p = randomBytes(20)
    const r = parseAnnounceQuery(`peer_id=${aria2(p)}&info_hash=${libtorrent(h)}&port=1&left=0`)
    assert.equal(r.infoHash, h.toString('hex'))
    assert.deepEqual(r.peerId, p)
  }
})

test('hex digits may be lowercase; the returned infohash is lowercase hex', () => {
  const q = `info_hash=${everyByte(TRICKY_HASH).toLowerCase()}&peer_id=${everyByte(PEER_ID)}&port=80&left=5`
  assert.equal(parseAnnounceQuery(q).infoHash, TRICKY_HASH.toString('hex'))
})

test("'+' is a literal 0x2B, not a space", () => {
  const h = Buffer.alloc(20, 0x2b)
  const r = parseAnnounceQuery(`info_hash=${'+'.repeat(20)}&peer_id=${everyByte(PEER_ID)}&port=80&left=0`)
  assert.equal(r.infoHash, h.toString('hex'))
})

test('unencoded latin1 chars (raw high bytes in the request line) are taken as bytes', () => {
  const h = Buffer.from(Array.from({ length: 20 }, (_, i) => 0xe0 + i))
  const r = parseAnnounceQuery(`info_hash=${h.toString('latin1')}&peer_id=${everyByte(PEER_ID)}&port=80&left=0`)
  assert.equal(r.infoHash, h.toString('hex'))
})

test('defaults: event update, numwant 50, compact on, no key, uploaded/downloaded 0', () => {
  const r = parseAnnounceQuery(`info_hash=${aria2(TRICKY_HASH)}&peer_id=${aria2(PEER_ID)}&port=65535&left=0`)
  assert.equal(r.event, 'update')
  assert.equal(r.numwant, DEFAULT_NUMWANT)
  assert.equal(r.compact, true)
  assert.equal(r.noPeerId, false)
  assert.equal(r.uploaded, 0)
  assert.equal(r.downloaded, 0)
  assert.equal('key' in r, false)
  assert.equal(r.port, 65535)
})

test('events, including empty, "empty" and paused; others refused', () => {
  const base = announce(aria2).replace('&event=started', '')
  const ev = (e: string) => parseAnnounceQuery(`${base}&event=${e}`).event
  assert.equal(ev('started'), 'started')
  assert.equal(ev('completed'), 'completed')
  assert.equal(ev('stopped'), 'stopped')
  assert.equal(ev('paused'), 'paused')
  assert.equal(ev(''), 'update')
  assert.equal(ev('empty'), 'update')
  assert.equal(parseAnnounceQuery(`${base}&event`).event, 'update')
  for (const bad of ['start', 'STARTED', 'stopped2', 'update', 'x']) {
    assert.throws(() => ev(bad), code('invalid_event'), bad)
  }
})

test('numbers: up to 2^53-1 accepted; negatives, non-digits, overflow refused', () => {
  const base = `info_hash=${aria2(TRICKY_HASH)}&peer_id=${aria2(PEER_ID)}&port=80`
  const max = Number.MAX_SAFE_INTEGER
  const r = parseAnnounceQuery(`${base}&left=${max}&uploaded=${max}&downloaded=1099511627776`)
  assert.equal(r.left, max)
  assert.equal(r.uploaded, max)
  assert.equal(r.downloaded, 2 ** 40)
  for (const [field, value] of [
    ['left', '-1'],
    ['left', ''],
    ['left', '1e5'],
    ['left', '9007199254740992'],
    ['left', '12345678901234567'],
    ['uploaded', '1.5'],
    ['downloaded', '+3'],
    ['downloaded', '0x10'],
    ['left', ' 1'],
  ] as const) {
    const q = field === 'left' ? `${base}&left=${value}` : `${base}&left=0&${field}=${value}`
    assert.throws(() => parseAnnounceQuery(q), code(`invalid_${field}`), `${field}=${value}`)
  }
})

test('port must be 1..65535', () => {
  const base = `info_hash=${aria2(TRICKY_HASH)}&peer_id=${aria2(PEER_ID)}&left=0`
  assert.equal(parseAnnounceQuery(`${base}&port=1`).port, 1)
  for (const p of ['0', '65536', '', '-5', 'http', '99999999']) {
    assert.throws(() => parseAnnounceQuery(`${base}&port=${p}`), code('invalid_port'), p)
  }
  assert.throws(() => parseAnnounceQuery(base), code('invalid_port'))
})

test('numwant: negative or empty means default; garbage refused; large kept (the store caps)', () => {
  const base = `info_hash=${aria2(TRICKY_HASH)}&peer_id=${aria2(PEER_ID)}&port=80&left=0`
  assert.equal(parseAnnounceQuery(`${base}&numwant=0`).numwant, 0)
  assert.equal(parseAnnounceQuery(`${base}&numwant=-1`).numwant, DEFAULT_NUMWANT)
  assert.equal(parseAnnounceQuery(`${base}&numwant=`).numwant, DEFAULT_NUMWANT)
  assert.equal(parseAnnounceQuery(`${base}&numwant=100000`).numwant, 100000)
  for (const n of ['abc', '-', '-x', '1.0']) {
    assert.throws(() => parseAnnounceQuery(`${base}&numwant=${n}`), code('invalid_numwant'), n)
  }
})

test('compact 0/1 only; no_peer_id present means yes unless 0', () => {
  const base = `info_hash=${aria2(TRICKY_HASH)}&peer_id=${aria2(PEER_ID)}&port=80&left=0`
  assert.equal(parseAnnounceQuery(`${base}&compact=0`).compact, false)
  assert.equal(parseAnnounceQuery(`${base}&compact=1`).compact, true)
  assert.throws(() => parseAnnounceQuery(`${base}&compact=2`), code('invalid_compact'))
  assert.throws(() => parseAnnounceQuery(`${base}&compact=`), code('invalid_compact'))
  assert.equal(parseAnnounceQuery(`${base}&no_peer_id=0`).noPeerId, false)
  assert.equal(parseAnnounceQuery(`${base}&no_peer_id=1`).noPeerId, true)
  assert.equal(parseAnnounceQuery(`${base}&no_peer_id`).noPeerId, true)
})

test('key: decoded, up to 64 bytes', () => {
  const base = `info_hash=${aria2(TRICKY_HASH)}&peer_id=${aria2(PEER_ID)}&port=80&left=0`
  assert.equal(parseAnnounceQuery(`${base}&key=%41b%2Bc`).key, 'Ab+c')
  assert.equal(parseAnnounceQuery(`${base}&key=`).key, '')
  assert.equal(parseAnnounceQuery(`${base}&key=${'k'.repeat(64)}`).key, 'k'.repeat(64))
  assert.throws(() => parseAnnounceQuery(`${base}&key=${'k'.repeat(65)}`), code('invalid_key'))
  assert.throws(() => parseAnnounceQuery(`${base}&key=%4`), code('invalid_key'))
})

test('ip and unknown parameters are ignored; odd separators tolerated', () => {
  const q = `&&ip=6.6.6.6&ipv6=%3A%3A1&&trackerid=abc&info_hash=${aria2(TRICKY_HASH)}&=x&flag&peer_id=${aria2(PEER_ID)}&port=80&left=0&`
  const r = parseAnnounceQuery(q)
  assert.equal(r.infoHash, TRICKY_HASH.toString('hex'))
  assert.equal(Object.values(r).includes('6.6.6.6'), false)
})

test('info_hash / peer_id: wrong length, bad escapes, missing, duplicate', () => {
  const tail = `&port=80&left=0`
  const pid = `&peer_id=${aria2(PEER_ID)}`
  for (const h of [
    everyByte(TRICKY_HASH.subarray(0, 19)),
    everyByte(Buffer.concat([TRICKY_HASH, Buffer.from([1])])),
    everyByte(TRICKY_HASH).slice(0, -1),
    everyByte(TRICKY_HASH).replace('%41', '%G1'),
    `${everyByte(TRICKY_HASH.subarray(0, 19))}%`,
    '',
    TRICKY_HASH.toString('hex'),
    '\u0100'.repeat(20),
  ]) {
    assert.throws(() => parseAnnounceQuery(`info_hash=${h}${pid}${tail}`), code('invalid_info_hash'), h)
  }
  assert.throws(() => parseAnnounceQuery(`${pid.slice(1)}${tail}`), code('invalid_info_hash'))
  assert.throws(() => parseAnnounceQuery(`info_hash=${aria2(TRICKY_HASH)}${tail}`), code('invalid_peer_id'))
  assert.throws(
    () => parseAnnounceQuery(`info_hash=${aria2(TRICKY_HASH)}&peer_id=short${tail}`),
    code('invalid_peer_id'),
  )
  assert.throws(
    () => parseAnnounceQuery(`info_hash=${aria2(TRICKY_HASH)}${pid}${tail}&info_hash=${aria2(TRICKY_HASH)}`),
    code('duplicate_info_hash'),
  )
  assert.throws(() => parseAnnounceQuery(`info_hash=${aria2(TRICKY_HASH)}${pid}&port=80`), code('invalid_left'))
  assert.throws(() => parseAnnounceQuery(''), code('invalid_info_hash'))
})

test('errors carry a message fit for a failure reason', () => {
  try {
    parseAnnounceQuery('info_hash=abc')
    assert.fail('should throw')
  } catch (err) {
    assert.ok(err instanceof TrackerProtocolError)
    assert.equal(err.message, 'invalid info_hash')
    assert.equal(err.name, 'TrackerProtocolError')
    assert.equal(err.transactionId, undefined)
  }
})

test('scrape: zero, one, many infohashes; duplicates once; order kept', () => {
  assert.deepEqual(parseScrapeQuery(''), [])
  assert.deepEqual(parseScrapeQuery('foo=bar'), [])
  const hashes = Array.from({ length: 100 }, () => randomBytes(20))
  const q = hashes.map((h, i) => `info_hash=${[everyByte, aria2, libtorrent][i % 3]!(h)}`).join('&')
  assert.deepEqual(
    parseScrapeQuery(q),
    hashes.map((h) => h.toString('hex')),
  )
  const one = `info_hash=${libtorrent(TRICKY_HASH)}`
  assert.deepEqual(parseScrapeQuery(`${one}&${one}`), [TRICKY_HASH.toString('hex')])
})

test('scrape: more than 100 or an invalid one is refused', () => {
  const q = Array.from({ length: 101 }, () => `info_hash=${aria2(randomBytes(20))}`).join('&')
  assert.throws(() => parseScrapeQuery(q), code('too_many_info_hashes'))
  assert.throws(() => parseScrapeQuery(`info_hash=${aria2(TRICKY_HASH)}&info_hash=abc`), code('invalid_info_hash'))
  assert.throws(() => parseScrapeQuery('info_hash='), code('invalid_info_hash'))
})

test("agrees with bittorrent-tracker's own decoding (querystring + unescape) on random queries", async () => {
  const querystring = (await import('node:querystring')).default
  for (let i = 0; i < 300; i++) {
    const h = randomBytes(20)
    const p = randomBytes(20)
    const enc = [everyByte, aria2, libtorrent][i % 3]!
    const q = `info_hash=${enc(h)}&peer_id=${enc(p)}&port=${1 + (i % 65535)}&left=${i}&uploaded=${i * 7}`
    const theirs = querystring.parse(q, '&', '=', { decodeURIComponent: unescape })
    const ours = parseAnnounceQuery(q)
    assert.equal(ours.infoHash, Buffer.from(theirs.info_hash as string, 'latin1').toString('hex'))
    assert.deepEqual(ours.peerId, Buffer.from(theirs.peer_id as string, 'latin1'))
    assert.equal(ours.port, Number(theirs.port))
    assert.equal(ours.uploaded, Number(theirs.uploaded))
  }
})
