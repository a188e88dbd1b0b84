import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import bencode from 'bencode'
import { decode, isDict, type BDict, type BValue } from '../../src/bittorrent/bencode.ts'
import { announceReply, failureReply, scrapeReply } from '../../src/bittorrent/tracker/httpReplies.ts'

// Read back with the core's strict reader in canonical mode (keys strictly increasing bytewise,
// nothing trailing) and, independently, with the `bencode` package. Dict keys are latin1 strings,
// one char per byte; entries are in stored order.
const strictDecode = (buf: Buffer): BValue => decode(buf, { canonical: true })
const dict = (v: BValue) => {
  assert.ok(isDict(v), 'a dict')
  return { keys: Object.keys(v).map((k) => Buffer.from(k, 'latin1')), values: Object.values(v) }
}
const keysOf = (v: BValue) => Object.keys(v as BDict)
const get = (v: BValue, key: string | Buffer) => (v as BDict)[typeof key === 'string' ? key : key.toString('latin1')]

type Obj = Record<string, any>

test('compact announce: all keys, sorted, with both peer families', () => {
  const peers4 = randomBytes(6 * 3)
  const peers6 = randomBytes(18 * 2)
  const reply = announceReply({
    interval: 1800,
    minInterval: 900,
    complete: 5,
    incomplete: 7,
    downloaded: 42,
    peers4,
    peers6,
    compact: true,
    warning: 'héllo ⚠',
  })
  const ours = strictDecode(reply)
  assert.deepEqual(keysOf(ours), [
    'complete',
    'downloaded',
    'incomplete',
    'interval',
    'min interval',
    'peers',
    'peers6',
    'warning message',
  ])
  assert.deepEqual(get(ours, 'peers'), peers4)
  assert.deepEqual(get(ours, 'peers6'), peers6)
  assert.equal(Buffer.from(get(ours, 'warning message') as Buffer).toString('utf8'), 'héllo ⚠')

  const theirs = bencode.decode(reply) as Obj
  assert.equal(theirs.complete, 5)
  assert.equal(theirs.incomplete, 7)
  assert.equal(theirs.downloaded, 42)
  assert.equal(theirs.interval, 1800)
  assert.equal(theirs['min interval'], 900)
  assert.deepEqual(Buffer.from(theirs.peers), peers4)
  assert.deepEqual(Buffer.from(theirs.peers6), peers6)
  // The package re-encodes to the same bytes: our output is canonical.
  assert.deepEqual(Buffer.from(bencode.encode(theirs)), reply)
})

test('compact announce: optional keys left out; empty peers6 omitted; empty peers kept', () => {
  const reply = announceReply({
    interval: 60,
    complete: 0,
    incomplete: 0,
    peers4: Buffer.alloc(0),
    peers6: Buffer.alloc(0),
    compact: true,
  })
  assert.equal(reply.toString('latin1'), 'd8:completei0e10:incompletei0e8:intervali60e5:peers0:e')
  assert.deepEqual(keysOf(strictDecode(reply)), ['complete', 'incomplete', 'interval', 'peers'])
})

test('non-compact announce: list of dicts with ip, peer id, port; peer id optional', () => {
  const id = Buffer.from('-TR3000-\u00ff\u0000abcdefghij', 'latin1')
  const reply = announceReply({
    interval: 1800,
    minInterval: 60,
    complete: 1,
    incomplete: 1,
    peers4: Buffer.alloc(0),
    peers6: Buffer.alloc(0),
    compact: false,
    peerList: [
      { ip: '10.0.0.1', port: 6881, peerId: id },
      { ip: '2001:db8::1', port: 51413 },
    ],
  })
  const ours = strictDecode(reply)
  assert.deepEqual(keysOf(ours), ['complete', 'incomplete', 'interval', 'min interval', 'peers'])
  const list = get(ours, 'peers') as BValue[]
  assert.deepEqual(keysOf(list[0]!), ['ip', 'peer id', 'port'])
  assert.deepEqual(keysOf(list[1]!), ['ip', 'port'])
  assert.deepEqual(get(list[0]!, 'peer id'), id)
  const theirs = bencode.decode(reply) as Obj
  assert.deepEqual(
    theirs.peers.map((p: Obj) => [Buffer.from(p.ip).toString(), p.port]),
    [
      ['10.0.0.1', 6881],
      ['2001:db8::1', 51413],
    ],
  )
  assert.deepEqual(Buffer.from(theirs.peers[0]['peer id']), id)
})

test('integers must be integers', () => {
  const base = {
    interval: 1,
    complete: 0,
    incomplete: 0,
    peers4: Buffer.alloc(0),
    peers6: Buffer.alloc(0),
    compact: true,
  }
  assert.throws(() => announceReply({ ...base, interval: 1.5 }), TypeError)
  assert.throws(() => announceReply({ ...base, complete: Number.NaN }), TypeError)
})

test('failure reply', () => {
  const reply = failureReply('unregistered torrent: ünïcode')
  assert.deepEqual(keysOf(strictDecode(reply)), ['failure reason'])
  const theirs = bencode.decode(reply) as Obj
  assert.equal(Buffer.from(theirs['failure reason']).toString('utf8'), 'unregistered torrent: ünïcode')
  assert.equal(failureReply('x').toString(), 'd14:failure reason1:xe')
})

test('scrape: keys are the 20 raw infohash bytes, sorted bytewise, not UTF-8 text', () => {
  // Bytes >= 0x80 would become 2-3 UTF-8 bytes (or U+FFFD) if written as text.
  const hashes = [
    Buffer.alloc(20, 0xff),
    Buffer.alloc(20, 0x00),
    randomBytes(20),
    Buffer.from('80'.repeat(20), 'hex'),
    randomBytes(20),
  ]
  const files = hashes.map((h, i) => ({
    infoHash: h.toString('hex'),
    complete: i,
    downloaded: 100 + i,
    incomplete: 2 * i,
  }))
  const reply = scrapeReply(files)
  const ours = strictDecode(reply)
  assert.deepEqual(keysOf(ours), ['files'])
  const filesDict = dict(get(ours, 'files')!)
  const sorted = hashes.slice().sort(Buffer.compare)
  assert.deepEqual(filesDict.keys, sorted)
  for (const k of filesDict.keys) assert.equal(k.length, 20)
  hashes.forEach((h, i) => {
    const entry = get(get(ours, 'files')!, h)!
    assert.deepEqual(keysOf(entry), ['complete', 'downloaded', 'incomplete'])
    assert.equal(get(entry, 'complete'), i)
    assert.equal(get(entry, 'downloaded'), 100 + i)
    assert.equal(get(entry, 'incomplete'), 2 * i)
  })

  // The bencode package names a key by its UTF-8 text, or by its hex when the bytes aren't valid
  // UTF-8 (as binary infohashes mostly aren't): either way it must come from exactly our 20 bytes.
  const theirs = bencode.decode(reply) as Obj
  const theirKey = (h: Buffer) => {
    const text = new TextDecoder().decode(h)
    return text.includes('\uFFFD') ? h.toString('hex') : text
  }
  assert.deepEqual(Object.keys(theirs.files).sort(), hashes.map(theirKey).sort())
  hashes.forEach((h, i) => assert.equal(theirs.files[theirKey(h)].downloaded, 100 + i))
})

test('scrape: empty, duplicates once, bad hex refused', () => {
  assert.equal(scrapeReply([]).toString(), 'd5:filesdee')
  const h = randomBytes(20).toString('hex')
  const f = { infoHash: h, complete: 1, downloaded: 2, incomplete: 3 }
  assert.deepEqual(dict(get(strictDecode(scrapeReply([f, f])), 'files')!).keys.length, 1)
  assert.throws(() => scrapeReply([{ ...f, infoHash: h.toUpperCase() }]))
  assert.throws(() => scrapeReply([{ ...f, infoHash: h.slice(2) }]))
})
