// The lean seeder's optimistic unchoke (bt_server/lean/unchokeSlots.ts), with time passed in: one
// slot beyond the regular ones, taken at once by a peer that finds them full, then rotated every
// 30 s to a random waiting peer, so a newcomer gets data even when every regular slot is held.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { OPTIMISTIC_ROTATE_MS, UnchokeSlots } from '../../bt_server/lean/unchokeSlots.ts'

/** Regular slots held by r1..rN, the optimistic one by `first`, then `waiting` in order. */
function full(max: number, first: string, waiting: string[], random: () => number = Math.random) {
  const s = new UnchokeSlots<string>(max, () => 0, random)
  for (let i = 1; i <= max; i++) assert.equal(s.request(`r${i}`, 0), true)
  assert.equal(s.request(first, 0), true, 'the optimistic slot is free: taken at once')
  for (const w of waiting) assert.equal(s.request(w, 0), false, `${w} waits`)
  return s
}

test('optimistic unchoke: kept for 30 s, then moved to a waiting peer; the one holding it waits again', () => {
  const s = full(2, 'x', ['y'])
  assert.deepEqual(s.rotate(1000), {}, 'too early')
  assert.deepEqual(s.rotate(OPTIMISTIC_ROTATE_MS - 1), {}, 'still too early')
  assert.deepEqual(s.rotate(OPTIMISTIC_ROTATE_MS), { choke: 'x', unchoke: 'y' })
  assert.equal(s.optimisticPeer, 'y')
  assert.equal(s.has('x'), false)
  assert.equal(s.queued, 1, 'x waits')
  assert.deepEqual(s.rotate(OPTIMISTIC_ROTATE_MS + 1000), {}, 'the new holder gets its 30 s')
  assert.deepEqual(s.rotate(2 * OPTIMISTIC_ROTATE_MS), { choke: 'y', unchoke: 'x' })
  assert.equal(s.count, 3, 'regular slots untouched')
  assert.ok(s.has('r1') && s.has('r2'))
})

test('optimistic unchoke: nobody waiting, the holder keeps it; the waiting peer is picked at random', () => {
  const lone = full(1, 'x', [])
  assert.deepEqual(lone.rotate(10 * OPTIMISTIC_ROTATE_MS), {})
  assert.equal(lone.optimisticPeer, 'x')

  // random() picks among the waiting in arrival order: 0 → first, 0.99 → last.
  const low = full(1, 'x', ['a', 'b', 'c'], () => 0)
  assert.equal(low.rotate(OPTIMISTIC_ROTATE_MS).unchoke, 'a')
  const high = full(1, 'x', ['a', 'b', 'c'], () => 0.99)
  assert.equal(high.rotate(OPTIMISTIC_ROTATE_MS).unchoke, 'c')

  // Over many rotations every waiting peer gets its turn.
  const s = full(1, 'x', ['a', 'b', 'c', 'd'])
  const got = new Set<string>()
  for (let i = 1; i <= 200; i++) {
    const u = s.rotate(i * OPTIMISTIC_ROTATE_MS).unchoke
    if (u) got.add(u)
  }
  assert.deepEqual([...got].sort(), ['a', 'b', 'c', 'd', 'x'])
})

test('optimistic unchoke: its holder leaving hands it on at once; a free slot is filled at the next round', () => {
  const s = full(1, 'x', ['a'])
  assert.equal(s.release('x', 5000), 'a', 'the waiting peer takes the optimistic slot at once')
  assert.equal(s.optimisticPeer, 'a')
  assert.deepEqual(s.rotate(5000 + OPTIMISTIC_ROTATE_MS - 1), {}, 'and holds it its full 30 s')

  const lone = full(1, 'x', [])
  assert.equal(lone.release('x', 0), undefined)
  assert.equal(lone.optimisticPeer, undefined)
  assert.equal(lone.request('n', 1), true, 'a newcomer takes the free optimistic slot')
  assert.equal(lone.optimisticPeer, 'n')

  // A regular slot freed goes to the best-ranked waiting peer, the optimistic holder keeps its own.
  const r = full(1, 'x', ['a'])
  assert.equal(r.release('r1', 0), 'a')
  assert.equal(r.optimisticPeer, 'x')
})
