// The tracker codecs' client side (what the lean seeder sends and reads) against their server side: the announce it
// writes is what the tracker parses, the replies the tracker writes are what it reads.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compactAddress, compactPeerList } from '../../src/bittorrent/address.ts'
import type { AnnounceParams } from '../../src/bittorrent/tracker/announce.ts'
import { announceReply, failureReply } from '../../src/bittorrent/tracker/httpReplies.ts'
import { httpAnnounceUrl, parseAnnounceQuery, parseHttpAnnounceReply } from '../../src/bittorrent/tracker/http.ts'
import {
  announceReply as udpAnnounceReply,
  connectReply,
  errorReply,
  parseUdpAnnounceReply,
  parseUdpConnectReply,
  parseUdpRequest,
  udpAnnounceRequest,
  udpConnectRequest,
  udpReplyHeader,
} from '../../src/bittorrent/tracker/udp.ts'

// Bytes that need escaping, and ones that must not be (RFC 3986 unreserved).
const params: AnnounceParams = {
  infoHash: Buffer.from('00ff2541267e2b3d20aa80fe7e2e5f7e5f2d2e7e20ff0001'.slice(0, 40), 'hex'),
  peerId: Buffer.from('-SC0100-%&=+ ~._-\x00\xff\x80'.slice(0, 20), 'latin1'),
  port: 6881,
  uploaded: 123_456_789_012,
  downloaded: 0,
  left: 0,
  event: 'started',
  numwant: 50,
  key: 0xdeadbeef,
}

test('HTTP announce: the site tracker reads back every field', () => {
  assert.equal(params.peerId.length, 20)
  const url = httpAnnounceUrl('http://127.0.0.1:3000/announce', params)
  assert.ok(url.startsWith('http://127.0.0.1:3000/announce?info_hash='))
  const parsed = parseAnnounceQuery(url.split('?')[1]!)
  assert.equal(parsed.infoHash, params.infoHash.toString('hex'))
  assert.deepEqual(Buffer.from(parsed.peerId), params.peerId)
  assert.equal(parsed.port, 6881)
  assert.equal(parsed.uploaded, 123_456_789_012)
  assert.equal(parsed.downloaded, 0)
  assert.equal(parsed.left, 0)
  assert.equal(parsed.event, 'started')
  assert.equal(parsed.numwant, 50)
  assert.equal(parsed.compact, true)
  assert.equal(parsed.key, 'deadbeef')
  // Periodic announces carry no event; a passkey query in the URL is kept.
  const update = httpAnnounceUrl('https://t.example/announce?passkey=abc', { ...params, event: 'update' })
  assert.match(update, /^https:\/\/t\.example\/announce\?passkey=abc&info_hash=/)
  assert.doesNotMatch(update, /event=/)
  assert.equal(parseAnnounceQuery(update.split('?')[1]!.replace('passkey=abc&', '')).event, 'update')
})

test('HTTP reply: compact peers (v4 and v6), intervals and counts; failure reason', () => {
  const peers4 = Buffer.from([127, 0, 0, 1, 0x1a, 0xe1, 10, 1, 2, 3, 0x00, 0x50])
  const peers6 = Buffer.alloc(18)
  peers6[15] = 1
  peers6.writeUInt16BE(51413, 16)
  const body = announceReply({
    interval: 300,
    minInterval: 60,
    complete: 1,
    incomplete: 2,
    peers4,
    peers6,
    compact: true,
  })
  assert.deepEqual(parseHttpAnnounceReply(body), {
    ok: true,
    intervalSec: 300,
    minIntervalSec: 60,
    seeders: 1,
    leechers: 2,
    peers: [
      { ip: '127.0.0.1', port: 6881 },
      { ip: '10.1.2.3', port: 80 },
      { ip: '::1', port: 51413 },
    ], // RFC 5952, as the tracker writes it,
  })
  const list = announceReply({
    interval: 900,
    complete: 0,
    incomplete: 1,
    peers4: Buffer.alloc(0),
    peers6: Buffer.alloc(0),
    compact: false,
    peerList: [{ ip: '192.0.2.7', port: 7000 }],
  })
  assert.deepEqual(parseHttpAnnounceReply(list).ok && parseHttpAnnounceReply(list), {
    ok: true,
    intervalSec: 900,
    seeders: 0,
    leechers: 1,
    peers: [{ ip: '192.0.2.7', port: 7000 }],
  })
  assert.deepEqual(parseHttpAnnounceReply(failureReply('unregistered torrent')), {
    ok: false,
    failure: 'unregistered torrent',
  })
  assert.throws(() => parseHttpAnnounceReply(Buffer.from('<html>')), /not a bencoded reply/)
  assert.throws(() => parseHttpAnnounceReply(Buffer.from('d5:peers0:e')), /without interval/)
})

test('compact peers: port 0 entries and trailing bytes are skipped', () => {
  assert.deepEqual(compactPeerList(Buffer.from([1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 1, 9]), 4), [
    { ip: '5.6.7.8', port: 1 },
  ])
})

test('UDP: connect and announce packets parse on the tracker side; its replies parse on ours', () => {
  const connect = udpConnectRequest(0x01020304)
  assert.deepEqual(parseUdpRequest(connect), { action: 'connect', transactionId: 0x01020304 })
  const connectionId = Buffer.from('0011223344556677', 'hex')
  assert.deepEqual(udpReplyHeader(connectReply(0x01020304, connectionId)), { action: 0, transactionId: 0x01020304 })
  assert.deepEqual(parseUdpConnectReply(connectReply(0x01020304, connectionId)), connectionId)

  const req = parseUdpRequest(udpAnnounceRequest(connectionId, 77, { ...params, event: 'stopped', numwant: -1 }))
  assert.equal(req.action, 'announce')
  if (req.action !== 'announce') return
  assert.deepEqual(req.connectionId, connectionId)
  assert.equal(req.transactionId, 77)
  assert.equal(req.infoHash, params.infoHash.toString('hex'))
  assert.deepEqual(req.peerId, params.peerId)
  assert.equal(req.uploaded, 123_456_789_012)
  assert.equal(req.left, 0)
  assert.equal(req.event, 'stopped')
  assert.equal(req.key, 0xdeadbeef)
  assert.equal(req.numwant, 50, '-1: the tracker default')
  assert.equal(req.port, 6881)

  const reply = udpAnnounceReply(77, 1800, 3, 1, Buffer.from([127, 0, 0, 1, 0x1a, 0xe2]))
  assert.deepEqual(parseUdpAnnounceReply(reply, 4), {
    ok: true,
    intervalSec: 1800,
    leechers: 3,
    seeders: 1,
    peers: [{ ip: '127.0.0.1', port: 6882 }],
  })
  const v6 = Buffer.from(compactAddress('2001:db8::7', 51413)!, 'latin1')
  assert.deepEqual(
    parseUdpAnnounceReply(udpAnnounceReply(78, 1800, 0, 1, v6), 6),
    { ok: true, intervalSec: 1800, leechers: 0, seeders: 1, peers: [{ ip: '2001:db8::7', port: 51413 }] },
    'IPv6 as RFC 5952',
  )
  for (const event of ['started', 'completed', 'stopped', 'update', 'paused'] as const) {
    const sent = parseUdpRequest(udpAnnounceRequest(connectionId, 79, { ...params, event }))
    assert.equal(
      sent.action === 'announce' && sent.event,
      event === 'paused' ? 'update' : event,
      `${event}: BEP 15 has no paused`,
    )
  }
  assert.deepEqual(parseUdpAnnounceReply(errorReply(77, 'unregistered torrent'), 4), {
    ok: false,
    failure: 'unregistered torrent',
  })
  assert.throws(() => parseUdpConnectReply(errorReply(1, 'go away')), /go away/)
  assert.equal(udpReplyHeader(Buffer.alloc(7)), null)
})

test('UDP requests as the bench load generator sends them: BEP 15 layouts, 64-bit fields beyond 2^32', () => {
  const c = udpConnectRequest(0x80000001)
  assert.equal(c.toString('hex'), '0000041727101980' + '00000000' + '80000001')

  const connId = Buffer.from('0123456789abcdef', 'hex')
  const infoHash = Buffer.alloc(20, 0xaa)
  const peerId = Buffer.alloc(20, 0xbb)
  const a = udpAnnounceRequest(connId, 7, {
    infoHash,
    peerId,
    port: 51413,
    uploaded: 2 ** 40 + 3,
    downloaded: 0,
    left: 2 ** 32 + 5,
    event: 'started',
    numwant: 50,
    key: 0xdeadbeef,
  })
  assert.equal(a.length, 98)
  assert.deepEqual(a.subarray(0, 8), connId)
  assert.equal(a.readUInt32BE(8), 1) // announce
  assert.equal(a.readUInt32BE(12), 7)
  assert.deepEqual(a.subarray(16, 36), infoHash)
  assert.deepEqual(a.subarray(36, 56), peerId)
  assert.equal(a.readBigUInt64BE(56), 0n) // downloaded
  assert.equal(a.readBigUInt64BE(64), 2n ** 32n + 5n) // left
  assert.equal(a.readBigUInt64BE(72), 2n ** 40n + 3n) // uploaded
  assert.equal(a.readUInt32BE(80), 2) // started
  assert.equal(a.readUInt32BE(84), 0) // ip
  assert.equal(a.readUInt32BE(88), 0xdeadbeef)
  assert.equal(a.readInt32BE(92), 50)
  assert.equal(a.readUInt16BE(96), 51413)
  const d = udpAnnounceRequest(connId, 8, {
    infoHash,
    peerId,
    port: 6881,
    uploaded: 0,
    downloaded: -1,
    left: 0,
    event: 'update',
    numwant: -1,
    key: 0,
  })
  assert.equal(d.readInt32BE(92), -1) // numwant: the tracker's default
  assert.equal(d.readBigUInt64BE(56), 0n) // a negative count is sent as 0
  assert.equal(d.readUInt32BE(80), 0)
})
