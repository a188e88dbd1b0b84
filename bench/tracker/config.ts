// The tracker benchmark's settings, from the environment (see bench/tracker.ts).
import { envList, envNumber } from '../lib/format.ts'

export const SECONDS = envNumber('BENCH_SECONDS', 10)
export const WARMUP_SECONDS = envNumber('BENCH_WARMUP_SECONDS', 2)
export const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 2))
export const CONNS = envList('BENCH_CONNS', ['16', '64']).map(Number)
export const UDP_INFLIGHT = Math.round(envNumber('BENCH_UDP_INFLIGHT', 256))
export const UDP_CLIENTS = Math.round(envNumber('BENCH_UDP_CLIENTS', 64))
export const UDP_PROCS = Math.round(envNumber('BENCH_UDP_PROCS', 1))
export const SERVER_CPU = process.env.BENCH_SERVER_CPU ?? '0'
export const LOAD_CPU = process.env.BENCH_LOAD_CPU ?? '1'
export const ALL_TRACKERS = ['seedcast', 'bittorrent-tracker', 'opentracker'] as const
export type TrackerName = (typeof ALL_TRACKERS)[number]
export type Transport = 'http' | 'udp'
export const TRACKERS = envList('BENCH_TRACKERS', [...ALL_TRACKERS]) as TrackerName[]
export const TRANSPORTS = envList('BENCH_TRANSPORTS', ['http', 'udp']) as Transport[]
for (const t of TRACKERS) if (!ALL_TRACKERS.includes(t)) throw new Error(`BENCH_TRACKERS: unknown tracker ${t}`)
for (const t of TRANSPORTS) if (t !== 'http' && t !== 'udp') throw new Error(`BENCH_TRANSPORTS: unknown transport ${t}`)
export const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean)
export const CLK_TCK = 100 // Linux USER_HZ; checked with getconf at start
export const TARGET_HTTP_RATIO = 0.5
