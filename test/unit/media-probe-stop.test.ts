// A stop (server close) kills a running ffmpeg; what it was making must be settled only once the
// process is gone, so that nothing writes into the storage directory after close() returns.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { makeThumbnail } from '../../src/media/mediaProbe.ts'
import { makeVideo } from '../helpers/media.ts'

/** Our child processes, alive or not yet reaped (a zombie still has its /proc entry). */
function children(): { pid: number; comm: string }[] {
  const out: { pid: number; comm: string }[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      // pid (comm) state ppid …: comm may hold spaces, so split after the last ')'.
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === process.pid) out.push({ pid: Number(name), comm })
    } catch {
      // Gone meanwhile.
    }
  }
  return out
}

test('an aborted thumbnail settles only after its ffmpeg has exited, and leaves no file', async (t) => {
  const clip = await makeVideo({ seconds: 4, size: '1280x720' })
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-thumb-stop-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  for (let round = 0; round < 5; round++) {
    const abort = new AbortController()
    const made = makeThumbnail(clip, 'video/mp4', 2, path.join(dir, 'poster.jpg'), abort.signal)
    const spawned = Date.now()
    while (!children().some((c) => c.comm === 'ffmpeg')) {
      assert.ok(Date.now() - spawned < 10_000, 'ffmpeg never started')
      await new Promise((r) => setImmediate(r))
    }
    abort.abort()
    // Read synchronously as it settles: no later turn of the event loop may reap it first.
    const left = await made.then(
      () => assert.fail('an aborted thumbnail resolved'),
      () => children().filter((c) => c.comm === 'ffmpeg'),
    )
    assert.deepEqual(left, [], `round ${round}: ffmpeg still there when the abort settled`)
    assert.deepEqual(await readdir(dir), [])
  }
})
