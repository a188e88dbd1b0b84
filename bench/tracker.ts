// Tracker throughput benchmark: `npm run bench:tracker` (node bench/tracker.ts).
//
// Announces per second of three trackers on loopback, in one run:
//   - Seedcast: the real app (node src/main.ts) in a child process, one small video uploaded
//     through POST /api/videos so its infohash is on the allow list; TRACKER_RATE_LIMIT_PER_MINUTE=0.
//   - bittorrent-tracker (the npm package, as is): its Server in a tiny child script
//     (bench/programs/bittorrent-tracker-server.mjs), no filter;
//     one process with only HTTP on, one with only UDP on.
//   - opentracker (Debian package: whitelist-only, so the same infohash is whitelisted).
// HTTP: wrk (bench/programs/announce.lua), one new TCP connection per announce (`Connection: close`, as real clients do), each
// announce with a fresh random 20-byte peer_id, random port and left (a third are seeders), same
// info_hash, compact=1, numwant=50. A 2 s warm-up run precedes each measured run.
// UDP (BEP 15): bench/udp-load.ts, clients that connect once and then keep many announces in
// flight (default 64 sockets x 4 = 256), also with random peer_id/port per announce.
// Every server is pinned to core 0 (taskset; for Seedcast the web app process), wrk and the UDP
// generator to core 1. Each server's answer is checked before it is loaded (a bencoded announce
// with interval and peers, not a failure; for UDP an announce reply, not an error), and wrk counts
// failure bodies under load. Runs are repeated BENCH_ROUNDS times, interleaved; the table shows the
// best run of each (noise on a shared machine only ever lowers a result), the others alongside.
// Besides announces/s, each run records the server's CPU (utime+stime from /proc) and how busy
// the server's and the load's cores were, which gives announces per server CPU-second and what
// limited the run. On loopback with one core for wrk, opentracker is not saturated over HTTP (wrk's
// core is: the kernel work of every SYN and segment runs on the sending core), so its announces/s
// understate it; the HTTP target (Seedcast >= 50 % of opentracker) is then judged per CPU-second.
//
// Environment (all optional): BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (2),
// BENCH_CONNS ("16,64"), BENCH_UDP_INFLIGHT (256), BENCH_UDP_CLIENTS (64), BENCH_UDP_PROCS (1:
// generator processes, all on the load core), BENCH_TRACKERS ("seedcast,bittorrent-tracker,
// opentracker"), BENCH_TRANSPORTS ("http,udp"), BENCH_SERVER_CPU (0), BENCH_LOAD_CPU (1),
// BENCH_SERVER_NODE_ARGS (extra node flags for the Seedcast process, e.g. "--cpu-prof": the
// profile is then summarised, self time by function, at the end; add --cpu-prof-dir=DIR to keep
// it), BENCH_SERVER_LOG=1 (print Seedcast's output at the end).
// Short trial run (about 1 min): BENCH_SECONDS=2 BENCH_WARMUP_SECONDS=1 BENCH_ROUNDS=1 BENCH_CONNS=16 node bench/tracker.ts
// Needs wrk, opentracker, taskset, curl and ffmpeg on PATH. Exits 0 when it ran (targets met or
// not), 1 on an error. Temporary files live in one folder, removed at the end (also on Ctrl-C).
import { readdirSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import path from 'node:path'
import { tempDir } from './lib/cleanup.ts'
import { fmtCpu, fmtInt, fmtMs } from './lib/format.ts'
import { log } from './lib/log.ts'
import { clockTicks } from './lib/procfs.ts'
import { isRunning, requireCommands, runBench, stopChild } from './lib/processes.ts'
import { metric } from './lib/seedcast.ts'
import {
  CLK_TCK,
  CONNS,
  LOAD_CPU,
  ROUNDS,
  SECONDS,
  SERVER_CPU,
  SERVER_NODE_ARGS,
  TRACKERS,
  TRANSPORTS,
  WARMUP_SECONDS,
  type TrackerName,
  type Transport,
} from './tracker/config.ts'
import { report, summarizeProfile, type SeedcastCounters } from './tracker/report.ts'
import { bottleneck, httpRun, udpRun, type RunResult } from './tracker/runs.ts'
import {
  checkHttpWithRetry,
  checkUdp,
  startBittorrentTracker,
  startOpentracker,
  startSeedcastTracker,
  uploadClip,
  type Server,
} from './tracker/servers.ts'

type Servers = Partial<Record<`${TrackerName}/${Transport}`, Server>>

async function checkTools(): Promise<void> {
  await requireCommands(
    ['wrk', 'opentracker', 'taskset', 'curl', 'ffmpeg'],
    'Debian: apt-get install -y wrk opentracker util-linux curl ffmpeg',
  )
  const clkTck = await clockTicks()
  if (clkTck !== CLK_TCK) throw new Error(`CLK_TCK is ${clkTck}, expected ${CLK_TCK}`)
  if (cpus().length < 2) log(`only ${cpus().length} CPU: server and load generator will share it`)
}

/** --cpu-prof without a folder: write the profile in the temporary folder and summarise it. */
function profileDir(dir: string): string | undefined {
  if (
    SERVER_NODE_ARGS.some((a) => a.startsWith('--cpu-prof')) &&
    !SERVER_NODE_ARGS.some((a) => a.startsWith('--cpu-prof-dir'))
  ) {
    SERVER_NODE_ARGS.push(`--cpu-prof-dir=${path.join(dir, 'profile')}`)
  }
  return SERVER_NODE_ARGS.find((a) => a.startsWith('--cpu-prof-dir='))?.slice('--cpu-prof-dir='.length)
}

/**
 * The servers. Seedcast first: its upload gives the infohash every tracker is loaded with.
 * Seedcast always runs (it provides the infohash), even when not measured.
 */
async function startServers(dir: string): Promise<{ seedcast: Server; servers: Servers; infoHash: string }> {
  const seedcast = await startSeedcastTracker(path.join(dir, 'storage'))
  const infoHash = await uploadClip(seedcast)
  log(
    `Seedcast pid ${seedcast.pid} on http://127.0.0.1:${seedcast.httpPort} (UDP ${seedcast.udpPort}); uploaded a clip, infohash ${infoHash}`,
  )
  const servers: Servers = {}
  const want = (t: TrackerName, tr: Transport) => TRACKERS.includes(t) && TRANSPORTS.includes(tr)
  if (want('seedcast', 'http')) servers['seedcast/http'] = seedcast
  if (want('seedcast', 'udp')) servers['seedcast/udp'] = seedcast
  if (want('bittorrent-tracker', 'http')) servers['bittorrent-tracker/http'] = await startBittorrentTracker('http')
  if (want('bittorrent-tracker', 'udp')) servers['bittorrent-tracker/udp'] = await startBittorrentTracker('udp')
  if (TRACKERS.includes('opentracker')) {
    const ot = await startOpentracker(path.join(dir, 'opentracker'), infoHash)
    if (TRANSPORTS.includes('http')) servers['opentracker/http'] = ot
    if (TRANSPORTS.includes('udp')) servers['opentracker/udp'] = ot
  }
  return { seedcast, servers, infoHash }
}

/** One announce each before any load: a real announce reply, not a failure. */
async function checkServers(servers: Servers, infoHash: string): Promise<void> {
  for (const [key, server] of Object.entries(servers)) {
    const [, transport] = key.split('/') as [TrackerName, Transport]
    const summary = transport === 'http' ? await checkHttpWithRetry(server, infoHash) : await checkUdp(server, infoHash)
    log(`check ${key} (pid ${server.pid}, port ${transport === 'http' ? server.httpPort : server.udpPort}): ${summary}`)
  }
}

/** BENCH_ROUNDS rounds; in each, HTTP at every BENCH_CONNS then UDP, trackers in rotated order. */
async function runRounds(servers: Servers, infoHash: string): Promise<RunResult[]> {
  const results: RunResult[] = []
  const order = (round: number) => TRACKERS.map((_, i) => TRACKERS[(i + round) % TRACKERS.length]!)
  const describe = (r: RunResult) =>
    `${r.tracker} ${r.transport} ${r.transport === 'http' ? `c=${r.load}` : `${r.load} in flight`}: ${fmtInt(r.perSecond)}/s, p99 ${fmtMs(r.p99us)}, ` +
    `server CPU ${fmtCpu(r.serverCpu)} (its core ${fmtCpu(r.serverCore)} busy), load-gen CPU ${fmtCpu(r.loadCpu)} (its core ${fmtCpu(r.loadCore)} busy) → ${bottleneck(r)}${r.errorText ? `; ${r.errorText}` : ''}`
  for (let round = 0; round < ROUNDS; round++) {
    if (TRANSPORTS.includes('http')) {
      for (const conns of CONNS) {
        for (const t of order(round)) {
          const server = servers[`${t}/http`]
          if (!server) continue
          const r = await httpRun(server, infoHash, conns, round)
          results.push(r)
          log(`round ${round + 1}: ${describe(r)}`)
        }
      }
    }
    if (TRANSPORTS.includes('udp')) {
      for (const t of order(round)) {
        const server = servers[`${t}/udp`]
        if (!server) continue
        const r = await udpRun(server, infoHash, round)
        results.push(r)
        log(`round ${round + 1}: ${describe(r)}`)
      }
    }
  }
  return results
}

/** Seedcast's own counters: every announce answered, none refused. */
async function seedcastCounters(seedcast: Server): Promise<SeedcastCounters> {
  const metrics = await fetch(`http://127.0.0.1:${seedcast.httpPort}/metrics`).then(
    (r) => r.text(),
    (err: Error) => `unavailable: ${err.message}`,
  )
  return {
    scHttp: metric(metrics, /seedcast_tracker_announces_total\{transport="http"\} (\d+)/),
    scUdp: metric(metrics, /seedcast_tracker_announces_total\{transport="udp"\} (\d+)/),
    rejected: [...metrics.matchAll(/seedcast_tracker_rejected_total\{reason="([^"]+)"\} (\d+)/g)].map(
      (m) => `${m[1]} ${m[2]}`,
    ),
    dropped: metric(metrics, /seedcast_tracker_udp_dropped_total (\d+)/),
    peers: [...metrics.matchAll(/seedcast_tracker_peers\{kind="(seeder|leecher)"\} (\d+)/g)]
      .map((m) => `${m[2]} ${m[1]}s`)
      .join(', '),
  }
}

/** Stops every server (a --cpu-prof profile is written when Seedcast exits); returns those that had died. */
async function stopServers(servers: Servers, seedcast: Server): Promise<string[]> {
  const alive = [...new Set(Object.values(servers))].concat(seedcast).filter((s, i, a) => a.indexOf(s) === i)
  const deadServers = alive.filter((s) => !isRunning(s.child)).map((s) => s.name)
  await Promise.all(alive.map((s) => stopChild(s.child)))
  return deadServers
}

function printProfiles(profDir: string, dir: string): void {
  const files = readdirSync(profDir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(profDir, f))
  for (const f of files) console.log('\n```\n' + summarizeProfile(f).join('\n') + '\n```')
  if (!files.length) log(`no .cpuprofile in ${profDir}`)
  else if (profDir.startsWith(dir)) log('profile removed with the temporary folder; pass --cpu-prof-dir=DIR to keep it')
}

async function main(): Promise<number> {
  await checkTools()
  const dir = await tempDir('seedcast-tracker-bench-')
  const profDir = profileDir(dir)
  log(
    `temporary folder ${dir}; ${SECONDS} s runs after ${WARMUP_SECONDS} s warm-up, ${ROUNDS} round(s); servers on CPU ${SERVER_CPU}, load on CPU ${LOAD_CPU}`,
  )
  const loadBefore = loadavg()
  const { seedcast, servers, infoHash } = await startServers(dir)
  await checkServers(servers, infoHash)
  const results = await runRounds(servers, infoHash)
  const loadAfter = loadavg()
  const counters = await seedcastCounters(seedcast)
  const deadServers = await stopServers(servers, seedcast)
  console.log(report(results, loadBefore, loadAfter, counters, deadServers).join('\n'))
  if (profDir) printProfiles(profDir, dir)
  if (process.env.BENCH_SERVER_LOG === '1') log(`Seedcast output:\n${seedcast.logs.join('\n')}`)
  return deadServers.length ? 1 : 0
}

await runBench(main)
