// BEP 11 ut_pex messages (src/bittorrent/wire/pex.ts): what we send is bounded as the convention
// says (50 added, 50 dropped); what peers send is read leniently but within bounds (hostile input).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decode, encode } from '../../src/bittorrent/bencode.ts'
import { WireError } from '../../src/bittorrent/errors.ts'
import { buildExtendedHandshake, parseExtendedHandshake } from '../../src/bittorrent/wire/extended.ts'
import {
  buildPexMessage,
  OUR_UT_PEX_ID,
  parsePexMessage,
  PEX_MAX_PAYLOAD,
  PEX_MAX_PEERS,
  PEX_REACHABLE,
  PEX_SEED,
  PEX_UTP,
} from '../../src/bittorrent/wire/pex.ts'

const isWireError = (code: string) => (err: unknown) => err instanceof WireError && err.code === code

test('ut_pex: added peers with their flags, dropped peers, IPv4 and IPv6 lists; round trip', () => {
  const payload = buildPexMessage({
    added: [
      { ip: '127.0.0.1', port: 51413, flags: PEX_REACHABLE },
      { ip: '::ffff:10.0.0.2', port: 6881, flags: PEX_UTP },
      { ip: '2001:db8::7', port: 443, flags: 0 },
    ],
    dropped: [
      { ip: '192.168.1.9', port: 1 },
      { ip: '::1', port: 2 },
    ],
  })
  const d = decode(payload) as Record<string, Buffer>
  assert.equal(d.added!.toString('hex'), '7f000001c8d5' + '0a0000021ae1', 'compact IPv4, the mapped one as IPv4')
  assert.deepEqual([...d['added.f']!], [PEX_REACHABLE, PEX_UTP])
  assert.equal(d.added6!.length, 18)
  assert.deepEqual([...d['added6.f']!], [0])
  assert.equal(d.dropped!.toString('hex'), 'c0a801090001')
  assert.equal(d.dropped6!.length, 18)
  assert.deepEqual(parsePexMessage(payload), {
    added: [
      { ip: '127.0.0.1', port: 51413, flags: PEX_REACHABLE },
      { ip: '10.0.0.2', port: 6881, flags: PEX_UTP },
      { ip: '2001:db8::7', port: 443, flags: 0 },
    ],
    dropped: [
      { ip: '192.168.1.9', port: 1 },
      { ip: '::1', port: 2 },
    ],
  })
  // No IPv6 peers: no IPv6 keys at all; the IPv4 keys always there (libtorrent expects `added`).
  assert.equal(buildPexMessage({ added: [], dropped: [] }).toString(), 'd5:added0:7:added.f0:7:dropped0:e')
})

test('ut_pex: we never send more than 50 added or 50 dropped peers; unusable addresses are left out', () => {
  const many = Array.from({ length: PEX_MAX_PEERS + 1 }, (_, i) => ({
    ip: `10.0.${i >> 8}.${i & 255}`,
    port: 1000,
    flags: 0,
  }))
  assert.throws(() => buildPexMessage({ added: many, dropped: [] }), RangeError)
  assert.throws(() => buildPexMessage({ added: [], dropped: many }), RangeError)
  const fifty = buildPexMessage({ added: many.slice(0, 50), dropped: many.slice(0, 50) })
  assert.equal(parsePexMessage(fifty).added.length, 50)
  assert.ok(fifty.length < PEX_MAX_PAYLOAD)
  const odd = buildPexMessage({
    added: [
      { ip: 'not-an-ip', port: 1, flags: 0 },
      { ip: '1.2.3.4', port: 0, flags: 0 },
    ],
    dropped: [],
  })
  assert.deepEqual(parsePexMessage(odd).added, [])
})

test("ut_pex: a peer's message is read within bounds, whatever it sends", () => {
  // 300 added peers: only the first 50 are read; port 0 and a partial entry are skipped.
  const list = Buffer.alloc(300 * 6)
  for (let i = 0; i < 300; i++) {
    list.writeUInt32BE(0x0a000000 + i, i * 6)
    list.writeUInt16BE(i === 0 ? 0 : 7000, i * 6 + 4)
  }
  const big = encode({ added: Buffer.concat([list, Buffer.from([1, 2])]), 'added.f': Buffer.from([PEX_SEED]) })
  const got = parsePexMessage(big)
  assert.equal(got.added.length, 50)
  assert.deepEqual(got.added[0], { ip: '10.0.0.1', port: 7000, flags: 0 }, 'port 0 left out, flags missing read as 0')
  assert.equal(parsePexMessage(big, 10).added.length, 10, 'the caller may read fewer')
  // Wrong types are empty lists; the flags of the peers we read are theirs.
  assert.deepEqual(parsePexMessage(encode({ added: 5, dropped: [1], added6: { x: 1 } })), { added: [], dropped: [] })
  const flagged = encode({ added: Buffer.from('0a0000010001', 'hex'), 'added.f': Buffer.from([PEX_SEED]) })
  assert.equal(parsePexMessage(flagged).added[0]!.flags, PEX_SEED)
  // Not a dict, broken bencode, too large: refused.
  assert.throws(() => parsePexMessage(Buffer.from('li1ee')), isWireError('bad_pex'))
  assert.throws(() => parsePexMessage(Buffer.from('d5:added')), isWireError('bad_bencode'))
  assert.throws(() => parsePexMessage(Buffer.alloc(PEX_MAX_PAYLOAD + 1, 0x30)), isWireError('bad_pex'))
})

test('extension handshake: ut_pex offered beside ut_metadata unless left out', () => {
  const withPex = parseExtendedHandshake(buildExtendedHandshake({ utMetadata: 1, utPex: OUR_UT_PEX_ID }))
  assert.equal(withPex.m.get('ut_pex'), OUR_UT_PEX_ID)
  assert.equal(withPex.m.get('ut_metadata'), 1)
  assert.equal(parseExtendedHandshake(buildExtendedHandshake({ utMetadata: 1 })).m.has('ut_pex'), false)
})
