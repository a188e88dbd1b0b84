// The offload counts with real BitTorrent clients: aria2c from the web seed alone (through a
// proxy that counts the bodies it passes, the independent count), and aria2c from the seeder
// alone (the seeder process stores its own count: the blocks' payload). Each time the peers
// served nothing (one client, every byte from the origin), and the API says so.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import path from 'node:path'
import { freePort, startTestServer, type TestServer } from '../helpers/server.ts'
import { getVideo, useTorrentFormat, waitFor } from '../helpers/http.ts'
import { sql } from '../helpers/database.ts'
import { runAria2c } from '../helpers/aria2.ts'
import { startCountingProxy } from '../helpers/countingProxy.ts'
import {
  aria2cFromSeeder,
  seederReady,
  startSeededServer,
  torrentWithoutWebSeed,
  uploadClip,
  workDir,
} from '../helpers/seededSite.ts'

interface Row {
  seederBytes: number
  webSeedBytes: number
  playbackBytes: number
  downloadedBytes: number
}
const row = async (server: TestServer, videoId: string): Promise<Row | undefined> =>
  (await sql<Row>(server, 'SELECT * FROM "VideoOffload" WHERE "videoId" = ?', videoId))[0]
const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')

test('aria2c from the web seed: the web seed count is what the proxy passed; peers served nothing', async (t) => {
  // The site's PUBLIC_URL is the proxy, so the .torrent's web seed (and tracker) go through it.
  const port = await freePort()
  const proxy = await startCountingProxy(port)
  t.after(() => proxy.close())
  const server = await startTestServer({ PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${proxy.port}` })
  t.after(() => server.stop())
  await useTorrentFormat(server, 'v1') // aria2c: v1 torrents only (see useTorrentFormat)
  const upload = await uploadClip(t, server, { seconds: 8 })
  const dir = await workDir(t, 'seedcast-offload-webseed-')
  await mkdir(path.join(dir, 'download'))
  const abort = new AbortController()
  t.after(() => abort.abort())
  const run = await runAria2c({
    source: upload.video.torrent!.torrentUrl,
    dir: path.join(dir, 'download'),
    logFile: path.join(dir, 'aria2c.log'),
    signal: abort.signal,
  })
  assert.equal(run.code, 0, run.output.slice(-2000))
  const got = await readFile(path.join(dir, 'download', upload.fileName))
  assert.equal(sha256(got), sha256(upload.original), 'byte-identical')

  // Counted when each response ends; aria2c may still be closing its last connection.
  const passed = proxy.mediaBytes()
  assert.ok(passed >= upload.original.length, `the proxy passed ${passed} body bytes`)
  await waitFor(async () => {
    await server.services.offload.flush()
    return ((await row(server, upload.video.id))?.webSeedBytes ?? 0) >= passed
  }, 'the web seed bytes to be stored')
  const stored = (await row(server, upload.video.id))!
  assert.equal(Number(stored.webSeedBytes), passed, 'web seed = the bodies the proxy passed')
  assert.equal(Number(stored.playbackBytes), 0)
  assert.equal(Number(stored.seederBytes), 0)
  assert.deepEqual(proxy.problems, [])
  // aria2c's own announces: what it says it downloaded is what the store added for it.
  const said = Math.max(0, ...run.announces.map((a) => a.downloaded))
  assert.equal(Number(stored.downloadedBytes), Math.min(said, upload.original.length), 'announced downloaded')
  const api = await getVideo(server, upload.video.id)
  assert.deepEqual(api.offload, { originBytes: passed, peerBytes: 0 })
  t.diagnostic(`file ${upload.original.length} B, web seed sent ${passed} B, aria2c announced downloaded=${said}`)
})

test('aria2c from the seeder alone: the seeder process stores the payload it sent, the file once', async (t) => {
  const server = await startSeededServer(t)
  await seederReady(server)
  const upload = await uploadClip(t, server, { seconds: 6 })
  await aria2cFromSeeder(t, server, upload, await torrentWithoutWebSeed(upload))
  const size = upload.original.length
  // The seeder writes its counts every 5 s over its own connection.
  const stored = await waitFor(
    async () => {
      await server.services.offload.flush()
      const r = await row(server, upload.video.id)
      return r && Number(r.seederBytes) >= size ? r : undefined
    },
    'the seeder bytes to be stored',
    20_000,
  )
  const sent = Number(stored.seederBytes)
  // The lean engine counts the blocks' payload: the file, exactly. webtorrent's own `uploaded`
  // counts a little more (2,476 bytes over 2.7 MB in one run).
  if ((process.env.SEEDER_ENGINE ?? 'lean') === 'lean')
    assert.equal(sent, size, 'every block once: the payload is the file')
  else assert.ok(sent >= size && sent <= size * 1.01, `webtorrent: ${sent} for a file of ${size}`)
  assert.equal(Number(stored.webSeedBytes), 0, 'no web seed in the .torrent')
  const api = await getVideo(server, upload.video.id)
  assert.equal(api.offload.originBytes, sent)
  assert.equal(api.offload.peerBytes, 0, 'one client, every byte from the seeder')
})
