// INSTALL.txt's backup and restore, run as the guide writes them (the scripts taken out of it):
// a backup taken while the site runs, the storage and database then lost, the restore into an
// empty folder (and, on PostgreSQL, the emptied database), and the site started again has its
// videos, extra files and torrents as they were: same ids, byte-identical .torrent and media
// files, tracked under every infohash; what came after the backup is not there.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { databaseEnv, dropDatabase, testDatabase } from '../helpers/database.ts'
import { apiUpload, getJson } from '../helpers/http.ts'
import { guideFiles } from '../helpers/installGuide.ts'
import { makeVideo } from '../helpers/media.ts'
import { startTestServer, type TestServer } from '../helpers/server.ts'
import { scrape } from '../helpers/swarm.ts'

const run = promisify(execFile)
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const bytes = async (url: string) => {
  const res = await fetch(url)
  assert.equal(res.status, 200, url)
  return Buffer.from(await res.arrayBuffer())
}

interface Snapshot {
  ids: string[]
  torrents: Map<string, { infoHash: string; infoHashV2: string | null; sha: string }>
  files: Map<string, string> // url -> sha256
}

async function snapshot(server: TestServer): Promise<Snapshot> {
  const list = (await getJson(`${server.url}/api/videos?limit=50`)).body.videos as { id: string }[]
  const torrents: Snapshot['torrents'] = new Map()
  const files: Snapshot['files'] = new Map()
  for (const { id } of list) {
    const v = (await getJson(`${server.url}/api/videos/${id}`)).body
    torrents.set(id, {
      infoHash: v.torrent.infoHash,
      infoHashV2: v.torrent.infoHashV2,
      sha: sha256(await bytes(v.torrent.torrentUrl)),
    })
    files.set(v.fileUrl, sha256(await bytes(v.fileUrl)))
    for (const f of v.files ?? []) files.set(f.url, sha256(await bytes(f.url)))
  }
  return { ids: list.map((v) => v.id).sort(), torrents, files }
}

test('the guide’s backup, taken while the site runs, restores the site with its videos, extra files and torrents', {
  timeout: 240_000,
}, async (t) => {
  const scripts = guideFiles()
  const work = await mkdtemp(path.join(tmpdir(), 'seedcast-backup-'))
  t.after(() => rm(work, { recursive: true, force: true }))
  for (const name of ['seedcast-backup', 'seedcast-restore'])
    await writeFile(path.join(work, name), scripts.get(`/usr/local/sbin/${name}`)!, { mode: 0o700 })
  const storage = path.join(work, 'storage')
  await mkdir(storage)
  const db = await databaseEnv(storage)
  // The service's env file, as the guide has it: SQLite needs no DATABASE_URL (the file in storage).
  const envFile = path.join(work, 'seedcast.env')
  await writeFile(
    envFile,
    [`STORAGE_DIR=${storage}`, ...Object.entries(db).map(([k, v]) => `${k}=${v}`), ''].join('\n'),
  )

  let server = await startTestServer({}, storage)
  t.after(() => server.stop())
  const clip = await makeVideo({ seconds: 2 })
  t.after(() => rm(path.dirname(clip), { recursive: true, force: true }))
  const first = await apiUpload(server, { title: 'kept one' }, { path: clip })
  const second = await apiUpload(server, { title: 'kept two' }, { path: clip })
  assert.equal(first.status, 201)
  assert.equal(second.status, 201)
  const form = new FormData()
  form.append('files', new Blob([Buffer.from('1\n00:00:00,000 --> 00:00:01,000\nhello\n')]), 'subs.en.srt')
  const added = await getJson(`${server.url}/api/videos/${first.body.id}/files`, {
    method: 'POST',
    headers: { authorization: server.basicAuth },
    body: form,
  })
  assert.equal(added.status, 201, JSON.stringify(added.body))
  const before = await snapshot(server)
  assert.equal(before.ids.length, 2)

  const backups = path.join(work, 'backups')
  const backup = (await run('sh', [path.join(work, 'seedcast-backup'), envFile, backups])).stdout.trim()
  assert.deepEqual(
    (await readdir(backup)).sort(),
    [testDatabase === 'postgresql' ? 'database.pgdump' : 'seedcast.db', 'storage.tar'].sort(),
  )
  const late = await apiUpload(server, { title: 'after the backup' }, { path: clip })
  assert.equal(late.status, 201)

  // The machine is lost: files and database.
  await server.stop({ keepStorage: true })
  await rm(storage, { recursive: true, force: true })
  await dropDatabase(storage)
  await databaseEnv(storage) // the admin's empty database, for the restore to fill
  const restored = await run('sh', [path.join(work, 'seedcast-restore'), envFile, backup]).catch((e) => e)
  assert.equal(restored.code ?? 0, 0, `restore into a missing folder: ${restored.stderr ?? ''}`)
  // A second restore over the first is refused: it never mixes two sites' files.
  const again = await run('sh', [path.join(work, 'seedcast-restore'), envFile, backup]).catch((e) => e)
  assert.equal(again.code, 1)
  assert.match(again.stderr, /is not empty/)

  // On the same address: the site's URL is in its torrents (a new one would rewrite them).
  server = await startTestServer({ PORT: new URL(server.url).port }, storage)
  const after = await snapshot(server)
  assert.deepEqual(after.ids, before.ids, 'the same videos, and not the one uploaded after the backup')
  assert.deepEqual([...after.torrents], [...before.torrents], 'byte-identical .torrent files, same infohashes')
  assert.deepEqual([...after.files].sort(), [...before.files].sort(), 'byte-identical media and extra files')
  for (const torrent of after.torrents.values()) {
    await scrape(server.url, torrent.infoHash) // throws on "unregistered"
    if (torrent.infoHashV2) await scrape(server.url, torrent.infoHashV2.slice(0, 40))
  }
  assert.equal((await getJson(`${server.url}/api/videos/${late.body.id}`)).status, 404)
})
