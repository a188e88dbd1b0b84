// A rewrite of every .torrent cut short by kill -9 ends, after a restart, with every file complete,
// parseable, on the new trackers and with its infohash. The kill must land mid-way (some files
// rewritten, some not), or the test fails rather than pass without the crash it is about.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { readdir, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { NODE_FLAGS } from '../../src/runtimeFlags.ts'
import { ADMIN_PASSWORD, freePort, makeStorageDir, startTestServer } from '../helpers/server.ts'
import { makeVideo } from '../helpers/media.ts'
import { getJson, uploadOk, waitFor } from '../helpers/http.ts'
import { databaseEnv } from '../helpers/database.ts'

const VIDEOS = 240
const auth = 'Basic ' + Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')

function startSite(
  dir: string,
  port: number,
  db: Record<string, string>,
): { child: ChildProcess; output: () => string; url: string } {
  const env = {
    ...process.env,
    ...db,
    PORT: String(port),
    HOST: '127.0.0.1',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    STORAGE_DIR: dir,
    ADMIN_PASSWORD,
    SEEDER: 'off',
    TRACKER_UDP_PORT: '0',
  }
  const child = spawn(process.execPath, [...NODE_FLAGS, 'src/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  return { child, output: () => out, url: `http://127.0.0.1:${port}` }
}

const healthy = (url: string) =>
  waitFor(async () => (await fetch(`${url}/healthz`).catch(() => null))?.ok, 'the site to answer /healthz', 30_000)

async function torrentsOnDisk(dir: string): Promise<Map<string, Buffer>> {
  const media = path.join(dir, 'media')
  const files = new Map<string, Buffer>()
  for (const name of await readdir(media))
    if (name.endsWith('.torrent')) files.set(name, await readFile(path.join(media, name)))
  return files
}

test('a rewrite interrupted by kill -9 and restarted ends with every .torrent complete and parseable', {
  timeout: 300_000,
}, async (t) => {
  const dir = await makeStorageDir()
  const clip = await makeVideo({ seconds: 1 })
  let child: ChildProcess | undefined
  t.after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await rm(dir, { recursive: true, force: true })
    await rm(path.dirname(clip), { recursive: true, force: true })
  })
  const port = await freePort()
  const seed = await startTestServer({ PORT: String(port) }, dir)
  const hashes = new Map<string, string>() // .torrent name -> infohash
  for (let i = 0; i < VIDEOS; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, VIDEOS - i) }, (_, k) =>
        uploadOk(seed, { title: `clip ${i + k}` }, { path: clip }),
      ),
    )
    for (const v of batch)
      hashes.set(`${decodeURIComponent(path.basename(new URL(v.fileUrl).pathname))}.torrent`, v.torrent!.infoHash)
  }
  await seed.stop({ keepStorage: true })

  const newTracker = 'udp://tracker.example.org:1337/announce'
  const db = await databaseEnv(dir)
  const site = startSite(dir, port, db)
  child = site.child
  await healthy(site.url)
  const put = await getJson(`${site.url}/api/settings`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: auth },
    body: JSON.stringify({ trackerUrls: [newTracker] }),
  })
  assert.equal(put.status, 200)
  // Kill once the rewrite is under way and not yet done.
  const at = await waitFor(
    async () => {
      const p = (await getJson(`${site.url}/api/settings`, { headers: { authorization: auth } })).body.rewrite
      return p && p.done >= 5 && p.done < p.total - 5 ? p : null
    },
    'the rewrite to be under way',
    30_000,
  )
  site.child.kill('SIGKILL')
  await new Promise((r) => site.child.once('exit', r))
  t.diagnostic(`killed at ${at.done}/${at.total}`)

  let rewritten = 0
  for (const [name, buf] of await torrentsOnDisk(dir)) {
    const d = decodeTorrent(buf) // every file is whole: old or new, never half
    assert.equal(d.infoHash, hashes.get(name), name)
    if (d.trackers[0] === newTracker) rewritten++
  }
  assert.ok(rewritten > 0 && rewritten < VIDEOS, `the kill landed mid-way: ${rewritten} of ${VIDEOS} files rewritten`)

  const again = startSite(dir, port, db)
  child = again.child
  await healthy(again.url)
  await waitFor(
    async () => {
      const s = (await getJson(`${again.url}/api/settings`, { headers: { authorization: auth } })).body
      return s.rewrite === null && s.trackerUrls[0] === newTracker
    },
    'the restarted site to finish the rewrite',
    60_000,
  )
  assert.match(again.output(), /rewriting \d+ torrent file\(s\)/)
  const final = await torrentsOnDisk(dir)
  assert.equal(final.size, VIDEOS)
  for (const [name, buf] of final) {
    const d = decodeTorrent(buf)
    assert.equal(d.infoHash, hashes.get(name), name)
    assert.deepEqual(d.trackers, [newTracker], name)
  }
  assert.deepEqual(
    // A thumbnail being made right now (src/media/mediaDetails.ts) is not the rewrite's.
    (await readdir(path.join(dir, 'media'))).filter((n) => n.endsWith('.tmp') && !n.endsWith('.thumb.jpg.tmp')),
    [],
    'no temporary file left',
  )
  again.child.kill('SIGTERM')
  await new Promise((r) => again.child.once('exit', r))
})
