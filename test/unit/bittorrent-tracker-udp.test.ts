import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import {
  parseUdpRequest,
  connectReply,
  announceReply,
  scrapeReply,
  errorReply,
  MAX_SCRAPE_HASHES,
} from '../../src/bittorrent/tracker/udp.ts'
import { TrackerProtocolError } from '../../src/bittorrent/errors.ts'
import { DEFAULT_NUMWANT } from '../../src/bittorrent/tracker/announce.ts'

// Packets are built field by field from the BEP 15 tables, independently of the code under test.
const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n >>> 0)
  return b
}
const i32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const u16 = (n: number) => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n)
  return b
}
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(n)
  return b
}
const MAGIC = Buffer.from('0000041727101980', 'hex')
const CONN = Buffer.from('0123456789abcdef', 'hex')
const HASH = randomBytes(20)
const PEER = Buffer.from('-lt0D80-0123456789ab')

const connectPacket = (tx: number) => Buffer.concat([MAGIC, u32(0), u32(tx)])
const announcePacket = (o: { event?: number; numwant?: number; port?: number; left?: bigint; extra?: Buffer } = {}) =>
  Buffer.concat([
    CONN,
    u32(1),
    u32(0xdeadbeef),
    HASH,
    PEER,
    u64(1234n),
    u64(o.left ?? 5678n),
    u64(91011n),
    u32(o.event ?? 2),
    u32(0x0a000001),
    u32(0xcafef00d),
    i32(o.numwant ?? -1),
    u16(o.port ?? 6881),
    o.extra ?? Buffer.alloc(0),
  ])
const scrapePacket = (hashes: Buffer[]) => Buffer.concat([CONN, u32(2), u32(77), ...hashes])

const fails = (msg: Buffer, codeName: string, transactionId?: number) =>
  assert.throws(
    () => parseUdpRequest(msg),
    (err: unknown) => {
      assert.ok(err instanceof TrackerProtocolError)
      assert.equal(err.code, codeName)
      assert.equal(err.transactionId, transactionId)
      return true
    },
  )

test('connect request', () => {
  assert.deepEqual(parseUdpRequest(connectPacket(0x12345678)), { action: 'connect', transactionId: 0x12345678 })
  assert.deepEqual(parseUdpRequest(connectPacket(0xffffffff)), { action: 'connect', transactionId: 0xffffffff })
  // Wrong magic: not a tracker client, dropped (no transaction id to answer).
  fails(Buffer.concat([Buffer.alloc(8), u32(0), u32(1)]), 'invalid_protocol_id')
})

test('announce request: every field at its BEP 15 offset', () => {
  const msg = announcePacket()
  assert.equal(msg.length, 98)
  const r = parseUdpRequest(msg)
  assert.deepEqual(r, {
    action: 'announce',
    connectionId: CONN,
    transactionId: 0xdeadbeef,
    infoHash: HASH.toString('hex'),
    peerId: PEER,
    downloaded: 1234,
    left: 5678,
    uploaded: 91011,
    event: 'started',
    ip: 0x0a000001,
    key: 0xcafef00d,
    numwant: DEFAULT_NUMWANT,
    port: 6881,
  })
  // Copies, not views of the packet.
  msg.fill(0)
  assert.deepEqual(r.action === 'announce' && r.peerId, PEER)
})

test('announce: events 0..3, numwant, 64-bit clamp, BEP 41 options ignored', () => {
  const ev = (e: number) => (parseUdpRequest(announcePacket({ event: e })) as { event: string }).event
  assert.deepEqual([0, 1, 2, 3].map(ev), ['update', 'completed', 'started', 'stopped'])
  const get = (o: Parameters<typeof announcePacket>[0]) =>
    parseUdpRequest(announcePacket(o)) as unknown as Record<string, unknown>
  assert.equal(get({ numwant: 0 }).numwant, 0)
  assert.equal(get({ numwant: 200 }).numwant, 200)
  assert.equal(get({ numwant: -5 }).numwant, DEFAULT_NUMWANT)
  assert.equal(get({ left: 2n ** 53n - 1n }).left, Number.MAX_SAFE_INTEGER)
  assert.equal(get({ left: 2n ** 64n - 1n }).left, Number.MAX_SAFE_INTEGER)
  assert.equal(get({ left: 2n ** 32n + 5n }).left, 2 ** 32 + 5)
  assert.equal(get({ extra: Buffer.from([2, 5, 0x2f, 0x61, 0x6e, 0x6e, 0x6f]) }).port, 6881)
})

test('announce errors are answerable: they carry the transaction id', () => {
  fails(announcePacket().subarray(0, 97), 'short_packet', 0xdeadbeef)
  fails(announcePacket({ event: 4 }), 'invalid_event', 0xdeadbeef)
  fails(announcePacket({ port: 0 }), 'invalid_port', 0xdeadbeef)
})

test('scrape request: 1..74 infohashes, order and duplicates kept', () => {
  const hashes = [HASH, randomBytes(20), HASH]
  assert.deepEqual(parseUdpRequest(scrapePacket(hashes)), {
    action: 'scrape',
    connectionId: CONN,
    transactionId: 77,
    infoHashes: hashes.map((h) => h.toString('hex')),
  })
  const max = Array.from({ length: MAX_SCRAPE_HASHES }, () => randomBytes(20))
  assert.equal((parseUdpRequest(scrapePacket(max)) as { infoHashes: string[] }).infoHashes.length, 74)
  fails(scrapePacket([...max, HASH]), 'too_many_info_hashes', 77)
  fails(scrapePacket([]), 'invalid_scrape_length', 77)
  fails(Buffer.concat([scrapePacket([HASH]), Buffer.alloc(7)]), 'invalid_scrape_length', 77)
})

test('garbage is dropped: short packets, unknown actions, the error action', () => {
  fails(Buffer.alloc(0), 'short_packet')
  fails(Buffer.alloc(15), 'short_packet')
  fails(Buffer.concat([CONN, u32(3), u32(1)]), 'invalid_action')
  fails(Buffer.concat([CONN, u32(9), u32(1), Buffer.alloc(100)]), 'invalid_action')
  fails(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 'invalid_action')
})

test('connect reply: action 0, transaction id, connection id', () => {
  const id = randomBytes(8)
  assert.deepEqual(connectReply(0xfedcba98, id), Buffer.concat([u32(0), u32(0xfedcba98), id]))
  assert.throws(() => connectReply(1, Buffer.alloc(4)), RangeError)
})

test('announce reply: action 1, tx, interval, leechers, seeders, then peers', () => {
  const peers = randomBytes(6 * 4)
  assert.deepEqual(
    announceReply(5, 1800, 3, 9, peers),
    Buffer.concat([u32(1), u32(5), u32(1800), u32(3), u32(9), peers]),
  )
  const peers6 = randomBytes(18 * 2)
  assert.deepEqual(announceReply(5, 60, 0, 0, peers6).subarray(20), peers6)
  assert.deepEqual(
    announceReply(5, 60, -1, 2 ** 40, Buffer.alloc(0)),
    Buffer.concat([u32(1), u32(5), u32(60), u32(0), u32(0xffffffff)]),
  )
})

test('scrape reply: seeders, completed, leechers per entry, in order', () => {
  const reply = scrapeReply(9, [
    { complete: 1, downloaded: 2, incomplete: 3 },
    { complete: 40, downloaded: 50, incomplete: 60 },
  ])
  assert.deepEqual(reply, Buffer.concat([u32(2), u32(9), u32(1), u32(2), u32(3), u32(40), u32(50), u32(60)]))
})

test('error reply: action 3, tx, UTF-8 message', () => {
  assert.deepEqual(
    errorReply(0xffffffff, 'unregistered torrent ✗'),
    Buffer.concat([u32(3), u32(0xffffffff), Buffer.from('unregistered torrent ✗')]),
  )
})

test('parse round trip through a bittorrent-tracker style client packet', () => {
  // Same layout bittorrent-tracker's UDP client sends (common.CONNECTION_ID = 0x417, 0x27101980).
  const pkt = Buffer.concat([u32(0x417), u32(0x27101980), u32(0), u32(42)])
  assert.deepEqual(parseUdpRequest(pkt), { action: 'connect', transactionId: 42 })
})
