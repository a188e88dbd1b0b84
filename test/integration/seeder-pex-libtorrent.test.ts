// Peer exchange between the lean seeder and libtorrent 2 (python3-libtorrent): two libtorrent
// leechers are told of the seeder alone (no tracker, DHT or local discovery), and connect to each
// other because the seeder's ut_pex messages (BEP 11) named each to the other.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { LeanEngine } from '../../bt_server/lean/engine.ts'
import { hashFileInWorkers as hashFile } from '../../src/bittorrent/hashInWorker.ts'
import { buildTorrent } from '../../src/bittorrent/metainfo.ts'
import { libtorrentSkip, PYTHON } from '../helpers/libtorrent.ts'

const PROGRAM = fileURLToPath(new URL('../programs/libtorrent_pex.py', import.meta.url))

interface PexRun {
  ports: { a: number; b: number }
  peers: Record<'a' | 'b', Record<string, { pex: boolean; outgoing: boolean }>>
  seeding: Record<'a' | 'b', boolean>
}

test('libtorrent leechers told only of the seeder find each other through its ut_pex messages', {
  skip: libtorrentSkip,
  timeout: 90_000,
}, async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'seedcast-pex-lt-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const data = randomBytes(2 * 1024 * 1024) // at 32 KiB/s each, they stay leechers throughout
  const file = path.join(dir, 'clip.mp4')
  await writeFile(file, data)
  const { pieces } = await hashFile(file, 32 * 1024)
  const built = buildTorrent({
    name: 'clip.mp4',
    length: data.length,
    pieceLength: 32 * 1024,
    pieces,
    trackers: [],
    webSeeds: [],
    createdBy: 'test',
    creationDate: 0,
  })
  const torrentPath = path.join(dir, 'clip.torrent')
  await writeFile(torrentPath, built.buffer)
  await writeFile(`${file}.torrent`, built.buffer)
  const e = new LeanEngine({ port: 0, utp: false, log: () => {} })
  t.after(() => e.destroy())
  await e.listening()
  await e.add(built.infoHash, built.buffer, file)

  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(
      PYTHON,
      [PROGRAM, torrentPath, path.join(dir, 'download'), String(e.listenPort), '40'],
      { timeout: 80_000 },
      (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
    ),
  )
  const run = JSON.parse(stdout) as PexRun
  t.diagnostic(JSON.stringify(run))
  const seeder = `127.0.0.1:${e.listenPort}`
  for (const n of ['a', 'b'] as const) assert.ok(run.peers[n][seeder], `${n} connected to the seeder`)
  // One of them dialled the other, and libtorrent says it learnt of it by peer exchange.
  const aToB = run.peers.a[`127.0.0.1:${run.ports.b}`]
  const bToA = run.peers.b[`127.0.0.1:${run.ports.a}`]
  assert.ok(aToB?.pex || bToA?.pex, 'a leecher connected to the other from the seeder’s ut_pex')
  assert.equal(run.seeding.a || run.seeding.b, false, 'both still leechers: nothing else could have named them')
})
