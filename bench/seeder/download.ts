// (a) The download comparison: aria2c downloads the same 1 GiB torrent from each Seedcast engine
// and from libtorrent (bench/programs/libtorrent_seed.py), each handed to it as the only peer by
// a fixed-peer tracker; best of BENCH_ROUNDS rounds each. Then the same from the first engine and
// libtorrent with aria2c requiring RC4 for the whole stream (ARC4_ONLY), as a client set to
// require encryption does; and from both over uTP, libtorrent downloading (aria2c has no uTP).
import type { ChildProcess } from 'node:child_process'
import { openAsBlob } from 'node:fs'
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import http from 'node:http'
import type net from 'node:net'
import path from 'node:path'
import bencode from 'bencode'
import { decodeTorrent } from '../../src/bittorrent/metainfo.ts'
import { onCleanup } from '../lib/cleanup.ts'
import { fmtMB, fmtSec, rate } from '../lib/format.ts'
import { log } from '../lib/log.ts'
import { writeMedia } from '../lib/media.ts'
import { freePort } from '../lib/ports.ts'
import { clockTicks, cpuTicks } from '../lib/procfs.ts'
import { now, programPath, run, sleep, spawnChild, stopChild, SYSTEM_PYTHON, waitFor } from '../lib/processes.ts'
import { stopSeedcast, waitSeeding } from '../lib/seedcast.ts'
import type { Engine, Source } from './config.ts'
import { seederPid, startServer, startStandaloneSeeder, upload } from './servers.ts'

/** The site's .torrent reduced to announce (our fixed-peer tracker) + its info dict, re-encoded by the bencode package. */
function benchTorrent(siteTorrent: Buffer, announce: string): Buffer {
  const top = bencode.decode(siteTorrent) as Record<string, unknown>
  if (!top.info) throw new Error('the site .torrent has no info dict')
  return Buffer.from(bencode.encode({ announce, info: top.info }))
}

/**
 * An HTTP tracker that answers aria2c (peer id "A2-…") with exactly one peer, the seeder under
 * test, and everyone else (libtorrent announcing) with no peers.
 */
function startFixedPeerTracker(): Promise<{ url: string; setPeer(port: number | null): void; close(): Promise<void> }> {
  let peerPort: number | null = null
  const srv = http.createServer((req, res) => {
    const query = (req.url ?? '').split('?')[1] ?? ''
    const isAria2 = /(^|&)peer_id=A2-/.test(query)
    const peers = Buffer.alloc(isAria2 && peerPort ? 6 : 0)
    if (peers.length) {
      peers.set([127, 0, 0, 1])
      peers.writeUInt16BE(peerPort!, 4)
    }
    res.setHeader('Content-Type', 'text/plain')
    res.end(
      Buffer.from(
        bencode.encode({ interval: 1800, 'min interval': 1800, complete: peers.length ? 1 : 0, incomplete: 0, peers }),
      ),
    )
  })
  return new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port
      resolve({
        url: `http://127.0.0.1:${port}/announce`,
        setPeer: (p) => {
          peerPort = p
        },
        close: () =>
          new Promise<void>((r) => {
            srv.close(() => r())
            srv.closeAllConnections()
          }),
      })
    })
  })
}

async function startLibtorrent(
  torrent: string,
  saveDir: string,
  port: number,
): Promise<{ child: ChildProcess; version: string }> {
  const child = spawnChild(SYSTEM_PYTHON, [programPath('libtorrent_seed.py'), torrent, saveDir, String(port)], {
    stdin: 'pipe',
  })
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    out += d
  })
  const version = await waitFor('libtorrent to seed', 40_000, async () => {
    if (child.exitCode !== null) throw new Error(`libtorrent seeder exited (${child.exitCode}): ${out.trim()}`)
    const m = /^ready (\d+) (\S+)$/m.exec(out)
    if (m && Number(m[1]) !== port) throw new Error(`libtorrent listens on ${m[1]}, expected ${port}`)
    return m?.[2]
  })
  return { child, version }
}

// libtorrent over uTP on loopback moves a few MB/s to tens of MB/s: the uTP runs fetch only the
// pieces of the file's first 128 MiB (piece priorities), so a run takes seconds, not minutes.
const UTP_BYTES = 128 * 1024 * 1024

/** aria2c opens with MSE and offers RC4 only: the whole stream is encrypted both ways. */
const ARC4_ONLY = ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4']

export interface Transfer {
  /** aria2c start to exit. */
  wallMs: number
  /** First byte of the file on the tmpfs to the last one (st_blocks polled every 5 ms). */
  transferMs: number
  firstByteMs: number
  /** CPU time (utime + stime) of the seeding process during the run. */
  seederCpuMs: number
}

async function aria2cDownload(
  torrent: string,
  outDir: string,
  expectedName: string,
  size: number,
  sourcePid: number,
  extraArgs: string[] = [],
): Promise<Transfer> {
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  const listenPort = await freePort()
  const target = path.join(outDir, expectedName)
  const cpu0 = cpuTicks(sourcePid) ?? NaN
  const start = now()
  let first: number | undefined
  let full: number | undefined
  let polling = false
  // On tmpfs, allocated blocks = bytes written (aria2c writes straight through with --disk-cache=0).
  const poll = setInterval(() => {
    if (polling || full !== undefined) return
    polling = true
    stat(target)
      .then(
        (st) => {
          const at = now()
          if (st.blocks > 0 && first === undefined) first = at
          if (st.blocks * 512 >= size) full = at
        },
        () => {},
      )
      .finally(() => {
        polling = false
      })
  }, 5)
  let wallMs: number
  try {
    wallMs = (
      await run(
        'aria2c',
        [
          `--dir=${outDir}`,
          `--listen-port=${listenPort}`,
          '--seed-time=0',
          '--enable-dht=false',
          '--enable-dht6=false',
          '--bt-enable-lpd=false',
          '--enable-peer-exchange=false',
          '--file-allocation=none',
          '--disk-cache=0',
          '--check-integrity=false',
          '--bt-hash-check-seed=false',
          '--bt-save-metadata=false',
          '--summary-interval=0',
          '--console-log-level=error',
          '--download-result=hide',
          '--auto-save-interval=0',
          '--bt-stop-timeout=30',
          '--allow-overwrite=true',
          ...extraArgs,
          torrent,
        ],
        { timeoutMs: 180_000 },
      )
    ).ms
  } finally {
    clearInterval(poll)
  }
  const seederCpuMs = (((cpuTicks(sourcePid) ?? NaN) - cpu0) / (await clockTicks())) * 1000
  const got = await stat(target).then(
    (st) => st.size,
    () => -1,
  )
  await rm(outDir, { recursive: true, force: true })
  if (got !== size) throw new Error(`aria2c finished but saved ${got} bytes, expected ${size}`)
  if (first === undefined || full === undefined) throw new Error('could not follow the download on the tmpfs')
  return { wallMs, transferMs: full - first, firstByteMs: first - start, seederCpuMs }
}

/** libtorrent (bench/programs/libtorrent_utp_get.py) downloading the first `size` bytes over uTP only from the peer on `port`. */
async function utpDownload(
  torrent: string,
  outDir: string,
  port: number,
  size: number,
  sourcePid: number,
): Promise<Transfer> {
  await rm(outDir, { recursive: true, force: true })
  await mkdir(outDir, { recursive: true })
  const cpu0 = cpuTicks(sourcePid) ?? NaN
  const r = await run(
    SYSTEM_PYTHON,
    [programPath('libtorrent_utp_get.py'), torrent, outDir, String(port), String(size)],
    { timeoutMs: 200_000 },
  )
  const seederCpuMs = (((cpuTicks(sourcePid) ?? NaN) - cpu0) / (await clockTicks())) * 1000
  await rm(outDir, { recursive: true, force: true })
  const got = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
    first: number
    complete: number
    bytes: number
    utp: boolean
  }
  if (!got.utp) throw new Error('the uTP download carried payload over TCP')
  if (got.bytes < size) throw new Error(`libtorrent finished with ${got.bytes} payload bytes, expected ${size}`)
  return {
    wallMs: r.ms,
    transferMs: (got.complete - got.first) * 1000,
    firstByteMs: got.first * 1000,
    seederCpuMs,
  }
}

export interface DownloadResult {
  size: number
  runs: Map<Source, Transfer[]>
  /** aria2c requiring RC4: from the first engine and from libtorrent. */
  rc4Runs: Map<Source, Transfer[]>
  /** libtorrent downloading the first utpSize bytes over uTP only: from the first engine and from libtorrent. */
  utpRuns: Map<Source, Transfer[]>
  utpSize: number
  libtorrentVersion: string
  pieceLength: number
}

export async function downloadComparison(
  dir: string,
  shmDir: string,
  header: Buffer,
  bigBytes: number,
  rescanSeconds: number,
  engines: Engine[],
  rounds: number,
): Promise<DownloadResult> {
  const storageDir = path.join(dir, 'storage-a')
  const input = path.join(dir, 'big.mp4')
  let t = now()
  await writeMedia(input, header, bigBytes)
  log(`(a) made a ${fmtMB(bigBytes)} file in ${fmtSec(now() - t)}`)

  const server = await startServer(storageDir, rescanSeconds, engines[0]!)
  try {
    t = now()
    const { video } = await upload(
      server,
      'Seeder bench big file',
      await openAsBlob(input, { type: 'video/mp4' }),
      'big.mp4',
    )
    log(`(a) uploaded in ${fmtSec(now() - t)}; infohash ${video.torrent!.infoHash}`)
    await rm(input) // the stored copy is the one both seeders serve
    await waitSeeding(server, 1, 60_000)

    const siteTorrent = Buffer.from(await (await fetch(video.torrent!.torrentUrl)).arrayBuffer())
    const site = decodeTorrent(siteTorrent)
    const tracker = await startFixedPeerTracker()
    onCleanup(() => tracker.close())
    const torrentBuf = benchTorrent(siteTorrent, tracker.url)
    const bench = decodeTorrent(torrentBuf)
    if (bench.infoHash !== video.torrent!.infoHash || site.infoHash !== bench.infoHash || bench.webSeeds.length) {
      throw new Error('the benchmark .torrent does not keep the infohash or still has a web seed')
    }
    const torrentFile = path.join(dir, 'bench.torrent')
    await writeFile(torrentFile, torrentBuf)

    const mediaDir = path.join(storageDir, 'media')
    const stored = path.join(mediaDir, bench.name)
    const ltPort = await freePort()
    const lt = await startLibtorrent(torrentFile, mediaDir, ltPort)
    log(`(a) libtorrent ${lt.version} seeding on port ${ltPort}`)
    const seeders = new Map<Source, { port: number; pid: number }>([
      [engines[0]!, { port: server.seederPort, pid: await seederPid(server) }],
    ])
    const standalones: ChildProcess[] = []
    for (const engine of engines.slice(1)) {
      const standalone = await startStandaloneSeeder(server, engine, 1)
      seeders.set(engine, standalone)
      standalones.push(standalone.child)
      log(`(a) standalone ${engine} seeder on port ${standalone.port}`)
    }
    seeders.set('libtorrent', { port: ltPort, pid: lt.child.pid! })

    // Both serve from the page cache.
    const cat = await run('cat', [stored], { stdoutTo: 'devnull' })
    log(`(a) read the stored file once (${fmtSec(cat.ms)}) so both seeders serve it from the page cache`)

    const outDir = path.join(shmDir, 'download')
    const result: DownloadResult = {
      size: bigBytes,
      runs: new Map([...seeders.keys()].map((k) => [k, []])),
      rc4Runs: new Map([
        [engines[0]!, []],
        ['libtorrent', []],
      ]),
      utpRuns: new Map([
        [engines[0]!, []],
        ['libtorrent', []],
      ]),
      utpSize: Math.min(bigBytes, UTP_BYTES),
      libtorrentVersion: lt.version,
      pieceLength: bench.pieceLength,
    }
    for (let round = 1; round <= rounds; round++) {
      const plan = [
        ...[...seeders].map(([who, seeder]) => ({ who, seeder, rc4: false })),
        ...[...result.rc4Runs.keys()].map((who) => ({ who, seeder: seeders.get(who)!, rc4: true })),
      ]
      for (const { who, seeder, rc4 } of plan) {
        tracker.setPeer(seeder.port)
        const x = await aria2cDownload(torrentFile, outDir, bench.name, bigBytes, seeder.pid, rc4 ? ARC4_ONLY : [])
        ;(rc4 ? result.rc4Runs : result.runs).get(who)!.push(x)
        log(
          `(a) round ${round}: aria2c from ${who.padEnd(10)}${rc4 ? ' RC4' : ''} ${rate(bigBytes, x.transferMs).toFixed(0)} MB/s first→last byte ` +
            `(${fmtSec(x.transferMs)}; first byte after ${fmtSec(x.firstByteMs)}; aria2c wall ${fmtSec(x.wallMs)}, ${rate(bigBytes, x.wallMs).toFixed(0)} MB/s; ` +
            `seeder CPU ${fmtSec(x.seederCpuMs)})`,
        )
        await sleep(1000)
      }
      for (const who of result.utpRuns.keys()) {
        const seeder = seeders.get(who)!
        const x = await utpDownload(torrentFile, outDir, seeder.port, result.utpSize, seeder.pid)
        result.utpRuns.get(who)!.push(x)
        log(
          `(a) round ${round}: libtorrent over uTP from ${who.padEnd(10)} ${rate(result.utpSize, x.transferMs).toFixed(0)} MB/s first→last byte ` +
            `(${fmtSec(x.transferMs)}; first byte after ${fmtSec(x.firstByteMs)}; seeder CPU ${fmtSec(x.seederCpuMs)})`,
        )
        await sleep(1000)
      }
    }
    tracker.setPeer(null)
    for (const c of standalones) await stopChild(c)
    lt.child.stdin!.end()
    await stopChild(lt.child)
    await tracker.close()
    return result
  } finally {
    await stopSeedcast(server)
    await rm(storageDir, { recursive: true, force: true })
  }
}
