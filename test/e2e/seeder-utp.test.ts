// Issue 16, uTP: the lean seeder over uTP with the seeder alone as the source (url-list
// stripped). libtorrent 2 (Debian's python3-libtorrent) with TCP off both ways dials the seeder
// over uTP, once plain and once with encryption forced to RC4; its peer info must show the
// connection as uTP (and RC4), so a silent fall-back to TCP fails the test.
// transmission-daemon 3.00 requiring encryption has no switch to turn TCP off, and never dials a
// loopback peer: the test holds its TCP peer port (bound, not listening) so it can only listen on
// uTP; the seeder's TCP dial is refused, its plain uTP one closed unanswered, and its MSE one over
// uTP answered with RC4. transmission's RPC peer list must show that connection as uTP and encrypted.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { libtorrentDownload, libtorrentSkip, type LibtorrentRun } from '../helpers/libtorrent.ts'
import {
  health,
  torrentWithoutWebSeed,
  transmissionFromSeeder,
  workDir,
  type Upload,
  seedingSite,
} from '../helpers/seededSite.ts'

const sha256 = (buf: Buffer) => createHash('sha256').update(buf).digest('hex')

/** The seeder process never went down (utp-native aborts the process on a misuse, e.g. a second close). */
async function assertSeederUp(server: Parameters<typeof health>[0]): Promise<void> {
  const h = await health(server)
  assert.deepEqual({ state: h.state, restarts: h.restarts }, { state: 'running', restarts: 0 })
}

/** Finished from the seeder alone, over uTP (and RC4 if `rc4`), byte for byte. */
async function assertFromSeederOverUtp(
  run: LibtorrentRun,
  saveDir: string,
  upload: Upload,
  seeder: string,
  rc4: boolean,
): Promise<void> {
  const show = JSON.stringify({ ...run, hash_messages: undefined })
  assert.equal(run.finished, true, `libtorrent finished (${show})`)
  assert.deepEqual(run.utp_peers, [seeder], `connected to the seeder over uTP (${show})`)
  assert.deepEqual(run.tcp_peers, [], `and over nothing else (${show})`)
  assert.deepEqual(
    run.peers.filter((p) => p !== seeder),
    [],
    'the seeder was its only peer',
  )
  if (rc4) assert.deepEqual(run.rc4_peers, [seeder], `the connection was RC4-encrypted (${show})`)
  else assert.deepEqual(run.rc4_peers, [], `the connection was plain (${show})`)
  assert.equal(run.hash_failures, 0)
  assert.deepEqual({ checked: run.checked, have: run.have }, { checked: true, have: run.pieces })
  const got = await readFile(path.join(saveDir, upload.fileName))
  assert.equal(sha256(got), sha256(upload.original), 'byte-identical to the upload')
}

for (const rc4 of [false, true]) {
  test(`libtorrent over uTP only${rc4 ? ', encryption forced to RC4,' : ''} downloads from the seeder alone, byte-identical`, {
    skip: libtorrentSkip,
    timeout: 150_000,
  }, async (t) => {
    const { server, upload } = await seedingSite(t)
    const dir = await workDir(t, 'seedcast-seeder-utp-lt-')
    const torrent = path.join(dir, 'no-webseed.torrent')
    await writeFile(torrent, await torrentWithoutWebSeed(upload))
    const save = path.join(dir, 'save')
    const run = await libtorrentDownload({
      source: torrent,
      saveDir: save,
      peerPort: server.seederPort,
      timeoutMs: 90_000,
      transport: 'utp',
      requireRc4: rc4,
    })
    await assertFromSeederOverUtp(run, save, upload, `127.0.0.1:${server.seederPort}`, rc4)
    await assertSeederUp(server)
  })
}

test('transmission-daemon requiring encryption, TCP closed, downloads from the seeder alone over uTP', {
  timeout: 150_000,
}, async (t) => {
  const { server, upload } = await seedingSite(t)
  // transmissionFromSeeder checks the file byte for byte.
  const run = await transmissionFromSeeder(t, {
    torrent: await torrentWithoutWebSeed(upload),
    upload,
    server,
    daemon: true,
    encryption: 2,
    tcpClosed: true,
    peerInfo: true,
    timeoutMs: 90_000,
  })
  t.diagnostic(`transmission-daemon finished in ${run.tookMs} ms; peers: ${JSON.stringify(run.peers)}`)
  assert.match(run.output, /Couldn't bind port/i, 'transmission could not listen on TCP')
  assert.ok(run.peers.length > 0, `its RPC listed the seeder while it downloaded:\n${run.output.slice(-3000)}`)
  for (const p of run.peers) {
    assert.equal(p.address, '127.0.0.1', `only the seeder (${JSON.stringify(run.peers)})`)
    assert.deepEqual({ isUTP: p.isUTP, isEncrypted: p.isEncrypted }, { isUTP: true, isEncrypted: true })
  }
  await assertSeederUp(server)
})
