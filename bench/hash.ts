// Hash benchmark: `npm run bench:hash`.
//
// Hashes one file that sits in the page cache (4 GiB by default) with Seedcast's whole-file
// hasher (src/bittorrent/hashInWorker.ts: one worker thread per core, each its own range of
// pieces) and with `mktorrent` (Debian; its default of one thread per core), alternately, in the
// same run, with the same piece length (the one Seedcast picks for that size), and reports GB/s
// for each run, the medians and their ratio. In the same rounds it makes a hybrid torrent (v1 and
// BitTorrent v2, both hashes from one read: src/bittorrent/hashWorker.ts) of the same file and
// reports hybrid creation time ÷ v1 creation time (target < 2.0: SHA-1 and SHA-256 cost about the
// same here). The pieces of every run must equal mktorrent's, or the bench exits 1. Before the runs the file is read once and its page-cache residency
// (fincore) is reported, with the load average before and after: on a shared machine the
// figures are only as good as the quiet they were measured in.
//
// Environment: BENCH_HASH_BYTES (default 4GiB; also 512MiB, 1GiB, ...), BENCH_HASH_ROUNDS
// (default 3), BENCH_HASH_THREADS (Seedcast's workers; default os.availableParallelism()).
// Short trial run (a few seconds): BENCH_HASH_BYTES=64MiB BENCH_HASH_ROUNDS=1 node bench/hash.ts
// Units: GB = 1,000,000,000 bytes, MiB = 1,048,576 bytes.
import { readFile } from 'node:fs/promises'
import { availableParallelism, loadavg } from 'node:os'
import path from 'node:path'
import { hashFileForTorrent } from '../src/bittorrent/hashInWorker.ts'
import { buildTorrent, decodeTorrent } from '../src/bittorrent/metainfo.ts'
import { buildV2Torrent } from '../src/bittorrent/metainfoV2.ts'
import { choosePieceLength } from '../src/bittorrent/pieceLength.ts'
import { tempDir } from './lib/cleanup.ts'
import { envNumber, GiB, markdownTable, parseSize } from './lib/format.ts'
import { log } from './lib/log.ts'
import { writeMedia } from './lib/media.ts'
import { now, requireCommands, run, runBench } from './lib/processes.ts'

const GB = 1e9
const gbps = (bytes: number, ms: number) => bytes / GB / (ms / 1000)
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

const TARGET_HYBRID_RATIO = 2

/** Hashes `file` for a torrent of `format` with the worker pool and builds it, as the site does. */
async function makeTorrent(file: string, size: number, pieceLength: number, format: 'v1' | 'hybrid', threads: number) {
  const { hashes } = await hashFileForTorrent(file, pieceLength, format, { threads })
  const common = {
    name: 'bench.bin',
    trackers: ['http://bench.invalid/announce'],
    webSeeds: [],
    createdBy: 'Seedcast bench',
    creationDate: Math.floor(Date.now() / 1000),
  }
  if (format === 'v1') buildTorrent({ ...common, length: size, pieceLength, pieces: hashes.pieces! })
  else buildV2Torrent({ ...common, format, merkle: hashes.merkle!, pieces: hashes.pieces! })
  return hashes.pieces!
}

async function main(): Promise<number> {
  await requireCommands(['mktorrent', 'fincore'], 'Debian: apt-get install mktorrent util-linux')
  const size = parseSize('BENCH_HASH_BYTES', process.env.BENCH_HASH_BYTES, 4 * GiB)
  const rounds = envNumber('BENCH_HASH_ROUNDS', 3, { integer: true })
  const threads = envNumber('BENCH_HASH_THREADS', availableParallelism(), { integer: true })
  const pieceLength = choosePieceLength(size)
  const dir = await tempDir('seedcast-bench-hash-')
  const file = path.join(dir, 'bench.bin')
  log(`writing ${size} bytes to ${file}`)
  await writeMedia(file, Buffer.alloc(0), size)
  await run('sh', ['-c', 'cat "$0" > /dev/null', file])
  const resident = (await run('fincore', ['--bytes', '--noheadings', '--output', 'RES', file])).stdout.trim()
  log(
    `page cache holds ${resident} of ${size} bytes; piece length ${pieceLength}, ${Math.ceil(size / pieceLength)} pieces`,
  )

  const loadBefore = loadavg()[0]!
  const seedcast: number[] = []
  const hybrid: number[] = []
  const mktorrent: number[] = []
  let mismatches = 0
  const torrent = path.join(dir, 'bench.torrent')
  for (let round = 1; round <= rounds; round++) {
    let start = now()
    const ours = await makeTorrent(file, size, pieceLength, 'v1', threads)
    seedcast.push(gbps(size, now() - start))
    start = now()
    const oursHybrid = await makeTorrent(file, size, pieceLength, 'hybrid', threads)
    hybrid.push(gbps(size, now() - start))
    start = now()
    await run('mktorrent', [
      '-l',
      String(Math.log2(pieceLength)),
      '-a',
      'http://bench.invalid/announce',
      '-o',
      torrent,
      file,
    ])
    mktorrent.push(gbps(size, now() - start))
    const theirs = decodeTorrent(await readFile(torrent)).pieces
    await run('rm', ['-f', torrent])
    const same = theirs !== null && ours.equals(theirs) && oursHybrid.equals(theirs)
    if (!same) mismatches++
    log(
      `round ${round}: Seedcast v1 ${seedcast.at(-1)!.toFixed(2)} GB/s, hybrid ${hybrid.at(-1)!.toFixed(2)} GB/s, mktorrent ${mktorrent.at(-1)!.toFixed(2)} GB/s, pieces ${same ? 'equal' : 'DIFFER'}`,
    )
  }
  const loadAfter = loadavg()[0]!

  const fmt = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' / ')
  const ratio = median(seedcast) / median(mktorrent)
  // Time ratio: the same bytes, so the inverse of the speed ratio.
  const hybridRatio = median(seedcast) / median(hybrid)
  console.log(
    `### Hashing (\`npm run bench:hash\`): ${(size / GiB).toFixed(2)} GiB in page cache, pieces of ${pieceLength / 1024} KiB`,
  )
  console.log('')
  for (const line of markdownTable(
    ['hasher', 'GB/s per run', 'median', 'vs mktorrent'],
    [
      [
        `Seedcast v1 (${threads} worker threads)`,
        fmt(seedcast),
        `**${median(seedcast).toFixed(2)}**`,
        `**${ratio.toFixed(2)}×**`,
      ],
      [
        `Seedcast hybrid v1+v2 (${threads} worker threads)`,
        fmt(hybrid),
        median(hybrid).toFixed(2),
        `${(median(hybrid) / median(mktorrent)).toFixed(2)}×`,
      ],
      [`mktorrent (${availableParallelism()} threads)`, fmt(mktorrent), median(mktorrent).toFixed(2), '1.00×'],
    ],
  ))
    console.log(line)
  console.log('')
  console.log(
    `Pieces ${mismatches === 0 ? 'equal to mktorrent’s in every run' : `DIFFER from mktorrent’s in ${mismatches} run(s)`}; ` +
      `load average ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after; target: Seedcast ≥ mktorrent (ratio ≥ 1) ${ratio >= 1 ? '✔' : '✘'}`,
  )
  console.log(
    `Hybrid creation time ÷ v1 creation time (medians, same file, same run): **${hybridRatio.toFixed(2)}** (target < ${TARGET_HYBRID_RATIO}) ${hybridRatio < TARGET_HYBRID_RATIO ? '✔' : '✘'}`,
  )
  return mismatches === 0 ? 0 : 1
}

await runBench(main)
