// Seeder benchmark: `npm run bench:seeder` (or `node bench/seeder.ts`).
//
// Runs real Seedcast servers (src/main.ts built into dist/, SEEDER=on) as child processes and reports, in
// one Markdown table, for both seeding engines (SEEDER_ENGINE=lean, the default the targets apply
// to, and webtorrent) side by side:
//   (a) download throughput of a 1 GiB upload by aria2c (saving to a tmpfs) from each Seedcast
//       engine versus from libtorrent seeding the same file in place (/usr/bin/python3 +
//       libtorrent, seed mode: bench/programs/libtorrent_seed.py). All runs use the same
//       .torrent: the site's info dict (re-encoded, same infohash), no web seed, and an announce
//       URL pointing at a tiny tracker inside this script that hands aria2c exactly one peer: the seeder under test. The server runs the
//       first engine (supervised); the other one runs as a standalone seeder (`node
//       bt_server/main.ts`, as `npm run seeder` does) on the same storage and database. Order per
//       round: lean, webtorrent, libtorrent; best of two rounds each; the file is read once
//       beforehand so all serve it from the page cache. Also: each seeder's CPU time per GiB.
//       Then the first engine and libtorrent again with aria2c requiring RC4 for the whole stream
//       (--bt-require-crypto, --bt-min-crypto-level=arc4): throughput against the same seeder in
//       plaintext and against libtorrent in RC4, and CPU time per GiB. Then both over uTP:
//       libtorrent downloading the first 128 MiB with TCP off (bench/programs/libtorrent_utp_get.py; aria2c has no
//       uTP), the first engine against libtorrent seeding over uTP, and CPU time per GiB.
//   (b) peak RSS (VmHWM), RSS (VmRSS) and idle CPU (utime+stime over BENCH_IDLE_SECONDS, default
//       30 s) of the seeder process with 1, 100 and 1,000 seeded torrents, all uploaded through
//       POST /api/videos (1 MiB files: a real MP4 header plus distinct random bytes, 4 at a time),
//       and the per-torrent memory slope. SEEDER_RESCAN_SECONDS is 30 (the default), so a rescan
//       falls inside each idle window.
//   (c) time from the 201 of an upload to the first block served by the seeder, measured with a
//       bittorrent-protocol wire client on 127.0.0.1:SEEDER_PORT (handshake, interested, request
//       piece 0 block 0; reconnecting until the seeder has the torrent): on an empty site and
//       again with 1,000 torrents seeded.
// (a) runs on one server instance; (b) and (c) on one more per engine (each uploads its own
// files), so the 1 GiB transfer does not inflate the seeder's peak RSS in (b).
//
// The servers run with default settings except TRACKER_UDP_PORT=0 (no fixed port to clash on);
// the site tracker's announce and rate-limit counters from /metrics are reported after (b).
// Environment (for quick trial runs): BENCH_BIG_BYTES (default 1 GiB), BENCH_COUNTS (default
// "1,100,1000"), BENCH_IDLE_SECONDS (default 30), BENCH_RESCAN_SECONDS (default 30),
// BENCH_ENGINES (default "lean,webtorrent"; the first one is the one the targets apply to),
// BENCH_ROUNDS (default 2).
// Short trial run (about 2 min): BENCH_BIG_BYTES=67108864 BENCH_COUNTS=1,5 BENCH_IDLE_SECONDS=2
// BENCH_RESCAN_SECONDS=5 BENCH_ROUNDS=1 node bench/seeder.ts
// Exits 0 even when a target is missed; 1 on errors. Processes and temporary files (one folder
// under the OS temp dir, one under /dev/shm) are removed at the end, also on errors and signals.
//
// Units: MB = 1,000,000 bytes, MiB = 1,048,576 bytes.
import { statfs } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { tempDir } from './lib/cleanup.ts'
import { fmtMB, fmtSec, MiB } from './lib/format.ts'
import { log } from './lib/log.ts'
import { mp4Header } from './lib/media.ts'
import { libtorrentVersion, now, requireCommands, runBench } from './lib/processes.ts'
import { readConfig, SMALL_BYTES, type Engine, type SeederBenchConfig } from './seeder/config.ts'
import { downloadComparison } from './seeder/download.ts'
import { measureLoad, type EngineLoad } from './seeder/load.ts'
import { report } from './seeder/report.ts'

const SHM = '/dev/shm'

async function checkTools(): Promise<void> {
  await requireCommands(['aria2c', 'ffmpeg', 'cat', 'getconf'])
  await libtorrentVersion()
}

/** A folder on the tmpfs for the downloads and one on disk for the servers, each with room enough. */
async function makeFolders(c: SeederBenchConfig): Promise<{ dir: string; shmDir: string }> {
  const shmStat = await statfs(SHM).catch(() => null)
  if (!shmStat) throw new Error(`${SHM} is not available for the download target`)
  const shmFree = shmStat.bavail * shmStat.bsize
  if (shmFree < c.bigBytes + 256 * MiB)
    throw new Error(`${SHM} has ${fmtMB(shmFree)} free; ${fmtMB(c.bigBytes + 256 * MiB)} needed`)
  const shmDir = await tempDir('seedcast-bench-', SHM)
  const dir = await tempDir('seedcast-bench-seeder-')
  const tmpStat = await statfs(dir)
  if (tmpStat.bavail * tmpStat.bsize < 2 * c.bigBytes + 2 * c.counts.at(-1)! * SMALL_BYTES)
    throw new Error(`not enough free space in ${tmpdir()}`)
  log(`temporary folders ${dir} and ${shmDir}`)
  return { dir, shmDir }
}

async function main(): Promise<number> {
  const started = now()
  const c = readConfig()
  await checkTools()
  const { dir, shmDir } = await makeFolders(c)
  const header = await mp4Header()
  // (a)
  const dl = await downloadComparison(dir, shmDir, header, c.bigBytes, c.rescanSeconds, c.engines, c.rounds)
  // Per engine: (c) on an empty site, then (b), then (c) again with the most torrents.
  const loads = new Map<Engine, EngineLoad>()
  for (const engine of c.engines)
    loads.set(engine, await measureLoad(dir, engine, header, c.counts, c.idleSeconds, c.rescanSeconds))

  console.log('')
  console.log(
    `## Seedcast seeder benchmark (${new Date().toISOString()}, Node ${process.version}, total ${fmtSec(now() - started)})`,
  )
  console.log('')
  const missed = report(dl, loads, c.engines, c.rescanSeconds, SHM)
  console.log('')
  console.log(
    missed.length
      ? `TARGET MISSED (${c.engines[0]} engine): ${missed.join('; ')}`
      : `All targets met (${c.engines[0]} engine).`,
  )
  return 0
}

await runBench(main)
