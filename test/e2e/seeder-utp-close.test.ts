// The lean seeder over uTP, how its connections end and begin, with libtorrent 2 (Debian's
// python3-libtorrent, TCP off) as the other end. A uTP peer the seeder drops (a torrent it does
// not serve) or refuses (per-address cap) is told at once by a reset (utp.ts): libutp's own close
// was a silent free, or a FIN libtorrent 2.0.8 never completes, and libtorrent reported "Connection
// timed out" 2.5-5 s after each connection. And a peer that takes only uTP and dials no one is
// reached by the seeder's dial, after its TCP dials are closed unanswered (dialWays.ts).
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { hashFileInWorkers } from '../../src/bittorrent/hashInWorker.ts'
import { buildTorrent } from '../../src/bittorrent/metainfo.ts'
import { libtorrentDownload, libtorrentSkip, type LibtorrentRun } from '../helpers/libtorrent.ts'
import {
  health,
  heldPeer,
  seederReady,
  startSeededServer,
  torrentWithoutWebSeed,
  uploadClip,
  waitHealth,
  workDir,
} from '../helpers/seededSite.ts'

const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')

/** The seeder process never went down (utp-native aborts the process on a misuse, e.g. a second close). */
async function assertSeederUp(server: Parameters<typeof health>[0]): Promise<void> {
  const h = await health(server)
  assert.deepEqual({ state: h.state, restarts: h.restarts }, { state: 'running', restarts: 0 })
}

/** libtorrent (uTP only) connected at least twice and each close was a reset, well before a time-out. */
function assertTold(t: TestContext, run: LibtorrentRun, seeder: string, what: string): void {
  const closes = run.closes.filter((c) => c.peer === seeder)
  t.diagnostic(`${what}: ${JSON.stringify(closes)}`)
  assert.ok(closes.length >= 2, `libtorrent connected twice and was closed twice (${what}): ${JSON.stringify(run)}`)
  for (const c of closes) {
    assert.match(c.error, /reset/i, `${what}: told by a reset, not timed out`)
    assert.ok(c.ms < 2000, `${what}: closed ${c.ms} ms after it connected (a time-out takes 2.5 s or more)`)
  }
}

test('a uTP peer the seeder drops or refuses is told at once: a reset, not its own time-out', {
  skip: libtorrentSkip,
  timeout: 180_000,
}, async (t) => {
  const server = await startSeededServer(t)
  await seederReady(server)
  const upload = await uploadClip(t, server, { seconds: 2 })
  await waitHealth(server, (h) => h.seeding === 1, 'to seed the upload')
  const dir = await workDir(t, 'seedcast-utp-close-')
  const seeder = `127.0.0.1:${server.seederPort}`

  // Dropped after its handshake: a torrent the seeder does not serve.
  const data = randomBytes(64 * 1024)
  const file = path.join(dir, 'other.bin')
  await writeFile(file, data)
  const other = buildTorrent({
    name: 'other.bin',
    length: data.length,
    pieceLength: 16 * 1024,
    pieces: (await hashFileInWorkers(file, 16 * 1024)).pieces,
    trackers: [],
    webSeeds: [],
    createdBy: 'test',
    creationDate: 0,
  })
  const otherTorrent = path.join(dir, 'other.torrent')
  await writeFile(otherTorrent, other.buffer)
  const dropped = await libtorrentDownload({
    source: otherTorrent,
    saveDir: path.join(dir, 'save-other'),
    peerPort: server.seederPort,
    transport: 'utp',
    untilTwoCloses: true,
    timeoutMs: 30_000,
  })
  assertTold(t, dropped, seeder, 'dropped after the handshake')

  // Refused as it connects: the address already holds SEEDER_PEERS_PER_ADDRESS (16, the default:
  // the seeder child reads its own environment, not the test server's config) connections.
  const held: Awaited<ReturnType<typeof heldPeer>>[] = []
  t.after(() => {
    for (const h of held) h.close()
  })
  for (let i = 0; i < 16; i++) held.push(await heldPeer(server.seederPort, upload.video.torrent!.infoHash))
  const torrentFile = path.join(dir, 'no-webseed.torrent')
  await writeFile(torrentFile, await torrentWithoutWebSeed(upload))
  const refused = await libtorrentDownload({
    source: torrentFile,
    saveDir: path.join(dir, 'save-refused'),
    peerPort: server.seederPort,
    transport: 'utp',
    untilTwoCloses: true,
    timeoutMs: 30_000,
  })
  assert.ok(
    held.every((h) => h.open()),
    'the held peers kept their places',
  )
  assertTold(t, refused, seeder, 'refused at connect')
  await assertSeederUp(server)
})

test('the seeder reaches a peer that takes only uTP and dials no one, and serves it', {
  skip: libtorrentSkip,
  timeout: 180_000,
}, async (t) => {
  const server = await startSeededServer(t)
  await seederReady(server)
  const upload = await uploadClip(t, server, { seconds: 3 })
  await waitHealth(server, (h) => h.seeding === 1, 'to seed the upload')
  const dir = await workDir(t, 'seedcast-utp-dial-')
  const torrentFile = path.join(dir, 'no-webseed.torrent')
  await writeFile(torrentFile, await torrentWithoutWebSeed(upload))
  const save = path.join(dir, 'save')
  // libtorrent announces to the site's tracker, which pushes it to the seeder (seeder-push.test.ts).
  const run = await libtorrentDownload({ source: torrentFile, saveDir: save, transport: 'utp-in', timeoutMs: 90_000 })
  const show = JSON.stringify({ ...run, hash_messages: undefined })
  assert.equal(run.finished, true, `libtorrent finished (${show})`)
  // The seeder dials over uTP from its own port: libtorrent sees it at the seeder's port number.
  assert.deepEqual(run.utp_peers, [`127.0.0.1:${server.seederPort}`], `the seeder's uTP dial (${show})`)
  assert.deepEqual(run.tcp_peers, [], `no TCP connection (${show})`)
  assert.deepEqual({ checked: run.checked, have: run.have }, { checked: true, have: run.pieces })
  const got = await readFile(path.join(save, upload.fileName))
  assert.equal(sha256(got), sha256(upload.original), 'byte-identical to the upload')
  await assertSeederUp(server)
})
