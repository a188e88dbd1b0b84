// The seeder's piece ledger (bt_server/lean/pieceLedger.ts): in a crowd, each piece goes out about
// once and the rest is left to the peers that hold it; nothing stalls (holders leaving, a grant
// ageing out, a requester making no progress); a lone downloader is never checked.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { PeerPieces, PieceLedger, RECENT_MS, STALL_MS } from '../../bt_server/lean/pieceLedger.ts'

const bitfield = (pieceCount: number, have: number[]): Buffer => {
  const b = Buffer.alloc((pieceCount + 7) >> 3)
  for (const i of have) b[i >> 3]! |= 1 << (7 - (i & 7))
  return b
}

describe('piece ledger', () => {
  test('one needy peer: not crowded (requests are not checked)', () => {
    const l = new PieceLedger(10)
    const a = new PeerPieces(l, 0)
    assert.equal(l.crowded, false)
    const b = new PeerPieces(l, 0)
    assert.equal(l.crowded, true)
    b.leave()
    assert.equal(l.crowded, false)
    a.leave()
    assert.equal(l.needy, 0)
  })

  test('a piece granted to one peer is refused to another until the grant ages out', () => {
    const l = new PieceLedger(10)
    const a = new PeerPieces(l, 0)
    const b = new PeerPieces(l, 0)
    assert.equal(l.serve(3, a, 100), true)
    assert.equal(l.serve(3, a, 200), true, 'its other blocks follow')
    assert.equal(l.serve(3, b, 300), false)
    assert.equal(l.serve(4, b, 300), true, 'a piece nobody has goes out')
    b.have(4, 1000) // b makes progress: not stalled
    a.have(7, 1000)
    b.have(5, 200 + RECENT_MS - 2)
    assert.equal(l.serve(3, b, 200 + RECENT_MS - 1), false)
    assert.equal(l.serve(3, b, 200 + RECENT_MS), true, 'the grant aged out and nobody holds it')
  })

  test('a piece a connected peer holds is left to it; served again once its holders left', () => {
    const l = new PieceLedger(16)
    const a = new PeerPieces(l, 0)
    const b = new PeerPieces(l, 0)
    new PeerPieces(l, 0) // a third needy peer keeps the crowd when a leaves
    a.bitfield(bitfield(16, [1, 2, 9]), 0)
    assert.equal(l.holdersOf(9), 1)
    assert.equal(l.serve(9, b, 10), false)
    a.have(9, 10) // a HAVE for a piece it already announced counts once
    assert.equal(l.holdersOf(9), 1)
    a.leave()
    assert.equal(l.holdersOf(9), 0)
    assert.equal(l.serve(9, b, 20), true)
  })

  test('a requester that made no progress for STALL_MS is served whatever it asks', () => {
    const l = new PieceLedger(4)
    const a = new PeerPieces(l, 0)
    const b = new PeerPieces(l, 0)
    a.have(0, 0)
    assert.equal(l.serve(0, b, STALL_MS), false)
    assert.equal(l.serve(0, b, STALL_MS + 1), true)
    b.have(1, STALL_MS + 2)
    a.have(2, STALL_MS + 2)
    assert.equal(l.serve(2, b, STALL_MS + 3), false, 'progress again: held back again')
  })

  test('a peer that completes stops counting as needy; out-of-range HAVEs are ignored', () => {
    const l = new PieceLedger(3)
    const a = new PeerPieces(l, 0)
    new PeerPieces(l, 0)
    a.have(99, 0)
    a.have(-1, 0)
    for (const i of [0, 1, 2]) a.have(i, 0)
    assert.equal(a.complete, true)
    assert.equal(l.needy, 1)
    a.leave()
    a.leave()
    assert.equal(l.needy, 1)
    assert.equal(l.holdersOf(0), 0)
  })

  test('a quiet peer (vanished without closing) stops holding and needing until it speaks again', () => {
    const l = new PieceLedger(8)
    const ghost = new PeerPieces(l, 0)
    const b = new PeerPieces(l, 0)
    const c = new PeerPieces(l, 0)
    ghost.bitfield(bitfield(8, [0, 1, 2]), 0)
    b.have(5, 0)
    assert.equal(l.serve(0, b, 10), false, 'left to the ghost while it counts')
    ghost.hush()
    ghost.hush() // once
    assert.equal(l.needy, 2)
    assert.equal(l.holdersOf(0), 0)
    assert.equal(l.serve(0, b, 20), true, 'served: nobody we hear from holds it')
    c.leave()
    assert.equal(l.crowded, false, 'one needy peer heard from: no checks')
    ghost.have(3, 30) // a HAVE while quiet is kept for when it wakes
    ghost.wake()
    ghost.wake() // once
    assert.equal(l.needy, 2)
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => l.holdersOf(i)),
      [1, 1, 1, 1],
    )
    assert.equal(l.serve(1, b, 40), false, 'it speaks again: its pieces are left to it again')
    ghost.hush()
    ghost.leave()
    ghost.leave()
    assert.equal(l.needy, 1)
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => l.holdersOf(i)),
      [0, 0, 0, 0],
    )
  })
})
