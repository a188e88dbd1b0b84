// Load runs: wrk over HTTP (bench/programs/announce.lua), bench/udp-load.ts over UDP; each
// records announces/s, latency, errors and the CPU of the server and of the load.
import { CpuWindow, udpRcvbufErrors, type CpuUse } from '../lib/procfs.ts'
import { collect, spawnChild } from '../lib/processes.ts'
import { runWrkScript } from '../lib/wrk.ts'
import {
  CLK_TCK,
  LOAD_CPU,
  SECONDS,
  SERVER_CPU,
  UDP_CLIENTS,
  UDP_INFLIGHT,
  UDP_PROCS,
  WARMUP_SECONDS,
  type TrackerName,
  type Transport,
} from './config.ts'
import { announceQuery, type Server } from './servers.ts'

export interface RunResult {
  tracker: TrackerName
  transport: Transport
  load: number // connections (HTTP) or announces in flight (UDP)
  round: number
  perSecond: number
  p50us: number
  p99us: number
  errors: number // real errors: socket errors, non-2xx, failure bodies, UDP error replies and timeouts
  readErrors: number // HTTP read errors (counted in errors too, except for opentracker: see notes)
  errorText: string
  serverCpu: number | null // % of one core over the measured window
  loadCpu: number | null
  serverCore: number | null // how busy the server's core was (any process), %
  loadCore: number | null // how busy the load generator's core was, %
}

/** Announces per second of server CPU: capacity when the server had CPU to spare. */
export function perCpuSecond(r: RunResult): number | undefined {
  return r.serverCpu && r.serverCpu > 1 ? r.perSecond / (r.serverCpu / 100) : undefined
}

/** What most likely set the pace of a run. */
export function bottleneck(r: RunResult): string {
  const server = r.serverCpu !== null && r.serverCpu >= 85
  const load = r.loadCore !== null && r.loadCore >= 90
  if (server && load) return 'server and load generator (both saturated)'
  if (server) return 'server'
  if (load) return 'load generator'
  // Neither saturated: other processes on this shared machine took the server's or the load's core.
  if (r.serverCore !== null && r.serverCpu !== null && r.serverCore - r.serverCpu >= 15)
    return 'disturbed: other processes on the server core'
  if (r.loadCore !== null && r.loadCpu !== null && r.loadCore - r.loadCpu >= 15)
    return 'disturbed: other processes on the load core'
  return 'neither (latency-bound)'
}

const cpuWindow = (pid: number) => new CpuWindow(pid, { server: SERVER_CPU, load: LOAD_CPU, ticks: CLK_TCK })

function runWrk(server: Server, base: string, conns: number, seconds: number) {
  return runWrkScript({
    script: 'announce.lua',
    url: `http://127.0.0.1:${server.httpPort}`,
    scriptArgs: [base, String(Math.floor(Math.random() * 1e6))],
    threads: 1,
    connections: conns,
    seconds,
    timeoutSeconds: 2,
    cpu: LOAD_CPU,
    serverPid: server.pid,
    cores: { server: SERVER_CPU, load: LOAD_CPU, ticks: CLK_TCK },
  })
}

export async function httpRun(server: Server, infoHash: string, conns: number, round: number): Promise<RunResult> {
  const base = announceQuery(infoHash)
  await runWrk(server, base, conns, WARMUP_SECONDS)
  const w = await runWrk(server, base, conns, SECONDS)
  const secs = w.duration_us / 1e6
  const readCounts = server.name !== 'opentracker'
  const errors = w.connect + w.write + w.timeout + w.status + w.failures + w.other + (readCounts ? w.read : 0)
  const parts = [
    w.connect && `connect ${w.connect}`,
    w.read && `read ${w.read}${readCounts ? '' : '†'}`,
    w.write && `write ${w.write}`,
    w.timeout && `timeout ${w.timeout}`,
    w.status && `non-2xx ${w.status}`,
    w.failures && `failure replies ${w.failures}`,
    w.other && `other bodies ${w.other}`,
  ].filter(Boolean)
  return {
    tracker: server.name,
    transport: 'http',
    load: conns,
    round,
    perSecond: w.requests / secs,
    p50us: w.p50_us,
    p99us: w.p99_us,
    errors,
    readErrors: w.read,
    errorText: parts.join(', '),
    serverCpu: w.cpu.server,
    serverCore: w.cpu.serverCore,
    loadCore: w.cpu.loadCore,
    loadCpu: (w.cpu_ticks / CLK_TCK / (w.wallMs / 1000)) * 100,
  }
}

interface UdpJson {
  seconds: number
  replies: number
  perSecond: number
  errors: number
  firstError: string
  timeouts: number
  late: number
  p50_us: number
  p99_us: number
  cpuPercent: number
  error?: string
}

export async function udpRun(server: Server, infoHash: string, round: number): Promise<RunResult> {
  const procs = Math.min(UDP_PROCS, UDP_CLIENTS)
  let started = 0
  let ended = 0
  const window = cpuWindow(server.pid)
  let cpu: CpuUse = { server: null, serverCore: null, loadCore: null }
  let drops0 = 0
  let drops = NaN
  const runs = Array.from({ length: procs }, (_, i) => {
    const clients = Math.floor(UDP_CLIENTS / procs) + (i < UDP_CLIENTS % procs ? 1 : 0)
    const inflight = Math.floor(UDP_INFLIGHT / procs) + (i < UDP_INFLIGHT % procs ? 1 : 0)
    const child = spawnChild(
      process.execPath,
      [
        'bench/udp-load.ts',
        '--port',
        String(server.udpPort),
        '--info-hash',
        infoHash,
        '--clients',
        String(clients),
        '--inflight',
        String(inflight),
        '--warmup',
        String(WARMUP_SECONDS),
        '--seconds',
        String(SECONDS),
      ],
      { cpu: LOAD_CPU },
    )
    return collect(child, (line) => {
      if (line === 'MEASURE_START' && ++started === 1) {
        window.start()
        drops0 = udpRcvbufErrors()
      }
      if (line === 'MEASURE_END' && ++ended === procs) {
        cpu = window.end()
        drops = udpRcvbufErrors() - drops0
      }
    })
  })
  const results: UdpJson[] = []
  for (const r of await Promise.all(runs)) {
    const m = /UDP_JSON (\{.*\})/.exec(r.stdout)
    if (r.code !== 0 || !m)
      throw new Error(
        `udp-load failed against ${server.name} (${r.signal ?? `exit ${r.code}`}): ${r.stdout}\n${r.stderr}`,
      )
    results.push(JSON.parse(m[1]!) as UdpJson)
  }
  const sum = (f: (u: UdpJson) => number) => results.reduce((a, u) => a + f(u), 0)
  const errors = sum((u) => u.errors)
  const timeouts = sum((u) => u.timeouts)
  const firstError = results.find((u) => u.firstError)?.firstError
  const parts = [
    errors && `error replies ${errors}${firstError ? ` ("${firstError}")` : ''}`,
    timeouts && `timeouts ${timeouts}`,
    drops > 0 && `kernel receive-buffer drops ${drops}`,
  ].filter(Boolean)
  return {
    tracker: server.name,
    transport: 'udp',
    load: UDP_INFLIGHT,
    round,
    perSecond: sum((u) => u.perSecond),
    p50us: Math.max(...results.map((u) => u.p50_us)),
    p99us: Math.max(...results.map((u) => u.p99_us)),
    errors: errors + timeouts,
    readErrors: 0,
    errorText: parts.join(', '),
    serverCpu: cpu.server,
    serverCore: cpu.serverCore,
    loadCore: cpu.loadCore,
    loadCpu: sum((u) => u.cpuPercent),
  }
}
