// Which peers the lean engine dials with MSE (bt_server/lean/dialEncryption.ts): plain first; a
// plain dial closed unanswered switches the address to MSE at once; an MSE dial closed unanswered
// switches it back; what is remembered is bounded.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { DialEncryption } from '../../bt_server/lean/dialEncryption.ts'

test('plain first, MSE after a plain dial closed unanswered, plain again after an MSE one', () => {
  const d = new DialEncryption()
  assert.equal(d.useMse('10.0.0.1:6881'), false)
  assert.equal(d.unanswered('10.0.0.1:6881', false), true, 'dial again now, with MSE')
  assert.equal(d.useMse('10.0.0.1:6881'), true)
  assert.equal(d.useMse('10.0.0.2:6881'), false, 'per address')
  assert.equal(d.unanswered('10.0.0.1:6881', true), false, 'no third dial at once')
  assert.equal(d.useMse('10.0.0.1:6881'), false)
})

test('remembers a bounded number of addresses, oldest forgotten first', () => {
  const d = new DialEncryption()
  for (let i = 0; i < 5000; i++) d.unanswered(`10.0.${i >> 8}.${i & 255}:6881`, false)
  assert.equal(d.useMse('10.0.0.0:6881'), false, 'the oldest went')
  assert.equal(d.useMse(`10.0.${4999 >> 8}.${4999 & 255}:6881`), true, 'the newest stays')
})
