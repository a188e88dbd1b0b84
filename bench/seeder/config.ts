// The seeder benchmark's settings, from the environment (see bench/seeder.ts).
import { envList, envNumber, GiB, MiB } from '../lib/format.ts'

export type Engine = 'lean' | 'webtorrent'
export type Source = Engine | 'libtorrent'

export const SMALL_BYTES = MiB
export const UPLOAD_CONCURRENCY = 4
export const TARGET_RATIO = 1.0
export const TARGET_RSS_1000_MB = 300
export const TARGET_IDLE_CPU_PCT = 5
export const TARGET_FIRST_BYTE_MS = 5000

function envCounts(): number[] {
  const raw = process.env.BENCH_COUNTS
  if (raw === undefined || raw.trim() === '') return [1, 100, 1000]
  const counts = raw.split(',').map((s) => Number(s.trim()))
  if (counts.some((n, i) => !Number.isSafeInteger(n) || n < 1 || (i > 0 && n <= counts[i - 1]!))) {
    throw new Error(`BENCH_COUNTS=${JSON.stringify(raw)}: expected increasing whole numbers ≥ 1, e.g. 1,100,1000`)
  }
  return counts
}

function envEngines(): Engine[] {
  const engines = envList('BENCH_ENGINES', ['lean', 'webtorrent'])
  if (
    !engines.length ||
    engines.some((e) => e !== 'lean' && e !== 'webtorrent') ||
    new Set(engines).size !== engines.length
  ) {
    throw new Error(
      `BENCH_ENGINES=${JSON.stringify(process.env.BENCH_ENGINES)}: expected lean and/or webtorrent, e.g. lean,webtorrent`,
    )
  }
  return engines as Engine[]
}

export interface SeederBenchConfig {
  bigBytes: number
  counts: number[]
  idleSeconds: number
  rescanSeconds: number
  /** The first one is the one the targets apply to. */
  engines: Engine[]
  rounds: number
}

export function readConfig(): SeederBenchConfig {
  return {
    bigBytes: envNumber('BENCH_BIG_BYTES', GiB, { integer: true, min: MiB }),
    counts: envCounts(),
    idleSeconds: envNumber('BENCH_IDLE_SECONDS', 30, { integer: true, min: 1 }),
    rescanSeconds: envNumber('BENCH_RESCAN_SECONDS', 30, { integer: true, min: 1 }),
    engines: envEngines(),
    rounds: envNumber('BENCH_ROUNDS', 2, { integer: true, min: 1 }),
  }
}
