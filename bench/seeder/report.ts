// The seeder benchmark's report: one row per metric, one column per engine, the first engine
// against the second, and the target (which applies to the first engine).
import { fmtMB, fmtSec, GiB, markdownTable, MB, rate, ratio } from '../lib/format.ts'
import { kbToBytes } from '../lib/procfs.ts'
import {
  TARGET_FIRST_BYTE_MS,
  TARGET_IDLE_CPU_PCT,
  TARGET_RATIO,
  TARGET_RSS_1000_MB,
  type Engine,
  type Source,
} from './config.ts'
import type { DownloadResult, Transfer } from './download.ts'
import type { EngineLoad } from './load.ts'

/** Prints the table and notes; returns the targets missed. */
export function report(
  dl: DownloadResult,
  loads: Map<Engine, EngineLoad>,
  engines: Engine[],
  rescanSeconds: number,
  shm: string,
): string[] {
  const yes = 'yes'
  const no = '**NO**'
  const [main, other] = engines as [Engine, Engine | undefined]
  const best = (xs: Transfer[], key: 'transferMs' | 'wallMs') => Math.min(...xs.map((x) => x[key]))
  // The uTP runs fetch only the first dl.utpSize bytes (see utpDownload); the others the whole file.
  const sizeOf = (runs: Map<Source, Transfer[]>) => (runs === dl.utpRuns ? dl.utpSize : dl.size)
  const bestRate = (src: Source, runs = dl.runs) => rate(sizeOf(runs), best(runs.get(src)!, 'transferMs'))
  const wallRate = (src: Source) => rate(dl.size, best(dl.runs.get(src)!, 'wallMs'))
  const cpuPerGiB = (src: Source, runs = dl.runs) =>
    Math.min(...runs.get(src)!.map((x) => x.seederCpuMs)) / 1000 / (sizeOf(runs) / GiB)
  const lRate = bestRate('libtorrent')
  const fmtRuns = (src: Source, key: 'transferMs' | 'wallMs', runs = dl.runs) =>
    runs
      .get(src)!
      .map((x) => `${rate(sizeOf(runs), x[key]).toFixed(0)}`)
      .join(' / ') + ' MB/s'
  const cols = (f: (e: Engine) => string) => engines.map(f)
  const rows: string[][] = []
  const row = (metric: string, values: string[], r: string, target = '', pass = '') =>
    rows.push([metric, ...values, ...(other ? [r] : []), target, pass])

  row(
    '(a) File',
    cols(() => ''),
    '',
    `${fmtMB(dl.size)}, ${dl.pieceLength / 1024} KiB pieces; aria2c → ${shm} (tmpfs)`,
  )
  row(
    '(a) aria2c from the seeder, runs (first → last byte)',
    cols((e) => fmtRuns(e, 'transferMs')),
    '',
    `libtorrent ${dl.libtorrentVersion} (seed mode): ${fmtRuns('libtorrent', 'transferMs')}`,
  )
  row(
    '(a) Best throughput',
    cols((e) => `${bestRate(e).toFixed(0)} MB/s`),
    ratio(bestRate(main), other && bestRate(other)),
    `libtorrent: ${lRate.toFixed(0)} MB/s`,
  )
  const mainRatio = bestRate(main) / lRate
  row(
    '**(a) Throughput ratio ÷ libtorrent**',
    cols((e) => (bestRate(e) / lRate).toFixed(2)),
    '',
    `≥ ${TARGET_RATIO.toFixed(1)}`,
    mainRatio >= TARGET_RATIO ? yes : no,
  )
  row(
    '(a) Same on aria2c wall time (start-up, connect and exit included)',
    cols((e) => (wallRate(e) / wallRate('libtorrent')).toFixed(2)),
    '',
    `runs: ${[...dl.runs.keys()].map((k) => `${k} ${fmtRuns(k, 'wallMs')}`).join('; ')}`,
  )
  row(
    '(a) Seeder CPU time per GiB served (best run, utime+stime)',
    cols((e) => `${cpuPerGiB(e).toFixed(2)} s`),
    ratio(cpuPerGiB(main), other && cpuPerGiB(other)),
    `libtorrent: ${cpuPerGiB('libtorrent').toFixed(2)} s`,
  )
  // RC4 (aria2c requiring it): the first engine only, beside libtorrent in the same mode.
  const rc4 = dl.rc4Runs
  const only = (value: string) => cols((e) => (e === main ? value : ''))
  row(
    '(a) RC4 for the whole stream (aria2c --bt-require-crypto, arc4), runs',
    only(fmtRuns(main, 'transferMs', rc4)),
    '',
    `libtorrent: ${fmtRuns('libtorrent', 'transferMs', rc4)}`,
  )
  row(
    '(a) RC4: best throughput ÷ the same seeder in plaintext',
    only((bestRate(main, rc4) / bestRate(main)).toFixed(2)),
    '',
    `libtorrent: ${(bestRate('libtorrent', rc4) / lRate).toFixed(2)}`,
  )
  row(
    '(a) RC4: throughput ÷ libtorrent in RC4',
    only((bestRate(main, rc4) / bestRate('libtorrent', rc4)).toFixed(2)),
    '',
    `libtorrent: ${bestRate('libtorrent', rc4).toFixed(0)} MB/s`,
  )
  row(
    '(a) RC4: seeder CPU time per GiB served (best run)',
    only(`${cpuPerGiB(main, rc4).toFixed(2)} s`),
    '',
    `libtorrent: ${cpuPerGiB('libtorrent', rc4).toFixed(2)} s`,
  )
  // uTP (libtorrent downloading, uTP only both ways): the first engine beside libtorrent seeding over uTP.
  const utp = dl.utpRuns
  row(
    `(a) uTP (libtorrent downloading the first ${fmtMB(dl.utpSize)}, uTP only), runs`,
    only(fmtRuns(main, 'transferMs', utp)),
    '',
    `libtorrent: ${fmtRuns('libtorrent', 'transferMs', utp)}`,
  )
  row(
    '(a) uTP: throughput ÷ libtorrent seeding over uTP',
    only((bestRate(main, utp) / bestRate('libtorrent', utp)).toFixed(2)),
    '',
    `libtorrent: ${bestRate('libtorrent', utp).toFixed(0)} MB/s`,
  )
  row(
    '(a) uTP: seeder CPU time per GiB served (best run)',
    only(`${cpuPerGiB(main, utp).toFixed(2)} s`),
    '',
    `libtorrent: ${cpuPerGiB('libtorrent', utp).toFixed(2)} s`,
  )

  const points = (e: Engine) => loads.get(e)!.points
  const counts = points(main).map((p) => p.n)
  const missed: string[] = []
  counts.forEach((n, i) => {
    const isTarget = i === counts.length - 1 && n >= 1000
    const hwm = (e: Engine) => kbToBytes(points(e)[i]!.hwmKB) / MB
    const cpu = (e: Engine) => points(e)[i]!.cpuPct
    const how = (e: Engine) =>
      points(e)[i]!.seededMs ? ` (all seeded ${fmtSec(points(e)[i]!.seededMs)} after the uploads began)` : ''
    row(
      `(b) Seeder peak RSS (VmHWM), ${n} torrents`,
      cols((e) => `${hwm(e).toFixed(1)} MB (VmRSS ${fmtMB(kbToBytes(points(e)[i]!.rssKB))})${how(e)}`),
      ratio(hwm(main), other && hwm(other)),
      isTarget ? `< ${TARGET_RSS_1000_MB} MB` : '',
      isTarget ? (hwm(main) < TARGET_RSS_1000_MB ? yes : no) : '',
    )
    row(
      `(b) Seeder idle CPU, ${n} torrents (${points(main)[i]!.idleSeconds.toFixed(0)} s, rescan every ${rescanSeconds} s)`,
      cols((e) => `${cpu(e).toFixed(2)} % of one core`),
      ratio(cpu(main), other && cpu(other)),
      isTarget ? `< ${TARGET_IDLE_CPU_PCT} %` : '',
      isTarget ? (cpu(main) < TARGET_IDLE_CPU_PCT ? yes : no) : '',
    )
    if (isTarget && hwm(main) >= TARGET_RSS_1000_MB)
      missed.push(`peak RSS ${hwm(main).toFixed(1)} MB ≥ ${TARGET_RSS_1000_MB} MB at ${n} torrents`)
    if (isTarget && cpu(main) >= TARGET_IDLE_CPU_PCT)
      missed.push(`idle CPU ${cpu(main).toFixed(2)} % ≥ ${TARGET_IDLE_CPU_PCT} % at ${n} torrents`)
  })
  for (let i = 1; i < counts.length; i++) {
    const slope = (e: Engine, key: 'hwmKB' | 'rssKB') =>
      kbToBytes(points(e)[i]![key] - points(e)[i - 1]![key]) / (counts[i]! - counts[i - 1]!) / 1000
    row(
      `(b) Memory per torrent, ${counts[i - 1]} → ${counts[i]}`,
      cols((e) => `${slope(e, 'hwmKB').toFixed(0)} kB (VmHWM); ${slope(e, 'rssKB').toFixed(0)} kB (VmRSS)`),
      '',
    )
  }
  row(
    '(b) Site tracker by the end of (b): HTTP announces answered / refused by its rate limit',
    cols((e) => {
      const t = loads.get(e)!.tracker
      return t ? `${t.announces} / ${t.rateLimited}` : 'n/a'
    }),
    '',
  )
  loads.get(main)!.firstBytes.forEach((fb, i) => {
    const ms = (e: Engine) => loads.get(e)!.firstBytes[i]!.ms
    row(
      `**(c) Upload 201 → first block from the seeder, ${fb.alreadySeeded} torrents already seeded**`,
      cols((e) => `${fmtSec(ms(e))} (${loads.get(e)!.firstBytes[i]!.attempts} connection attempts)`),
      ratio(ms(main), other && ms(other)),
      `< ${TARGET_FIRST_BYTE_MS / 1000} s`,
      ms(main) < TARGET_FIRST_BYTE_MS ? yes : no,
    )
    if (ms(main) >= TARGET_FIRST_BYTE_MS)
      missed.push(`first block ${fmtSec(ms(main))} ≥ 5 s with ${fb.alreadySeeded} torrents seeded`)
  })
  if (mainRatio < TARGET_RATIO) missed.unshift(`throughput ratio ${mainRatio.toFixed(2)} < ${TARGET_RATIO}`)

  const header = ['Metric', ...engines, ...(other ? [`${main} ÷ ${other}`] : []), `Target (${main}) / note`, 'Pass']
  for (const line of markdownTable(header, rows)) console.log(line)
  console.log('')
  console.log('MB = 1,000,000 bytes. (a): same .torrent (site info dict, no web seed) for all; aria2c gets the one')
  console.log('seeder under test from a fixed-peer tracker; file in page cache; throughput = size ÷ (last − first byte')
  console.log(
    `landed on the tmpfs), aria2c checking SHA-1 as it goes; ${main} supervised by the server, ${other ?? '-'} standalone on`,
  )
  console.log('the same storage. (b): all torrents uploaded through POST /api/videos, one server per engine; CPU =')
  console.log('utime+stime of the seeder process. (c): bittorrent-protocol client on the seeder port, reconnecting')
  console.log('every 20 ms until served.')
  return missed
}
