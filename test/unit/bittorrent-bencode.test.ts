// The core's one bencode reader: values and byte spans, strictness, and agreement with the
// `bencode` package (an independent implementation) on everything canonical.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import bencode from 'bencode'
import {
  decode,
  decodeDict,
  decodePrefix,
  dictEntries,
  encode,
  isDict,
  type BValue,
} from '../../src/bittorrent/bencode.ts'
import { BencodeError, BitTorrentError } from '../../src/bittorrent/errors.ts'
import { buildTorrent, decodeTorrent } from '../../src/bittorrent/metainfo.ts'

const b = (s: string) => Buffer.from(s, 'latin1')
const isBad = (err: unknown) =>
  err instanceof BencodeError && err instanceof BitTorrentError && err.code === 'bad_bencode'

test('values: integers, byte strings as views, lists, dicts with latin1 keys', () => {
  const v = decode(b('d1:ai-42e1:bl0:i0ee2:\xff\x00i7ee'))
  assert.ok(isDict(v))
  assert.equal(v.a, -42)
  assert.deepEqual(v.b, [Buffer.alloc(0), 0])
  assert.equal(v['\xff\x00'], 7, 'a key is its bytes, one char per byte')
  assert.equal(Object.getPrototypeOf(v), null, 'no prototype: a "__proto__" key is just a key')
  const proto = '__proto__' // read as a plain key, not the prototype
  assert.equal((decodeDict(b('d9:__proto__i1ee')) as Record<string, BValue>)[proto], 1)
  const buf = b('4:spam')
  const s = decode(buf) as Buffer
  assert.equal(s.buffer, buf.buffer, 'strings are views into the input, not copies')
})

test('spans: each top-level entry says where its key and value lie; the infohash is the SHA-1 of the stored info bytes', () => {
  const buf = b('d8:announce3:url4:infod6:lengthi5e4:name1:xe3:zzzi1ee')
  const entries = dictEntries(buf)
  assert.deepEqual(
    entries.map((e) => e.key),
    ['announce', 'info', 'zzz'],
  )
  const info = entries[1]!
  assert.equal(buf.toString('latin1', info.keyStart, info.valueStart), '4:info')
  assert.equal(buf.toString('latin1', info.valueStart, info.end), 'd6:lengthi5e4:name1:xe')
  assert.ok(isDict(info.value))
  assert.equal(entries[2]!.end, buf.length - 1)

  // An info dict with its keys out of order (valid, not canonical): re-encoding would sort them
  // and give another hash; the span keeps the bytes as stored.
  const built = buildTorrent({
    name: 'a.webm',
    length: 20,
    pieceLength: 16384,
    pieces: randomBytes(20),
    trackers: [],
    webSeeds: [],
    createdBy: 't',
    creationDate: 1,
  })
  const infoBytes = decodeTorrent(built.buffer).infoBytes
  const swapped = b(`d4:info${infoBytes.toString('latin1').replace(/^d(6:lengthi20e)(4:name6:a\.webm)/, 'd$2$1')}e`)
  assert.notEqual(swapped.toString('latin1'), `d4:info${infoBytes.toString('latin1')}e`)
  const read = decodeTorrent(swapped)
  assert.equal(read.infoHash, createHash('sha1').update(swapped.subarray(7, -1)).digest('hex'))
  assert.notEqual(read.infoHash, built.infoHash)
  assert.throws(() => decode(swapped, { canonical: true }), isBad, 'canonical mode refuses unsorted keys')
})

test("decodePrefix: the value and where it ends; what follows is the caller's", () => {
  const { value, end } = decodePrefix(b('d1:ai1e1:bl1:xi-2eee-tail'))
  assert.equal(end, 'd1:ai1e1:bl1:xi-2eee'.length)
  assert.ok(isDict(value))
  assert.equal(value.a, 1)
  assert.equal(decodePrefix(b('xx3:abcyy'), 2).end, 7)
})

test('strictness: every malformed or ambiguous form is a BencodeError', () => {
  for (const bad of [
    '',
    'i01e',
    'i-0e',
    'ie',
    'i-e',
    'i1',
    'i12345678901234567890e',
    '5:abc',
    '01:a',
    '-1:a',
    '1a',
    'd1:a',
    'di1ei2ee',
    'd1:ai1e1:ai2ee',
    'l',
    'x',
    'i1ei2e',
    '3:abcd',
    'd1:ae',
  ]) {
    assert.throws(() => decode(b(bad)), isBad, JSON.stringify(bad))
  }
  assert.throws(() => decode(b('l'.repeat(70) + 'e'.repeat(70))), isBad, 'nesting too deep')
  assert.doesNotThrow(() => decode(b('l'.repeat(60) + 'e'.repeat(60))))
  assert.throws(() => decode(b('l'.repeat(20) + 'e'.repeat(20)), { maxDepth: 16 }), isBad)
  assert.throws(() => decodeDict(b('li1ee')), isBad)
  assert.throws(() => dictEntries(b('d1:ai1ee ')), isBad, 'trailing bytes')
  assert.doesNotThrow(() => decode(b('d1:bi1e1:ai2ee')), 'unsorted keys are read unless canonical')
  assert.throws(() => decode(b('d1:bi1e1:ai2ee'), { canonical: true }), isBad)
  assert.throws(() => decode(b('li1ei01ee')), /non-canonical number at byte 5 of 9/, 'the message says where')
})

test('agrees with the bencode package: its encoding of random values reads back equal', () => {
  const rand = (depth: number): unknown => {
    const r = Math.random()
    if (depth > 3 || r < 0.3) return Math.floor((Math.random() - 0.5) * 2 ** 40)
    if (r < 0.6) return randomBytes(Math.floor(Math.random() * 8))
    if (r < 0.8) return Array.from({ length: Math.floor(Math.random() * 4) }, () => rand(depth + 1))
    const o: Record<string, unknown> = {}
    for (let i = 0; i < 4; i++) o[randomBytes(3).toString('hex')] = rand(depth + 1)
    return o
  }
  const plain = (v: BValue): unknown =>
    Buffer.isBuffer(v)
      ? v.toString('hex')
      : Array.isArray(v)
        ? v.map(plain)
        : isDict(v)
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
          : v
  const plainIn = (v: unknown): unknown =>
    v instanceof Uint8Array
      ? Buffer.from(v).toString('hex')
      : Array.isArray(v)
        ? v.map(plainIn)
        : typeof v === 'object' && v !== null
          ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainIn(x)]))
          : v
  for (let i = 0; i < 300; i++) {
    const v = rand(0)
    const bytes = Buffer.from(bencode.encode(v))
    assert.deepEqual(plain(decode(bytes, { canonical: true })), plainIn(v))
    assert.deepEqual(encode(v), bytes, "encode is the package's")
  }
})

test('encode: sorted keys, undefined left out, strings as UTF-8', () => {
  assert.equal(encode({ b: 1, a: 'x', c: [1, Buffer.from('y')], d: undefined }).toString(), 'd1:a1:x1:bi1e1:cli1e1:yee')
  assert.equal(encode('é').toString('latin1'), '2:\xc3\xa9')
})
