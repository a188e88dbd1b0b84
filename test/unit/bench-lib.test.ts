// The pure parts of bench/lib: report formatting, settings from the environment, waitFor's
// deadline, and the UDP request builders (checked field by field against BEP 15's tables).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  envList,
  envNumber,
  fmtMB,
  fmtMs,
  fmtRatioPct,
  fmtSec,
  markdownTable,
  parseSize,
  ratio,
  GiB,
  MiB,
} from '../../bench/lib/format.ts'
import { waitFor } from '../../bench/lib/processes.ts'

test('markdownTable: header, separator with one cell per column, rows', () => {
  assert.deepEqual(
    markdownTable(
      ['Metric', 'lean', 'Pass'],
      [
        ['a', '1 MB', 'yes'],
        ['b', '', ''],
      ],
    ),
    ['| Metric | lean | Pass |', '|---|---|---|', '| a | 1 MB | yes |', '| b |  |  |'],
  )
})

test('number formats of the reports', () => {
  assert.equal(fmtMB(123_456_789), '123.5 MB')
  assert.equal(fmtSec(1234), '1.23 s')
  assert.equal(fmtMs(9_999), '10.00 ms')
  assert.equal(fmtMs(12_345), '12 ms')
  assert.equal(ratio(3, 2), '1.50')
  assert.equal(ratio(3, 0), '')
  assert.equal(ratio(3, undefined), '')
  assert.equal(fmtRatioPct(0.456), '46 %')
  assert.equal(fmtRatioPct(undefined), '–')
})

test('parseSize: bytes and units, the default when unset, a floor', () => {
  assert.equal(parseSize('X', undefined, 7 * MiB), 7 * MiB)
  assert.equal(parseSize('X', ' ', 7 * MiB), 7 * MiB)
  assert.equal(parseSize('X', '2GiB', 0), 2 * GiB)
  assert.equal(parseSize('X', '512MiB', 0), 512 * MiB)
  assert.equal(parseSize('X', '1.5GB', 0), 1.5e9)
  assert.equal(parseSize('X', '2097152', 0), 2 * MiB)
  assert.throws(() => parseSize('X', '12 parsecs', 0), /X="12 parsecs"/)
  assert.throws(() => parseSize('X', '1000', 0), /at least/)
})

test('envNumber and envList', () => {
  const env = { A: '2.5', B: '3', C: '0', D: '1.5', L: ' a, b ,,c ' }
  assert.equal(envNumber('A', 9, {}, env), 2.5)
  assert.equal(envNumber('NONE', 9, {}, env), 9)
  assert.throws(() => envNumber('C', 9, {}, env), /positive/)
  assert.equal(envNumber('B', 9, { integer: true, min: 1 }, env), 3)
  assert.throws(() => envNumber('D', 9, { integer: true }, env), /whole number/)
  assert.throws(() => envNumber('B', 9, { integer: true, min: 4 }, env), /≥ 4/)
  assert.deepEqual(envList('L', ['x'], env), ['a', 'b', 'c'])
  assert.deepEqual(envList('NONE', ['x'], env), ['x'])
})

test('waitFor: the first value, a timeout naming what it waited for, a probe error ends the wait', async () => {
  let n = 0
  assert.equal(await waitFor('n to reach 3', 5000, () => (++n >= 3 ? n : undefined), 1), 3)
  const start = performance.now()
  await assert.rejects(
    waitFor('never', 200, () => undefined, 20),
    /timed out after 0\.20 s waiting for never/,
  )
  const waited = performance.now() - start
  assert.ok(waited >= 200 && waited < 1000, `waited ${waited} ms`)
  await assert.rejects(
    waitFor('x', 5000, () => {
      throw new Error('probe failed')
    }),
    /probe failed/,
  )
})
