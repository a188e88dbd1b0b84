// Issue 16: peers that require encryption download from the seeder alone (the .torrent's web
// seed removed). libtorrent with in/out_enc_policy forced and RC4 only (what qBittorrent's
// "Require encryption" sets) dials the seeder: the seeder answers its MSE handshake and, RC4
// being all it offers, encrypts the whole stream. transmission-daemon with "encryption": 2 never
// dials a loopback peer, so the seeder dials it: its plain handshake is dropped unanswered, and
// the seeder dials again with MSE (which transmission answers by selecting RC4). Both used to
// stall at 0 %: the seeder did plaintext only.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { libtorrentDownload, libtorrentSkip } from '../helpers/libtorrent.ts'
import { torrentWithoutWebSeed, transmissionFromSeeder, workDir, seedingSite } from '../helpers/seededSite.ts'

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')

test('libtorrent requiring RC4 encryption downloads from the seeder alone, byte-identical', {
  timeout: 150_000,
  skip: libtorrentSkip,
}, async (t) => {
  const { server, upload } = await seedingSite(t)
  const dir = await workDir(t, 'seedcast-seeder-rc4-lt-')
  const torrent = path.join(dir, 'no-webseed.torrent')
  await writeFile(torrent, await torrentWithoutWebSeed(upload))
  const save = path.join(dir, 'save')
  const run = await libtorrentDownload({
    source: torrent,
    saveDir: save,
    peerPort: server.seederPort,
    timeoutMs: 60_000,
    requireRc4: true,
  })
  const show = JSON.stringify(run)
  const seeder = `127.0.0.1:${server.seederPort}`
  assert.equal(run.finished, true, `libtorrent finished (${show})`)
  assert.ok(run.rc4_peers.includes(seeder), `its connection to the seeder was RC4-encrypted (${show})`)
  assert.deepEqual(
    run.peers.filter((p) => p !== seeder),
    [],
    'the seeder was its only peer',
  )
  assert.equal(run.hash_failures, 0)
  assert.deepEqual({ checked: run.checked, have: run.have }, { checked: true, have: run.pieces })
  const got = await readFile(path.join(save, upload.fileName))
  assert.equal(sha256(got), sha256(upload.original), 'byte-identical to the upload')
})

test('transmission-daemon requiring encryption ("encryption": 2) downloads from the seeder alone', {
  timeout: 150_000,
}, async (t) => {
  const { server, upload } = await seedingSite(t)
  // The seeder dials transmission (transmissionFromSeeder says why): plain first, then MSE.
  const run = await transmissionFromSeeder(t, {
    torrent: await torrentWithoutWebSeed(upload),
    upload,
    server,
    daemon: true,
    encryption: 2,
    timeoutMs: 90_000,
  })
  t.diagnostic(`transmission-daemon finished in ${run.tookMs} ms`)
})
