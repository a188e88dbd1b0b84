// The lean seeder's bounds as pure pieces (issue 8): who holds connections by address and whom a
// full cap drops, slot order by address, and the read gate that holds a peer's input while its
// output is over its bound.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { AddressBook, pickVictim, type VictimView } from '../../bt_server/lean/admission.ts'
import { ReadGate } from '../../bt_server/lean/readGate.ts'
import { UnchokeSlots } from '../../bt_server/lean/unchokeSlots.ts'
import type { ParsedItem } from '../../src/bittorrent/wire/parser.ts'

test('address book: connections and handshakes in progress per address', () => {
  const book = new AddressBook<string>()
  book.add('1.2.3.4', 'a')
  book.add('1.2.3.4', 'b')
  book.add('5.6.7.8', 'c')
  assert.equal(book.count('1.2.3.4'), 2)
  assert.equal(book.handshaking('1.2.3.4'), 2)
  book.handshakeDone('1.2.3.4')
  assert.equal(book.handshaking('1.2.3.4'), 1)
  book.remove('1.2.3.4', 'b', true) // left during its handshake
  assert.equal(book.count('1.2.3.4'), 1)
  assert.equal(book.handshaking('1.2.3.4'), 0)
  book.remove('1.2.3.4', 'a', false)
  book.remove('1.2.3.4', 'a', false) // twice: no effect
  assert.equal(book.count('1.2.3.4'), 0)
  assert.equal(book.addresses, 1)
})

interface P {
  name: string
  view: VictimView
}
const peer = (name: string, key: string, idle: boolean, since: number): P => ({ name, view: { key, idle, since } })

test('victim: an idle connection of the address holding most, oldest first; never a busy one', () => {
  const now = 100_000
  const peers = [
    peer('busy-attacker', 'A', false, 0),
    peer('attacker-new', 'A', true, 90_000),
    peer('attacker-old', 'A', true, 80_000),
    peer('user', 'U', true, 70_000),
  ]
  const counts = new Map([
    ['A', 3],
    ['U', 1],
  ])
  const pick = (newCount: number, stale = 60_000) =>
    pickVictim(
      peers,
      (p) => p.view,
      (k) => counts.get(k) ?? 0,
      newCount,
      now,
      stale,
    )?.name ?? null
  assert.equal(pick(1), 'attacker-old', "a newcomer from a fresh address drops the big holder's oldest idle one")
  // A newcomer whose address holds as many as the biggest holder does not push anyone out,
  // unless an idle connection is stale.
  assert.equal(pick(3, Infinity), null)
  assert.equal(pick(3, 25_000), 'user', 'the oldest idle one, once stale, whatever its address')
  assert.equal(
    pickVictim(
      [peer('busy', 'A', false, 0)],
      (p) => p.view,
      () => 9,
      1,
      now,
      0,
    ),
    null,
    'busy peers are never dropped',
  )
})

test('slots: the next free slot goes to the waiting peer of the lowest rank, arrival order among equals', () => {
  const rank = new Map([
    ['a1', 5],
    ['a2', 5],
    ['u', 1],
    ['a3', 5],
  ])
  const s = new UnchokeSlots<string>(1, (p) => rank.get(p) ?? 0)
  assert.equal(s.request('a1', 0), true)
  assert.equal(s.request('o', 0), true, 'the optimistic slot (rotated at random, not by rank)')
  assert.equal(s.request('a2', 0), false)
  assert.equal(s.request('u', 0), false)
  assert.equal(s.request('a3', 0), false)
  assert.equal(s.release('a1', 0), 'u', 'the user ahead of the earlier attackers')
  assert.equal(s.release('u', 0), 'a2')
  assert.equal(s.release('a2', 0), 'a3')
  assert.equal(s.release('a3', 0), undefined)
})

test('read gate: counts once per closed spell, holds input up to its bound, gives back in order', () => {
  const g = new ReadGate(10)
  const items = [{ type: 'interested' }, { type: 'keep-alive' }] as ParsedItem[]
  assert.equal(g.close(0, 100, null), false, 'closed by blocks filling the socket: not counted')
  assert.equal(g.close(0, 100, items), true, 'messages left waiting: counted')
  assert.equal(g.close(0, 100, items.slice(1)), false, 'once per spell')
  assert.equal(g.keep(Buffer.from('abcd')), true)
  assert.equal(g.keep(Buffer.from('efgh')), true)
  const out = g.open()
  assert.deepEqual(out.backlog, items.slice(1))
  assert.deepEqual(Buffer.concat(out.held).toString(), 'abcdefgh')
  assert.equal(g.closed, false)
  assert.equal(g.close(0, 100, items), true, 'a new spell counts again')
  g.putBack([Buffer.from('xyz')])
  assert.equal(g.keep(Buffer.from('1234567')), true, '3 + 7 bytes: at the bound')
  assert.equal(g.keep(Buffer.from('!')), false, 'over it')
})

test('read gate: stalled once the output has not gone down for the given time', () => {
  const g = new ReadGate(10)
  assert.equal(g.stalled(0, 5, 1000), false, 'open: never stalled')
  g.close(0, 1000, null)
  assert.equal(g.stalled(600, 1000, 1000), false)
  assert.equal(g.stalled(900, 800, 1000), false, 'it went down: progress')
  assert.equal(g.stalled(1800, 800, 1000), false)
  assert.equal(g.stuckFor(1800), 900)
  assert.equal(g.stalled(2000, 900, 1000), true, 'no progress for over 1000 ms')
})
