// How the lean engine dials a peer (bt_server/lean/dialWays.ts): TCP and plain first; TCP not
// connecting moves to uTP; a plain opening closed unanswered moves to MSE on the same transport;
// MSE closed unanswered over TCP moves to uTP, plain; nothing after uTP; what is remembered is bounded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DialWays } from '../../bt_server/lean/dialWays.ts'

const A = '10.0.0.1:6881'
const tcpPlain = { utp: false, mse: false }
const tcpMse = { utp: false, mse: true }
const utpPlain = { utp: true, mse: false }
const utpMse = { utp: true, mse: true }

test('plain first, MSE after a plain dial closed unanswered, and nothing at once after an MSE one without uTP', () => {
  const d = new DialWays()
  assert.deepEqual(d.first(A, false), tcpPlain)
  assert.deepEqual(d.after(A, tcpPlain, 'unanswered', false), tcpMse, 'dial again now, with MSE')
  assert.deepEqual(d.first(A, false), tcpMse)
  assert.deepEqual(d.first('10.0.0.2:6881', false), tcpPlain, 'per address')
  assert.equal(d.after(A, tcpMse, 'unanswered', false), null, 'no third dial at once')
  assert.deepEqual(d.first(A, false), tcpPlain, 'forgotten: plain again')
})

test('TCP not connecting: uTP, the same opening; uTP not connecting: nothing, forgotten', () => {
  const d = new DialWays()
  assert.deepEqual(d.after(A, tcpPlain, 'failed', true), utpPlain)
  assert.deepEqual(d.first(A, true), utpPlain, 'later dials start over uTP')
  assert.equal(d.after(A, utpPlain, 'failed', true), null)
  assert.deepEqual(d.first(A, true), tcpPlain)
  assert.deepEqual(d.after(A, tcpMse, 'failed', true), utpMse, 'an MSE dial stays MSE')
  assert.equal(d.after(A, tcpPlain, 'failed', false), null, 'no uTP (none listening, or IPv6): nothing')
})

test('a peer that requires encryption and takes only uTP: TCP plain, TCP MSE, uTP plain, uTP MSE', () => {
  const d = new DialWays()
  assert.deepEqual(d.after(A, tcpPlain, 'unanswered', true), tcpMse)
  assert.deepEqual(d.after(A, tcpMse, 'unanswered', true), utpPlain)
  assert.deepEqual(d.after(A, utpPlain, 'unanswered', true), utpMse)
  assert.deepEqual(d.first(A, true), utpMse, 'the way that got furthest is where the next dial starts')
  assert.deepEqual(d.first(A, false), tcpMse, 'over TCP while uTP is not there')
  assert.equal(d.after(A, utpMse, 'unanswered', true), null, 'nothing after MSE over uTP')
  assert.deepEqual(d.first(A, true), tcpPlain)
})

test('remembers a bounded number of addresses, oldest forgotten first', () => {
  const d = new DialWays()
  const at = (i: number) => `10.0.${i >> 8}.${i & 255}:6881`
  for (let i = 0; i < 5000; i++) d.after(at(i), tcpPlain, 'unanswered', true)
  assert.deepEqual(d.first(at(0), true), tcpPlain, 'the oldest went')
  assert.deepEqual(d.first(at(4999), true), tcpMse, 'the newest stays')
})
