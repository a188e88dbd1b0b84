// The flash-crowd benchmark's settings, from the environment (see bench/crowd.ts).
import { CLIENT_KINDS, type ClientKind } from '../lib/crowd.ts'
import { envList, envNumber, MB, MiB, parseSize } from '../lib/format.ts'

export const TARGET_ORIGIN_RATIO = 1.25
export const TARGET_TIME_RATIO = 1.6

export interface CrowdConfig {
  clients: number
  bytes: number
  /** The origin's upload cap on the bridge, bytes per second. */
  capBytesPerSecond: number
  /** Client i runs mix[i % mix.length]; every kind in it also runs once alone. */
  mix: Exclude<ClientKind, 'http'>[]
  timeoutMs: number
  /** Whether to run the plain-HTTP comparison (BENCH_CROWD_HTTP=0 skips it while iterating). */
  http: boolean
}

function envMix(): Exclude<ClientKind, 'http'>[] {
  const mix = envList('BENCH_CROWD_MIX', ['aria2c', 'libtorrent'])
  const torrentKinds = CLIENT_KINDS.filter((k) => k !== 'http') as string[]
  if (!mix.length || mix.some((k) => !torrentKinds.includes(k)))
    throw new Error(
      `BENCH_CROWD_MIX=${JSON.stringify(process.env.BENCH_CROWD_MIX)}: expected ${torrentKinds.join(' and/or ')}, e.g. aria2c,libtorrent`,
    )
  return mix as Exclude<ClientKind, 'http'>[]
}

export function readConfig(): CrowdConfig {
  const clients = envNumber('BENCH_CROWD_CLIENTS', 10, { integer: true, min: 1 })
  if (clients > 200) throw new Error('BENCH_CROWD_CLIENTS: at most 200')
  const bytes = parseSize('BENCH_CROWD_BYTES', process.env.BENCH_CROWD_BYTES, 256 * MiB)
  const capBytesPerSecond = parseSize('BENCH_CROWD_CAP', process.env.BENCH_CROWD_CAP, 20 * MB, 100_000)
  // Plain HTTP sends the file N times through the cap: allow three times that, and two minutes.
  const dflt = Math.max(120, Math.ceil((3 * clients * bytes) / capBytesPerSecond))
  const timeoutMs = envNumber('BENCH_CROWD_TIMEOUT_SECONDS', dflt, { integer: true, min: 10 }) * 1000
  const http = process.env.BENCH_CROWD_HTTP !== '0'
  return { clients, bytes, capBytesPerSecond, mix: envMix(), timeoutMs, http }
}
