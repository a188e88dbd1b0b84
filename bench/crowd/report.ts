// The flash-crowd benchmark's report: one row per run (each kind alone, the crowd, plain HTTP),
// then the two targets, met or missed.
import type { CrowdResult } from '../lib/crowd.ts'
import { fmtMB, fmtSec, markdownTable } from '../lib/format.ts'
import { TARGET_ORIGIN_RATIO, TARGET_TIME_RATIO, type CrowdConfig } from './config.ts'

export interface CrowdRuns {
  size: number
  pieceLength: number
  alone: Map<string, CrowdResult>
  crowd: CrowdResult
  /** Null when skipped (BENCH_CROWD_HTTP=0). */
  http: CrowdResult | null
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

function kindsOf(r: CrowdResult): string {
  const counts = new Map<string, number>()
  for (const c of r.clients) counts.set(c.kind, (counts.get(c.kind) ?? 0) + 1)
  return [...counts].map(([k, n]) => `${n} ${k}`).join(' + ')
}

/** Prints the tables; returns the targets missed. */
export function report(c: CrowdConfig, runs: CrowdRuns): string[] {
  const x = (bytes: number) => `${(bytes / runs.size).toFixed(2)} ×`
  const row = (name: string, r: CrowdResult, torrent = true): string[] => {
    const ms = r.clients.map((cl) => cl.ms)
    const peers = r.clients.reduce((sum, cl) => sum + cl.tx, 0)
    const received = r.clients.reduce((sum, cl) => sum + cl.rx, 0)
    return [
      name,
      kindsOf(r),
      `**${fmtSec(r.allMs)}**`,
      r.clients.length > 1 ? `${fmtSec(Math.min(...ms))} / ${fmtSec(median(ms))} / ${fmtSec(Math.max(...ms))}` : '',
      fmtMB(r.originBytes),
      `**${x(r.originBytes)}**`,
      torrent && received > 0 ? `${fmtMB(peers)} (${((peers / received) * 100).toFixed(0)} %)` : '–',
    ]
  }
  const rows = [
    ...[...runs.alone].map(([kind, r]) => row(`one ${kind} alone (torrent + web seed)`, r)),
    row('flash crowd (torrent + web seed)', runs.crowd),
    runs.http
      ? row('plain HTTP (aria2c on the file URL)', runs.http, false)
      : ['plain HTTP (aria2c on the file URL)', 'skipped', '', '', '', '', ''],
  ]
  for (const line of markdownTable(
    [
      'run',
      'clients',
      'all done',
      'per client: first / median / last',
      'origin sent',
      'origin ÷ file',
      'peers sent (share of all received)',
    ],
    rows,
  ))
    console.log(line)

  const [slowKind, slowAlone] = [...runs.alone].reduce((a, b) => (b[1].allMs > a[1].allMs ? b : a))
  const originRatio = runs.crowd.originBytes / runs.size
  const timeRatio = runs.crowd.allMs / slowAlone.allMs
  const targets: [string, string, boolean][] = [
    [
      `origin sends ≤ ${TARGET_ORIGIN_RATIO} × the file to the crowd`,
      `${originRatio.toFixed(2)} × (plain HTTP: ${runs.http ? x(runs.http.originBytes) : 'skipped'})`,
      originRatio <= TARGET_ORIGIN_RATIO,
    ],
    [
      `all ${c.clients} done ≤ ${TARGET_TIME_RATIO} × one client alone`,
      `${timeRatio.toFixed(2)} × (${fmtSec(runs.crowd.allMs)} vs ${fmtSec(slowAlone.allMs)}, ${slowKind} alone, the slower kind; plain HTTP: ${runs.http ? `${(runs.http.allMs / slowAlone.allMs).toFixed(2)} ×` : 'skipped'})`,
      timeRatio <= TARGET_TIME_RATIO,
    ],
  ]
  console.log('')
  for (const line of markdownTable(
    ['target', 'measured', ''],
    targets.map(([t, m, ok]) => [t, m, ok ? 'met' : '**missed**']),
  ))
    console.log(line)
  console.log('')
  console.log(
    `File ${fmtMB(runs.size)} (${runs.pieceLength / 1024} KiB pieces); origin upload capped at ${fmtMB(c.capBytesPerSecond)}/s ` +
      '(tc tbf on its veth). Bytes are what the veths sent on the bridge, TCP/IP headers (and ACKs) included. ' +
      'Clients keep seeding until the last one is done.',
  )
  return targets.filter(([, , ok]) => !ok).map(([t, m]) => `${t}: ${m}`)
}
