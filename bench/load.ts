// Load benchmark: `npm run bench:load` (node bench/load.ts). Not a timed test.
//
// A site with BENCH_VIDEOS (10,000) videos, seeded straight into its database before it starts
// (bench/load/seed.ts: real clip and .torrent files, rows in one transaction), one Seedcast web
// process (SEEDER=off), and wrk at BENCH_CONNS (100) connections on three targets:
//   page      GET /videos/:id, a random seeded id per request (bench/programs/load-get.lua), keep-alive
//   list      GET /api/videos, its default page, anonymous, keep-alive
//   announce  GET /announce, a random seeded infohash and a random peer id per request
//             (bench/programs/load-announce.lua), a new connection each, as clients announce
//   static    GET /static/site.css: the app's cheapest answer (its middleware, no database), the floor
//   plain     one video page's bytes from node:http alone (bench/programs/plain-page.ts, its own
//             process, pinned as the site is): what Node itself costs per page, the ceiling
// for each configuration of BENCH_CONFIGS (all of bench/load/site.ts's by default: SQLite and
// PostgreSQL, one and two web processes, and one process without the page cache, "-drawn", where
// every page and list is drawn). With the cache, every video page is visited once before each page
// run (what a site that has served them holds; the announces of the run before changed the live
// counts, and a kept page whose counts changed is drawn again). Each target runs pinned (the server's threads moved to
// BENCH_SERVER_CPU, wrk on BENCH_LOAD_CPU with 1 thread: wrk needs CPU too, and on a 2-core
// machine it would otherwise take the server's), unpinned (both anywhere, wrk with 2 threads), and
// paced (pinned, the connections together offering BENCH_PACED_RATE (200) requests/s, each waiting
// a random time before each request: the latency of a site below its capacity, where the others
// measure how much it does, their latency mostly time in the queue).
// PostgreSQL itself is never pinned (a shared server). A BENCH_WARMUP_SECONDS (3) run precedes
// each measured BENCH_SECONDS (10) run; BENCH_ROUNDS (2) rounds, and the table gives the range
// over them, with the 1-minute load average around each run: this machine is shared, so read the
// figures with the load beside them. Target (issue 15): p99 under 50 ms at 100 connections.
//
// Environment (all optional): BENCH_VIDEOS, BENCH_CONNS, BENCH_SECONDS, BENCH_WARMUP_SECONDS,
// BENCH_ROUNDS, BENCH_CONFIGS, BENCH_TARGETS ("page,list,announce,static,plain"), BENCH_PLACEMENTS
// ("pinned,unpinned,paced"), BENCH_PACED_RATE, BENCH_SERVER_CPU (0), BENCH_LOAD_CPU (1), BENCH_POSTGRES_URL (default
// TEST_POSTGRES_URL, else `scripts/postgres.sh start`), BENCH_SERVER_NODE_ARGS (e.g. --cpu-prof
// --cpu-prof-dir=DIR), BENCH_SERVER_LOG=1 (the server's output at the end).
// Short trial run: BENCH_VIDEOS=200 BENCH_SECONDS=2 BENCH_WARMUP_SECONDS=1 BENCH_ROUNDS=1 node bench/load.ts
// Needs wrk and taskset. Exits 0 when it ran (targets met or not), 1 on an error. Temporary
// files (storage, SQLite) live in one folder per configuration, removed at the end; the
// PostgreSQL databases are dropped.
import { cpus } from 'node:os'
import { envList, envNumber, fmtInt, fmtMs, fmtCpu, markdownTable } from './lib/format.ts'
import { log } from './lib/log.ts'
import { clockTicks } from './lib/procfs.ts'
import { requireCommands, run, runBench } from './lib/processes.ts'
import { stopSeedcast } from './lib/seedcast.ts'
import { CONFIGS, startLoadSite, visitEveryPage, type LoadConfig, type LoadSite } from './load/site.ts'
import { CLK_TCK, runWrk, type WrkResult } from './load/wrk.ts'

const VIDEOS = envNumber('BENCH_VIDEOS', 10_000, { integer: true })
const CONNS = envNumber('BENCH_CONNS', 100, { integer: true })
const SECONDS = envNumber('BENCH_SECONDS', 10)
const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', 3)
const ROUNDS = envNumber('BENCH_ROUNDS', 2, { integer: true })
const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0'
const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? '1'
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
const TARGET_P99_US = 50_000
const PACED_RATE = envNumber('BENCH_PACED_RATE', 200)

const TARGETS = ['page', 'list', 'announce', 'static', 'plain'] as const
type Target = (typeof TARGETS)[number]
const TARGET_LABELS: Record<Target, string> = {
  page: 'GET /videos/:id',
  list: 'GET /api/videos',
  announce: 'GET /announce',
  static: 'GET /static/site.css (floor: Express, no database)',
  plain: 'the same page from node:http alone (ceiling)',
}
const PLACEMENTS = ['pinned', 'unpinned', 'paced'] as const
type Placement = (typeof PLACEMENTS)[number]

function pick<T extends string>(name: string, all: readonly T[], dflt: readonly string[] = all): T[] {
  const chosen = envList(name, [...dflt])
  for (const c of chosen) if (!all.includes(c as T)) throw new Error(`${name}: unknown ${c} (one of ${all.join(', ')})`)
  return chosen as T[]
}
const CONFIG_NAMES = pick('BENCH_CONFIGS', Object.keys(CONFIGS))
const TARGET_NAMES = pick('BENCH_TARGETS', TARGETS)
const PLACEMENT_NAMES = pick('BENCH_PLACEMENTS', PLACEMENTS)

interface Row extends WrkResult {
  config: LoadConfig
  target: Target
  placement: Placement
  threads: number
  round: number
}

const allCpus = () => `0-${cpus().length - 1}`

/** Moves every thread of the server to `cpuList` (taskset -a: the threads it has now). */
const pinServer = (pid: number, cpuList: string) => run('taskset', ['-apc', cpuList, String(pid)])

async function measure(site: LoadSite, config: LoadConfig, target: Target, placement: Placement, round: number) {
  // Several web processes are there to use every core: never pinned to one (paced runs unpinned too).
  const pinned = placement !== 'unpinned' && config.webProcesses === 1
  const threads = pinned ? 1 : 2
  // 'plain' is the ceiling: node:http alone with the page's bytes, in its own process.
  const server = target === 'plain' ? site.plain : { url: site.seedcast.url, pid: site.seedcast.pid }
  await pinServer(server.pid, pinned ? SERVER_CPU : allCpus())
  const base = {
    script: target === 'announce' ? ('load-announce.lua' as const) : ('load-get.lua' as const),
    url: server.url,
    listFile: site.lists[target],
    connections: CONNS,
    threads,
    cpu: pinned ? LOAD_CPU : undefined,
    paceMs: placement === 'paced' ? (1000 * CONNS) / PACED_RATE : undefined,
    serverPid: server.pid,
    cores: { server: SERVER_CPU, load: LOAD_CPU },
    databasePid: target === 'plain' ? undefined : site.databasePid,
  }
  // Before each page run: the announces of the run before changed the swarms' live counts, and a
  // kept page whose counts changed is drawn again (src/web/pageCache.ts).
  if (target === 'page' && config.pageCache)
    log(
      `${config.name}: visited every video page once in ${((await visitEveryPage(site, config.webProcesses)) / 1000).toFixed(1)} s`,
    )
  await runWrk({ ...base, seconds: WARMUP_SECONDS })
  const r = await runWrk({ ...base, seconds: SECONDS })
  const row: Row = { ...r, config, target, placement, threads, round }
  log(
    `round ${round + 1} ${config.name} ${target} ${placement} (wrk -t${threads} -c${CONNS}): ${fmtInt(r.perSecond)}/s, ` +
      `p50 ${fmtMs(r.p50us)}, p99 ${fmtMs(r.p99us)}, server CPU ${fmtCpu(r.serverCpu)}, wrk CPU ${fmtCpu(r.wrkCpu)}, ` +
      (r.databaseCpu === null ? '' : `PostgreSQL CPU ${fmtCpu(r.databaseCpu)}, `) +
      `load ${r.loadBefore.toFixed(2)}→${r.loadAfter.toFixed(2)}${r.errors ? `; errors: ${r.errorText}` : ''}`,
  )
  return row
}

const range = (xs: number[], f: (x: number) => string) => {
  const lo = Math.min(...xs)
  const hi = Math.max(...xs)
  return f(lo) === f(hi) ? f(lo) : `${f(lo)}–${f(hi)}`
}

function report(rows: Row[]): string[] {
  const groups = new Map<string, Row[]>()
  for (const r of rows) {
    const key = `${r.config.name}|${r.target}|${r.placement}`
    groups.set(key, [...(groups.get(key) ?? []), r])
  }
  const lines = [
    `## Load: ${fmtInt(VIDEOS)} videos, ${CONNS} connections, ${SECONDS} s runs × ${ROUNDS} round(s)`,
    '',
    `pinned: the server on CPU ${SERVER_CPU}, wrk on CPU ${LOAD_CPU}; unpinned: both anywhere. Without pacing every connection sends its next request as soon as it has the answer (the most the server does; with ${CONNS} connections always waiting, latency is mostly queueing: about ${CONNS} ÷ requests/s). Paced: the same ${CONNS} connections offering ${PACED_RATE} requests/s together. Ranges over the rounds; load = 1-minute load average before → after each run.`,
    '',
    ...markdownTable(
      [
        'Configuration',
        'Target',
        'wrk',
        'Requests/s',
        'p50',
        'p99',
        'p99 < 50 ms',
        'Server CPU',
        'CPU per request',
        'wrk CPU',
        'PostgreSQL CPU',
        'Errors',
        'Load',
      ],
      [...groups.values()].map((g) => {
        const r = g[0]!
        return [
          r.config.name,
          TARGET_LABELS[r.target],
          `${r.threads === 2 ? 'unpinned' : 'pinned'}, -t${r.threads}${r.placement === 'paced' ? `, paced at ${PACED_RATE}/s` : ''}`,
          range(
            g.map((x) => x.perSecond),
            fmtInt,
          ),
          range(
            g.map((x) => x.p50us),
            fmtMs,
          ),
          range(
            g.map((x) => x.p99us),
            fmtMs,
          ),
          g.every((x) => x.p99us < TARGET_P99_US) ? 'yes' : g.some((x) => x.p99us < TARGET_P99_US) ? 'some runs' : 'no',
          range(
            g.map((x) => x.serverCpu ?? NaN),
            (x) => fmtCpu(Number.isNaN(x) ? null : x),
          ),
          // The whole process tree's CPU per answer: with several processes, what the IPC adds.
          range(
            g.map((x) => (x.serverCpu === null ? NaN : ((x.serverCpu / 100) * 1e6) / x.perSecond)),
            (x) => (Number.isNaN(x) ? '?' : `${Math.round(x)} µs`),
          ),
          range(
            g.map((x) => x.wrkCpu),
            fmtCpu,
          ),
          g.every((x) => x.databaseCpu === null)
            ? '–'
            : range(
                g.map((x) => x.databaseCpu ?? NaN),
                (x) => fmtCpu(Number.isNaN(x) ? null : x),
              ),
          g.some((x) => x.errors) ? g.map((x) => x.errorText || '0').join('; ') : '0',
          g.map((x) => `${x.loadBefore.toFixed(1)}→${x.loadAfter.toFixed(1)}`).join(', '),
        ]
      }),
    ),
  ]
  return lines
}

/**
 * Two web processes against one, unpinned, round by round, for each configuration measured both
 * ways, with the most two processes can do while wrk shares their cores: a run of one process
 * used c = server + wrk (+ PostgreSQL server) cores (its CPU columns), and two processes that cost no more per answer
 * can use at most the machine's two, so at most 2/c times as many answers (with the server at one
 * full core, s and w its and wrk's CPU per answer: 2s/(s + w)).
 */
function scaling(rows: Row[]): string[] {
  const table: string[][] = []
  for (const one of Object.values(CONFIGS)) {
    if (one.webProcesses !== 1) continue
    const two = Object.values(CONFIGS).find(
      (c) => c.webProcesses === 2 && c.database === one.database && c.pageCache === one.pageCache,
    )
    for (const target of TARGETS) {
      const pick = (c: LoadConfig | undefined) =>
        rows.filter((r) => r.config === c && r.target === target && r.placement === 'unpinned')
      const ones = pick(one)
      const twos = pick(two)
      if (!two || ones.length === 0 || twos.length === 0) continue
      const ratios = twos.map((t, i) => t.perSecond / (ones[i] ?? ones[0]!).perSecond)
      const cores = cpus().length
      const bounds = ones.map((o) =>
        o.serverCpu === null ? NaN : (100 * cores) / (o.serverCpu + o.wrkCpu + (o.databaseCpu ?? 0)),
      )
      table.push([
        `${one.name} → ${two.name}`,
        TARGET_LABELS[target],
        range(ratios, (x) => x.toFixed(2)),
        range(bounds, (x) => (Number.isNaN(x) ? '?' : x.toFixed(2))),
        ratios.every((x) => x >= 1.6) ? 'yes' : 'no',
      ])
    }
  }
  if (table.length === 0) return []
  return [
    '',
    '## Two web processes ÷ one (unpinned, round by round)',
    '',
    `Bound: ${cpus().length} cores ÷ the cores the one-process run used (server, wrk and a PostgreSQL server on this machine): the most two processes can do while wrk shares the machine's cores, even if the second cost nothing. Target (issue 15): at least 1.6.`,
    '',
    ...markdownTable(['Configurations', 'Target', '2 ÷ 1', 'Bound with wrk on the same cores', '≥ 1.6'], table),
  ]
}

async function main(): Promise<number> {
  await requireCommands(['wrk', 'taskset'], 'Debian: apt-get install -y wrk util-linux')
  const clkTck = await clockTicks()
  if (clkTck !== CLK_TCK) throw new Error(`CLK_TCK is ${clkTck}, expected ${CLK_TCK}`)
  if (cpus().length < 2) log(`only ${cpus().length} CPU: pinned runs share it with wrk`)
  log(
    `${fmtInt(VIDEOS)} videos; configurations ${CONFIG_NAMES.join(', ')}; targets ${TARGET_NAMES.join(', ')}; ${PLACEMENT_NAMES.join(', ')}; ${WARMUP_SECONDS} s warm-up + ${SECONDS} s × ${ROUNDS} round(s)`,
  )
  const rows: Row[] = []
  for (const name of CONFIG_NAMES) {
    const config = CONFIGS[name]!
    const site = await startLoadSite(config, VIDEOS, SERVER_NODE_ARGS)
    for (let round = 0; round < ROUNDS; round++)
      for (const target of TARGET_NAMES)
        for (const placement of PLACEMENT_NAMES)
          if (placement !== 'pinned' || config.webProcesses === 1)
            rows.push(await measure(site, config, target, placement, round))
    if (process.env.BENCH_SERVER_LOG === '1') log(`Seedcast output:\n${site.seedcast.logs.join('\n')}`)
    await stopSeedcast(site.seedcast)
  }
  console.log([...report(rows), ...scaling(rows)].join('\n'))
  return 0
}

await runBench(main)
