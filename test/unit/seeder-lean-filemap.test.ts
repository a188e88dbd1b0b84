// The lean seeder's piece space over several files: a read becomes reads of the files it
// covers, in order, and the bytes no file covers (BEP 47 pad files, v2 gaps) are zeros that are
// never read from disk.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { FileMap } from '../../bt_server/lean/fileMap.ts'

test('a single file from offset 0 passes reads through unchanged', () => {
  const targets = [Buffer.alloc(10), Buffer.alloc(10)]
  const plan = new FileMap([{ offset: 0, length: 100, path: 'a' }], 100).plan(40, targets)
  assert.equal(plan.zeros, 0)
  assert.equal(plan.reads.length, 1)
  assert.deepEqual(plan.reads[0]!.targets, targets)
  assert.equal(plan.reads[0]!.position, 40)
})

test('a read across files and pads: each file from its own position, the pad zero-filled', () => {
  // a: 0..10, pad 10..16, b: 16..20, gap 20..32, c: 32..40
  const map = new FileMap(
    [
      { offset: 0, length: 10, path: 'a' },
      { offset: 16, length: 4, path: 'b' },
      { offset: 32, length: 8, path: 'c' },
    ],
    40,
  )
  const targets = [Buffer.alloc(16, 0xee), Buffer.alloc(16, 0xee), Buffer.alloc(8, 0xee)]
  const plan = map.plan(0, targets)
  assert.equal(plan.zeros, 6 + 12)
  assert.deepEqual(
    plan.reads.map((r) => [r.path, r.position, r.targets.map((t) => t.length)]),
    [
      ['a', 0, [10]],
      ['b', 0, [4]],
      ['c', 0, [8]],
    ],
  )
  // The pad and the gap are zeros; the file parts are left for the reads (still 0xee).
  assert.deepEqual([...targets[0]!.subarray(10, 16)], [0, 0, 0, 0, 0, 0])
  assert.ok(targets[1]!.subarray(4).every((b) => b === 0))
  assert.ok(targets[0]!.subarray(0, 10).every((b) => b === 0xee))
  // The views are of the targets themselves: a read fills the caller's buffers.
  plan.reads[1]!.targets[0]!.fill(7)
  assert.deepEqual([...targets[1]!.subarray(0, 4)], [7, 7, 7, 7])

  // A read starting inside a file, spanning two targets of the same file: one read.
  const mid = map.plan(2, [Buffer.alloc(4), Buffer.alloc(4)])
  assert.deepEqual(
    mid.reads.map((r) => [r.path, r.position, r.targets.length]),
    [['a', 2, 2]],
  )
  // Entirely in the gap: nothing to read.
  const gap = map.plan(22, [Buffer.alloc(8, 1)])
  assert.deepEqual(gap, { reads: [], zeros: 8 })
})
