// The tracker benchmark's report: one table of every tracker, transport and load (best round,
// the others alongside), the ratios to opentracker, the target, notes; and a CPU profile summary.
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import path from 'node:path'
import { fmtCpu, fmtInt, fmtMs, fmtRatioPct, markdownTable } from '../lib/format.ts'
import { REPO_ROOT } from '../lib/processes.ts'
import {
  ALL_TRACKERS,
  CONNS,
  LOAD_CPU,
  ROUNDS,
  SECONDS,
  SERVER_CPU,
  TARGET_HTTP_RATIO,
  TRANSPORTS,
  UDP_CLIENTS,
  UDP_INFLIGHT,
  UDP_PROCS,
  WARMUP_SECONDS,
  type TrackerName,
  type Transport,
} from './config.ts'
import { bottleneck, perCpuSecond, type RunResult } from './runs.ts'

export interface SeedcastCounters {
  scHttp: number
  scUdp: number
  rejected: string[]
  dropped: number
  peers: string
}

/** The report's lines (Markdown); ends with TARGET MISSED: … or HTTP target met. */
export function report(
  results: RunResult[],
  loadBefore: number[],
  loadAfter: number[],
  counters: SeedcastCounters,
  deadServers: string[],
): string[] {
  const { scHttp, scUdp, rejected, dropped, peers } = counters
  const best = new Map<string, RunResult>()
  const all = new Map<string, RunResult[]>()
  for (const r of results) {
    const key = `${r.tracker}|${r.transport}|${r.load}`
    all.set(key, [...(all.get(key) ?? []), r])
    if (!best.has(key) || best.get(key)!.perSecond < r.perSecond) best.set(key, r)
  }
  const get = (t: TrackerName, tr: Transport, load: number) => best.get(`${t}|${tr}|${load}`)
  const ratio = (a: RunResult | undefined, b: RunResult | undefined) => (a && b ? a.perSecond / b.perSecond : undefined)
  const cpuRatio = (a: RunResult | undefined, b: RunResult | undefined) => {
    const x = a && perCpuSecond(a)
    const y = b && perCpuSecond(b)
    return x && y ? x / y : undefined
  }
  const fmtRatio = fmtRatioPct

  const out: string[] = []
  out.push('', `## Tracker announce throughput (${new Date().toISOString()})`, '')
  out.push(
    `Node ${process.version}, wrk 4.1.0, opentracker (Debian 0.0~git20210823), bittorrent-tracker ${readPackageVersion('bittorrent-tracker')}; ` +
      `${cpus().length} cores, servers pinned to CPU ${SERVER_CPU}, load generators to CPU ${LOAD_CPU}; loopback. ` +
      `${SECONDS} s per run after a ${WARMUP_SECONDS} s warm-up, best of ${ROUNDS} interleaved round(s). ` +
      `Load average (1/5 min) before ${loadBefore[0]!.toFixed(2)}/${loadBefore[1]!.toFixed(2)}, after ${loadAfter[0]!.toFixed(2)}/${loadAfter[1]!.toFixed(2)}.`,
    '',
  )
  const rows: string[][] = []
  const loads: [Transport, number][] = [
    ...(TRANSPORTS.includes('http') ? CONNS.map((c) => ['http', c] as [Transport, number]) : []),
    ...(TRANSPORTS.includes('udp') ? [['udp', UDP_INFLIGHT] as [Transport, number]] : []),
  ]
  for (const [tr, load] of loads) {
    for (const t of ALL_TRACKERS) {
      const r = get(t, tr, load)
      if (!r) continue
      const ot = get('opentracker', tr, load)
      const runs = all
        .get(`${t}|${tr}|${load}`)!
        .map((x) => fmtInt(x.perSecond))
        .join(' / ')
      const errs = r.errors === 0 && !r.errorText ? '0' : `${r.errors}${r.errorText ? ` (${r.errorText})` : ''}`
      const eff = perCpuSecond(r)
      rows.push([
        t,
        tr.toUpperCase(),
        tr === 'http' ? `${load} conns` : `${load} in flight (${UDP_CLIENTS} sockets)`,
        fmtInt(r.perSecond),
        fmtMs(r.p99us),
        errs,
        t === 'opentracker' ? '100 %' : fmtRatio(ratio(r, ot)),
        `${fmtCpu(r.serverCpu)} (core ${fmtCpu(r.serverCore)})`,
        `${eff === undefined ? '?' : fmtInt(eff)} (${t === 'opentracker' ? '100 %' : fmtRatio(cpuRatio(r, ot))})`,
        `${fmtCpu(r.loadCpu)} (core ${fmtCpu(r.loadCore)})`,
        bottleneck(r),
        runs,
      ])
    }
  }
  out.push(
    ...markdownTable(
      [
        'tracker',
        'transport',
        'conns / in flight',
        'announces/s',
        'p99',
        'errors',
        'ratio vs opentracker',
        'server CPU',
        'announces per server CPU-s (ratio vs opentracker)',
        'load-gen CPU',
        'limited by',
        'all rounds (announces/s)',
      ],
      rows,
    ),
  )
  out.push('')
  out.push('Ratios of Seedcast (throughput; per server CPU-second in brackets):')
  for (const [tr, load] of loads) {
    const sc = get('seedcast', tr, load)
    const ot = get('opentracker', tr, load)
    const bt = get('bittorrent-tracker', tr, load)
    out.push(
      `- ${tr.toUpperCase()} ${tr === 'http' ? `${load} conns` : `${load} in flight`}: Seedcast/opentracker ${fmtRatio(ratio(sc, ot))} (${fmtRatio(cpuRatio(sc, ot))}), ` +
        `Seedcast/bittorrent-tracker ${fmtRatio(ratio(sc, bt))} (${fmtRatio(cpuRatio(sc, bt))})`,
    )
  }
  out.push('')
  out.push(
    `Targets (HTTP: Seedcast ≥ ${TARGET_HTTP_RATIO * 100} % of opentracker). When opentracker was not the bottleneck of its own run (it had CPU to spare: ` +
      'the load generator or something else set the pace), its throughput understates it, and the ratio per server CPU-second is the fair one; that one is judged then:',
  )
  const missed: string[] = []
  if (TRANSPORTS.includes('http')) {
    for (const c of CONNS) {
      const sc = get('seedcast', 'http', c)
      const ot = get('opentracker', 'http', c)
      const x = ratio(sc, ot)
      if (x === undefined || !ot) {
        out.push(`- HTTP ${c} conns: not measured`)
        continue
      }
      const saturated = bottleneck(ot).startsWith('server')
      const judged = saturated ? x : (cpuRatio(sc, ot) ?? x)
      const ok = judged >= TARGET_HTTP_RATIO
      if (!ok) missed.push(`HTTP ${c} conns at ${fmtRatio(judged)}`)
      out.push(
        `- HTTP ${c} conns: throughput ratio ${fmtRatio(x)}, per server CPU-second ${fmtRatio(cpuRatio(sc, ot))}; opentracker limited by ${bottleneck(ot)}; ` +
          `judged on ${saturated ? 'throughput' : 'CPU-second'}: ${fmtRatio(judged)}, ${ok ? 'met' : '**MISSED**'}`,
      )
    }
  }
  if (TRANSPORTS.includes('udp')) {
    const sc = get('seedcast', 'udp', UDP_INFLIGHT)
    const ot = get('opentracker', 'udp', UDP_INFLIGHT)
    out.push(
      `- UDP (no target set): Seedcast at ${fmtRatio(ratio(sc, ot))} of opentracker's throughput, ${fmtRatio(cpuRatio(sc, ot))} per server CPU-second` +
        `${ot ? `; opentracker limited by ${bottleneck(ot)}` : ''}${sc ? `, Seedcast by ${bottleneck(sc)}` : ''}`,
    )
  }
  out.push('')
  out.push('Notes:')
  out.push(
    "- HTTP: every announce is a new TCP connection (wrk, `Connection: close`), a fresh random peer_id/port each; p99 is wrk's, from request write to full response (connection set-up not included). " +
      'Errors = socket errors + non-2xx + replies that are not announces (wrk checks every body).',
  )
  out.push(
    '- † opentracker closes each connection after its reply without sending `Connection: close`, so wrk tries to reuse the socket once and counts one read error per announce; ' +
      'those are expected and not counted as errors (every completed reply was still checked to be an announce).',
  )
  out.push(
    `- UDP: ${UDP_CLIENTS} sockets (each its own connection id), ${UDP_INFLIGHT} announces in flight in total, ${UDP_PROCS} generator process(es) on CPU ${LOAD_CPU}; ` +
      'errors = error replies + timeouts (no reply within 250 ms: lost, nearly always to the full receive buffer of the server socket (RcvbufErrors) while requests queue; re-sent).',
  )
  out.push(
    '- CPU = utime+stime of the process (all threads) over the measured window, % of one core; "core" = how busy that CPU was in all (any process, irq, softirq). ' +
      '"limited by": server = server process ≥ 85 % of its core; load generator = the load core ≥ 90 % busy (both saturated: the server may have more to give); ' +
      'disturbed = neither saturated while other processes of this shared machine used ≥ 15 % of a core we use. On loopback the kernel receive work of each packet runs on the sending core, ' +
      "so a TCP server's accept/SYN handling is charged to wrk's core: with one core for wrk, a fast C server cannot be saturated over HTTP.",
  )
  out.push(
    '- Swarm: one infohash; each run adds new peers. Seedcast keeps ≤ 50,000 peers per swarm (later ones are answered, not stored), bittorrent-tracker an LRU of 1,000, opentracker keys peers by ip:port (≤ 64,512 here).',
  )
  out.push(
    `- Seedcast counters at the end: ${fmtInt(scHttp)} HTTP and ${fmtInt(scUdp)} UDP announces answered, refused: ${rejected.length ? rejected.join(', ') : 'none'}, UDP packets dropped: ${dropped}, swarm: ${peers || '?'}.`,
  )
  if (deadServers.length) out.push(`- **A server died during the run: ${deadServers.join(', ')}**`)
  out.push('')
  out.push(
    missed.length ? `TARGET MISSED: ${missed.join('; ')}` : TRANSPORTS.includes('http') ? 'HTTP target met.' : '',
  )
  return out
}

function readPackageVersion(name: string): string {
  try {
    return (
      JSON.parse(readFileSync(path.join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string
      }
    ).version
  } catch {
    return '?'
  }
}

// CPU profile summary (BENCH_SERVER_NODE_ARGS="--cpu-prof ...")

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}

export function summarizeProfile(file: string, top = 25): string[] {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: ProfileNode[]
    samples: number[]
    timeDeltas: number[]
  }
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const self = new Map<string, number>()
  let total = 0
  let idle = 0
  prof.samples.forEach((id, i) => {
    const dt = Math.max(0, prof.timeDeltas[i] ?? 0)
    const n = byId.get(id)!
    const { functionName, url, lineNumber } = n.callFrame
    if (functionName === '(idle)') {
      idle += dt
      return
    }
    total += dt
    const where = url ? `${url.replace(`file://${REPO_ROOT}/`, '').replace(/^node:/, 'node:')}:${lineNumber + 1}` : ''
    const key = `${functionName || '(anonymous)'} ${where}`.trim()
    self.set(key, (self.get(key) ?? 0) + dt)
  })
  const lines = [
    `profile ${path.basename(file)}: ${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle; self time of the busy part:`,
  ]
  for (const [key, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top))
    lines.push(`  ${((t / total) * 100).toFixed(1).padStart(5)} %  ${key}`)
  // Grouped: where the time goes, by source.
  const groups = new Map<string, number>()
  for (const [key, t] of self) {
    const g = key.includes('src/tracker/')
      ? 'Seedcast tracker code (src/tracker)'
      : key.includes('node:_http') || key.includes('node:http')
        ? 'node:http (JS)'
        : key.includes('node:net') || key.includes('node:stream') || key.includes('node:internal/streams')
          ? 'node:net / streams (JS)'
          : key.startsWith('(garbage collector)')
            ? 'GC'
            : key.startsWith('(program)')
              ? '(program): native, incl. syscalls'
              : key.includes('node:')
                ? 'other node: internals'
                : 'other'
    groups.set(g, (groups.get(g) ?? 0) + t)
  }
  lines.push('  grouped:')
  for (const [g, t] of [...groups].sort((a, b) => b[1] - a[1]))
    lines.push(`  ${((t / total) * 100).toFixed(1).padStart(5)} %  ${g}`)
  return lines
}
