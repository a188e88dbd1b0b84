// The peer wire codec (src/bittorrent/wire): handshake, the incremental parser,
// message builders, BEP 10 extension handshake and BEP 9 ut_metadata messages.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { WireError } from '../../src/bittorrent/errors.ts'
import {
  buildExtendedHandshake,
  buildMetadataData,
  buildMetadataReject,
  METADATA_PIECE_SIZE,
  metadataPieceCount,
  parseExtendedHandshake,
  parseMetadataMessage,
} from '../../src/bittorrent/wire/extended.ts'
import {
  buildHandshake,
  checkHandshakeStart,
  HANDSHAKE_LENGTH,
  parseHandshake,
} from '../../src/bittorrent/wire/handshake.ts'
import {
  bitfieldIsFull,
  cancelMessage,
  CHOKE,
  extendedMessage,
  fullBitfieldMessage,
  HAVE_ALL,
  HAVE_NONE,
  haveMessage,
  INTERESTED,
  KEEP_ALIVE,
  NOT_INTERESTED,
  rejectMessage,
  requestMessage,
  UNCHOKE,
  writePieceHeader,
  allowedFastMessage,
} from '../../src/bittorrent/wire/messages.ts'
import { MAX_MESSAGE_LENGTH, MessageParser, type ParsedItem } from '../../src/bittorrent/wire/parser.ts'

const infoHash = Buffer.from('0b54622203284c7908cc73c70b9cfbe41c8b2267', 'hex')
const peerId = Buffer.from('-SC0100-abcdefabcdef')

const isWireError = (code: string) => (err: unknown) => err instanceof WireError && err.code === code

test('handshake: built with the extension and fast bits, parsed back', () => {
  const h = buildHandshake({ infoHash, peerId, extended: true, fast: true })
  assert.equal(h.length, HANDSHAKE_LENGTH)
  assert.equal(h.toString('latin1', 1, 20), 'BitTorrent protocol')
  assert.equal(h.subarray(20, 28).toString('hex'), '0000000000100004')
  const p = parseHandshake(h)
  assert.deepEqual(p.infoHash, infoHash)
  assert.deepEqual(p.peerId, peerId)
  assert.equal(p.extended, true)
  assert.equal(p.fast, true)
  assert.equal(p.v2, false)
  const plain = parseHandshake(buildHandshake({ infoHash, peerId, extended: false, fast: false }))
  assert.equal(plain.extended, false)
  assert.equal(plain.fast, false)
  // BEP 52: v2 support is bit 0x10 of the last reserved byte, beside the fast bit.
  const v2 = buildHandshake({ infoHash, peerId, extended: true, fast: true, v2: true })
  assert.equal(v2.subarray(20, 28).toString('hex'), '0000000000100014')
  assert.equal(parseHandshake(v2).v2, true)
})

test('handshake: another protocol is refused on its first bytes (an MSE key, HTTP)', () => {
  assert.throws(() => checkHandshakeStart(Buffer.from('GET / HTTP/1.1')), isWireError('bad_handshake'))
  assert.throws(() => checkHandshakeStart(Buffer.from([19, 0x41])), isWireError('bad_handshake'))
  checkHandshakeStart(Buffer.from([19, 0x42, 0x69])) // a correct start: no throw
  const parser = new MessageParser({ handshake: true })
  assert.throws(() => parser.feed(randomBytes(96).fill(7, 0, 1)), isWireError('bad_handshake'))
})

/** The item with every Buffer as hex, so it survives the next feed and compares plainly. */
function norm(item: ParsedItem): ParsedItem {
  return Object.fromEntries(
    Object.entries(item).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v]),
  ) as ParsedItem
}

function allItems(parser: MessageParser, bytes: Buffer, step: number): ParsedItem[] {
  const out: ParsedItem[] = []
  for (let i = 0; i < bytes.length; i += step) {
    // Copy each chunk out: items may be views of what was fed, as on a socket.
    for (const item of parser.feed(Buffer.from(bytes.subarray(i, i + step)))) out.push(norm(item))
  }
  return out
}

const stream = Buffer.concat([
  buildHandshake({ infoHash, peerId, extended: true, fast: false }),
  KEEP_ALIVE,
  INTERESTED,
  NOT_INTERESTED,
  CHOKE,
  UNCHOKE,
  HAVE_ALL,
  HAVE_NONE,
  haveMessage(7),
  requestMessage(3, 16384, 16384),
  cancelMessage(3, 16384, 16384),
  rejectMessage(1, 0, 100),
  allowedFastMessage(9),
  fullBitfieldMessage(10),
  extendedMessage(0, buildExtendedHandshake({ utMetadata: 3, metadataSize: 1234 })),
  Buffer.from([0, 0, 0, 3, 9, 0x1a, 0xe1]), // port 6881
  Buffer.from([0, 0, 0, 1, 99]), // an id we do not know
])

const expected = [
  { type: 'handshake', infoHash, peerId, extended: true, fast: false, v2: false },
  { type: 'keep-alive' },
  { type: 'interested' },
  { type: 'not-interested' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'have-all' },
  { type: 'have-none' },
  { type: 'have', index: 7 },
  { type: 'request', index: 3, begin: 16384, length: 16384 },
  { type: 'cancel', index: 3, begin: 16384, length: 16384 },
  { type: 'reject', index: 1, begin: 0, length: 100 },
  { type: 'allowed-fast', index: 9 },
  { type: 'bitfield', bits: Buffer.from([0xff, 0xc0]) },
  { type: 'extended', id: 0, payload: buildExtendedHandshake({ utMetadata: 3, metadataSize: 1234 }) },
  { type: 'port', port: 6881 },
  { type: 'unknown', id: 99 },
]

for (const step of [1, 2, 3, 5, 17, 68, 1000]) {
  test(`parser: the same messages whatever the chunking (chunks of ${step} bytes)`, () => {
    assert.deepEqual(
      allItems(new MessageParser({ handshake: true }), stream, step),
      (expected as ParsedItem[]).map(norm),
    )
  })
}

test('parser: a piece message split across chunks arrives whole', () => {
  const block = randomBytes(16384)
  const msg = Buffer.alloc(13 + block.length)
  writePieceHeader(msg, 0, 5, 32768, block.length)
  block.copy(msg, 13)
  const items = allItems(new MessageParser(), msg, 1000)
  assert.equal(items.length, 1)
  const p = items[0] as unknown as { type: string; index: number; begin: number; block: string }
  assert.equal(p.type, 'piece')
  assert.equal(p.index, 5)
  assert.equal(p.begin, 32768)
  assert.equal(p.block, block.toString('hex'))
})

test('parser: a message longer than the limit is refused from its length prefix alone', () => {
  const parser = new MessageParser()
  const prefix = Buffer.alloc(4)
  prefix.writeUInt32BE(MAX_MESSAGE_LENGTH + 1)
  assert.throws(() => parser.feed(prefix), isWireError('message_too_long'))
  // Also when the prefix itself arrives in pieces.
  const p2 = new MessageParser()
  p2.feed(prefix.subarray(0, 2))
  assert.throws(() => p2.feed(prefix.subarray(2)), isWireError('message_too_long'))
  // 4 GiB - 1 (a garbage length) as well.
  assert.throws(() => new MessageParser().feed(Buffer.from([0xff, 0xff, 0xff, 0xff])), isWireError('message_too_long'))
})

test('parser: wrong payload sizes for fixed messages are errors', () => {
  assert.throws(() => new MessageParser().feed(Buffer.from([0, 0, 0, 2, 2, 0])), isWireError('bad_message')) // interested + 1 byte
  assert.throws(() => new MessageParser().feed(Buffer.from([0, 0, 0, 5, 6, 0, 0, 0, 1])), isWireError('bad_message')) // short request
  assert.throws(() => new MessageParser().feed(Buffer.from([0, 0, 0, 1, 20])), isWireError('bad_message')) // extended without id
})

test('bitfield: spare bits clear; full or not', () => {
  for (const n of [1, 7, 8, 9, 170, 1024]) {
    const msg = fullBitfieldMessage(n)
    assert.equal(msg.readUInt32BE(0), 1 + Math.ceil(n / 8))
    assert.equal(msg[4], 5)
    const bits = msg.subarray(5)
    const spare = bits.length * 8 - n
    assert.equal(bits.at(-1)! & ((1 << spare) - 1), 0, `spare bits of ${n}`)
    assert.equal(bitfieldIsFull(bits, n), true)
    const missing = Buffer.from(bits)
    missing[Math.floor((n - 1) / 8)]! &= ~(0x80 >> ((n - 1) % 8))
    assert.equal(bitfieldIsFull(missing, n), false, `last piece missing of ${n}`)
  }
  assert.equal(bitfieldIsFull(Buffer.alloc(0), 8), false)
})

test('extended handshake: our dict is sorted bencode; theirs is read leniently', () => {
  const ours = buildExtendedHandshake({
    utMetadata: 1,
    metadataSize: 3483,
    version: 'Seedcast 0.1.0',
    reqq: 250,
    port: 6881,
  })
  assert.equal(
    ours.toString('latin1'),
    'd1:md11:ut_metadatai1ee13:metadata_sizei3483e1:pi6881e4:reqqi250e1:v14:Seedcast 0.1.0e',
  )
  // aria2c's, as seen on the wire.
  const aria = Buffer.from(
    'd12:complete_agoi-1e1:md11:ut_metadatai9e6:ut_pexi8ee13:metadata_sizei3483e1:pi42157e4:reqqi250e1:v12:aria2/1.36.0e',
  )
  const h = parseExtendedHandshake(aria)
  assert.equal(h.m.get('ut_metadata'), 9)
  assert.equal(h.m.get('ut_pex'), 8)
  assert.equal(h.metadataSize, 3483)
  assert.equal(h.port, 42157)
  assert.equal(h.version, 'aria2/1.36.0')
  assert.throws(() => parseExtendedHandshake(Buffer.from('li1ee')), isWireError('bad_extended'))
  assert.throws(() => parseExtendedHandshake(Buffer.from('d1:m')), isWireError('bad_bencode'))
})

test('ut_metadata: a request read; data pieces of 16 KiB with total_size; reject', () => {
  const req = parseMetadataMessage(Buffer.from('d8:msg_typei0e5:piecei2ee'))
  assert.deepEqual(req, { msgType: 0, piece: 2 })
  const info = randomBytes(40_000)
  assert.equal(metadataPieceCount(info.length), 3)
  for (let piece = 0; piece < 3; piece++) {
    const payload = buildMetadataData(piece, info)!
    const msg = parseMetadataMessage(payload)
    assert.equal(msg.msgType, 1)
    assert.equal(msg.piece, piece)
    assert.equal(msg.totalSize, info.length)
    assert.deepEqual(msg.data, info.subarray(piece * METADATA_PIECE_SIZE, (piece + 1) * METADATA_PIECE_SIZE))
  }
  assert.equal(buildMetadataData(3, info), null)
  assert.equal(buildMetadataData(-1, info), null)
  assert.deepEqual(parseMetadataMessage(buildMetadataReject(5)), { msgType: 2, piece: 5 })
  assert.throws(() => parseMetadataMessage(Buffer.from('d8:msg_typei0ee')), isWireError('bad_metadata'))
})
