// One wrk run against a site: a Lua script from bench/programs/, its list file, the connections
// and threads, optionally pinned to a CPU; returns requests/s, latency percentiles, errors and the
// CPU the server and wrk used over the run.
import { loadavg } from 'node:os'
import { runWrkScript } from '../lib/wrk.ts'

export const CLK_TCK = 100 // Linux USER_HZ; checked with getconf at start

export interface WrkRun {
  script: 'load-get.lua' | 'load-announce.lua'
  url: string
  listFile: string
  connections: number
  threads: number
  seconds: number
  /** Paced: each connection waits about this long before each request (an offered rate). */
  paceMs?: number
  /** taskset CPU list for wrk; undefined: unpinned. */
  cpu?: string
  /** The server's pid (its CPU is measured) and the CPUs counted as the server's and the load's. */
  serverPid: number
  cores: { server: string; load: string }
  /** The PostgreSQL server's postmaster (its backends are its children): its CPU is counted too. */
  databasePid?: number
}

export interface WrkResult {
  perSecond: number
  p50us: number
  p99us: number
  maxUs: number
  requests: number
  /** Socket errors, timeouts, non-2xx/3xx replies and (announces) failure or unexpected bodies. */
  errors: number
  errorText: string
  /** % of one core over the run. */
  serverCpu: number | null
  wrkCpu: number
  /** The database server's, when it is a process of its own (PostgreSQL). */
  databaseCpu: number | null
  /** The 1-minute load average before and after the run. */
  loadBefore: number
  loadAfter: number
}

export async function runWrk(r: WrkRun): Promise<WrkResult> {
  const loadBefore = loadavg()[0]!
  const w = await runWrkScript({
    script: r.script,
    url: r.url,
    scriptArgs: [r.listFile, String(Math.floor(Math.random() * 1e6))],
    threads: r.threads,
    connections: r.connections,
    seconds: r.seconds,
    timeoutSeconds: 5,
    cpu: r.cpu,
    env: { ...process.env, BENCH_PACE_MS: r.paceMs === undefined ? '' : String(r.paceMs) },
    serverPid: r.serverPid,
    cores: { ...r.cores, ticks: CLK_TCK },
    besidePid: r.databasePid,
  })
  const parts = [
    w.connect && `connect ${w.connect}`,
    w.read && `read ${w.read}`,
    w.write && `write ${w.write}`,
    w.timeout && `timeout ${w.timeout}`,
    w.status && `non-2xx ${w.status}`,
    w.failures && `failure replies ${w.failures}`,
    w.other && `other bodies ${w.other}`,
  ].filter(Boolean)
  return {
    perSecond: w.requests / (w.duration_us / 1e6),
    p50us: w.p50_us,
    p99us: w.p99_us,
    maxUs: w.max_us,
    requests: w.requests,
    errors: w.connect + w.read + w.write + w.timeout + w.status + w.failures + w.other,
    errorText: parts.join(', '),
    serverCpu: w.cpu.server,
    wrkCpu: (w.cpu_ticks / CLK_TCK / (w.wallMs / 1000)) * 100,
    databaseCpu: w.besideCpu,
    loadBefore,
    loadAfter: loadavg()[0]!,
  }
}
