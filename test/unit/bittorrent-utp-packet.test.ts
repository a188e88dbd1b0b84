// uTP packet headers (src/bittorrent/wire/utpPacket.ts): reading a header, sequence order with
// wrap-around, and the resets the seeder ends a connection with, checked against libtorrent 2.0's
// rules for taking a reset (utp_stream.cpp, incoming_packet): its connection id, an ack_nr not
// ahead of what it sent nor far behind what it had acked, a seq_nr not past its reorder window.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readUtpHeader, seqAfter, UTP_DATA, UTP_SYN, utpResets } from '../../src/bittorrent/wire/utpPacket.ts'

function header(type: number, connectionId: number, seq: number, ack: number, version = 1): Buffer {
  const b = Buffer.alloc(20)
  b[0] = (type << 4) | version
  b.writeUInt16BE(connectionId, 2)
  b.writeUInt16BE(seq, 16)
  b.writeUInt16BE(ack, 18)
  return b
}

test('reads a version-1 header; anything else is not one', () => {
  assert.deepEqual(readUtpHeader(header(UTP_SYN, 41247, 59522, 0)), {
    type: UTP_SYN,
    connectionId: 41247,
    seq: 59522,
    ack: 0,
  })
  assert.deepEqual(readUtpHeader(Buffer.concat([header(UTP_DATA, 1, 2, 3), Buffer.from('payload')]))?.seq, 2)
  assert.equal(readUtpHeader(header(UTP_DATA, 1, 2, 3).subarray(0, 19)), null, 'too short')
  assert.equal(readUtpHeader(header(UTP_DATA, 1, 2, 3, 2)), null, 'version 2')
  assert.equal(readUtpHeader(header(5, 1, 2, 3)), null, 'no type 5')
  assert.equal(readUtpHeader(Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q4:pinge')), null, 'a DHT message')
})

test('sequence numbers compare the nearer way round 16 bits', () => {
  assert.equal(seqAfter(5, 4), true)
  assert.equal(seqAfter(4, 5), false)
  assert.equal(seqAfter(4, 4), false)
  assert.equal(seqAfter(2, 0xfffe), true, 'across the wrap')
  assert.equal(seqAfter(0xfffe, 2), false)
})

/** compare_less_wrap: whether `b` is ahead of `a` (the shorter way up). */
const lessWrap = (a: number, b: number) => ((b - a) & 0xffff) < ((a - b) & 0xffff)

/** Whether libtorrent, connected, takes `reset` (its side: ids and sequence numbers). */
function libtorrentTakes(
  reset: Buffer,
  lt: { recvId: number; seqNr: number; ackedSeqNr: number; ackNr: number; reorder: number },
): boolean {
  const h = readUtpHeader(reset)!
  if (h.type !== 3 || h.connectionId !== lt.recvId) return false
  const cmp = (lt.seqNr - 1) & 0xffff
  if (lessWrap(cmp, h.ack) || lessWrap(h.ack, (lt.ackedSeqNr - 3) & 0xffff)) return false
  return !lessWrap((lt.ackNr + lt.reorder) & 0xffff, h.seq)
}

test('a peer that sent only its SYN takes one of the two resets, whatever our sequence number', () => {
  // It dialled with SYN seq 59522 and recv id 41247, got our ST_STATE (seq_nr: ours, unknown here).
  for (let ours = 0; ours < 0x10000; ours += 97) {
    const lt = { recvId: 41247, seqNr: 59523, ackedSeqNr: 59522, ackNr: (ours - 1) & 0xffff, reorder: 16 }
    const resets = utpResets(41247, null, 59522)
    assert.equal(resets.length, 2)
    assert.ok(
      resets.some((r) => libtorrentTakes(r, lt)),
      `our seq_nr ${ours}`,
    )
  }
})

test('with our acked sequence number known: one reset, and libtorrent takes it', () => {
  // It has sent its handshake (seq 44087, acking our 17767): the ids utp.ts followed.
  const [reset, ...more] = utpResets(16489, 17767, 44087)
  assert.deepEqual(more, [])
  const lt = { recvId: 16489, seqNr: 44088, ackedSeqNr: 44087, ackNr: 17767, reorder: 16 }
  assert.equal(libtorrentTakes(reset!, lt), true)
  assert.equal(libtorrentTakes(reset!, { ...lt, recvId: 16490 }), false, 'another connection id: ignored')
  assert.equal(libtorrentTakes(utpResets(16489, 17767, 44089)[0]!, lt), false, 'acking what it has not sent: ignored')
  assert.equal(libtorrentTakes(utpResets(16489, 17767 + 40, 44087)[0]!, lt), false, 'past its window: ignored')
})
