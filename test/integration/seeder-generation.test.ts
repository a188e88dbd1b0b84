// The rescan notice (src/seeder/seederLink.ts) is a counter each process moves by one: a process's
// own watcher skips the values it wrote (it already did what they announce) and wakes for anyone
// else's, also when the other's notice and its own come between two of its reads. Two database
// handles on one database stand for two processes (the web app and the CLI's import).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Db } from '../../src/db/client.ts'
import { bumpGeneration, readGeneration, watchGeneration } from '../../src/seeder/seederLink.ts'
import { scratchDatabases } from '../helpers/server.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A watcher that counts its wake-ups, after its first read. */
async function watcher(db: Db, everyMs: number) {
  let woke = 0
  const w = watchGeneration(db, everyMs, async () => {
    woke++
  })
  await sleep(everyMs * 3)
  return { woke: () => woke, stop: () => w.stop() }
}

test("a process's own rescan notices do not wake its watcher; another's do", async (t) => {
  const [site, cli] = await scratchDatabases(t, 2)
  // A value from a version that wrote random ones: the counter starts again.
  await site.setting.create({ data: { key: 'seederGeneration', value: '1733-abc' } })
  await bumpGeneration(site)
  assert.equal(await readGeneration(site), '1')
  // Read every 2 ms: reads that meet a bump under way (its value written, not yet known as its own).
  const w = await watcher(site, 2)
  t.after(() => w.stop())
  for (let i = 0; i < 40; i++) {
    await bumpGeneration(site)
    await sleep(3)
  }
  assert.equal(await readGeneration(cli), '41', 'one step a notice')
  await sleep(250)
  assert.equal(w.woke(), 0, 'its own forty notices')
  await bumpGeneration(cli)
  for (let i = 0; i < 40 && w.woke() === 0; i++) await sleep(25)
  assert.equal(w.woke(), 1, "the other process's notice")
})

test("another's notice between two reads wakes the watcher though its own came after it", async (t) => {
  const [site, cli] = await scratchDatabases(t, 2)
  const w = await watcher(site, 400)
  t.after(() => w.stop())
  // Both within one interval of the watcher (400 ms), the other's first.
  await bumpGeneration(cli)
  await bumpGeneration(site)
  await sleep(1000)
  assert.equal(w.woke(), 1)
  // Its own alone, twice within one interval: nothing.
  await bumpGeneration(site)
  await bumpGeneration(site)
  await sleep(1000)
  assert.equal(w.woke(), 1)
})
