// The allow list made what the database holds (EmbeddedTracker.reconcile), after another process
// changed it: the database read is held open here so a local change lands while it runs, which
// is the race CI hit on PostgreSQL (a torrent removed during the read came back).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AllowRow } from '../../src/tracker/embeddedTracker.ts'
import { inProcessTracker } from '../helpers/tracker.ts'

const A = 'aa'.repeat(20)
const B = 'bb'.repeat(20)
const C = 'cc'.repeat(20)
const V2 = 'dd'.repeat(32)

const tracker = () => inProcessTracker()
const row = (infoHash: string, infoHashV2: string | null = null): AllowRow => ({
  infoHash,
  completed: 3,
  size: 1000,
  infoHashV2,
  legacyInfoHash: null,
})

/** A read that answers `rows` only when `release` is called. */
function heldRead(rows: AllowRow[]) {
  let release!: () => void
  const gate = new Promise<void>((r) => {
    release = r
  })
  let started = false
  return {
    read: async () => {
      started = true
      await gate
      return rows
    },
    release: () => release(),
    started: () => started,
  }
}

test('reconcile allows what the database has and drops what it no longer has, aliases included', async () => {
  const t = tracker()
  try {
    t.allow(A)
    t.allow(C, 0, 0, V2)
    await t.reconcile(async () => [row(A), row(B)])
    assert.equal(t.isAllowed(A), true)
    assert.equal(t.isAllowed(B), true)
    assert.equal(t.completed(B), 3)
    assert.equal(t.isAllowed(C), false, 'deleted by another process: no longer tracked')
    assert.equal(t.isAllowed(V2.slice(0, 40)), false, 'nor by its v2 alias')
  } finally {
    t.close()
  }
})

test('a torrent disallowed here while the read runs stays disallowed; one allowed here stays allowed', async () => {
  const t = tracker()
  try {
    t.allow(A)
    const held = heldRead([row(A)]) // read before A was removed and B was added
    const done = t.reconcile(held.read)
    assert.equal(held.started(), true)
    t.disallow(A)
    t.allow(B)
    held.release()
    await done
    assert.equal(t.isAllowed(A), false, 'the stale row does not bring A back')
    assert.equal(t.isAllowed(B), true, 'B, absent from the stale rows, is not dropped')
    // The next reconcile, with nothing changed meanwhile, follows the database again.
    await t.reconcile(async () => [row(A)])
    assert.equal(t.isAllowed(A), true)
    assert.equal(t.isAllowed(B), false)
  } finally {
    t.close()
  }
})
