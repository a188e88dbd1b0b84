// Number formatting and Markdown tables of the reports (pure).
// Units: MB = 1,000,000 bytes, MiB = 1,048,576 bytes.
export const MB = 1e6
export const MiB = 1024 * 1024
export const GiB = 1024 ** 3

export const fmtMB = (bytes: number): string => `${(bytes / MB).toFixed(1)} MB`
export const fmtSec = (ms: number): string => `${(ms / 1000).toFixed(2)} s`
/** MB per second. */
export const rate = (bytes: number, ms: number): number => bytes / MB / (ms / 1000)
export const fmtRate = (bytes: number, ms: number): string => `${rate(bytes, ms).toFixed(0)} MB/s`
export const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US')
/** A duration in microseconds, as ms (two decimals below 10 ms). */
export const fmtMs = (us: number): string =>
  us >= 10_000 ? `${(us / 1000).toFixed(0)} ms` : `${(us / 1000).toFixed(2)} ms`
const fmtPct = (x: number): string => `${x.toFixed(0)} %`
export const fmtCpu = (x: number | null): string => (x === null ? '?' : fmtPct(x))
/** a ÷ b with two decimals; '' when b is missing or 0. */
export const ratio = (a: number, b: number | undefined): string =>
  b === undefined || b === 0 ? '' : (a / b).toFixed(2)
/** A fraction as a whole percentage; '–' when unknown. */
export const fmtRatioPct = (x: number | undefined): string => (x === undefined ? '–' : `${(x * 100).toFixed(0)} %`)

/** A Markdown table: header row, separator, one line per row. */
export function markdownTable(header: string[], rows: string[][]): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---|').join('')}`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ]
}

/** A byte count such as 2147483648, 512MiB, 1GiB or 1.5GB; `dflt` when unset. */
export function parseSize(name: string, raw: string | undefined, dflt: number, min = MiB): number {
  if (raw === undefined || raw.trim() === '') return dflt
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?)?\s*$/i.exec(raw)
  if (!m) throw new Error(`${name}=${JSON.stringify(raw)}: expected a byte count such as 2147483648, 512MiB or 2GiB`)
  const unit = (m[2] ?? '').toLowerCase()
  const factor = unit.startsWith('k')
    ? unit.includes('i')
      ? 1024
      : 1e3
    : unit.startsWith('m')
      ? unit.includes('i')
        ? MiB
        : MB
      : unit.startsWith('g')
        ? unit.includes('i')
          ? GiB
          : 1e9
        : 1
  const bytes = Math.round(Number(m[1]) * factor)
  if (!Number.isSafeInteger(bytes) || bytes < min)
    throw new Error(`${name} must be at least ${min} bytes (got ${bytes})`)
  return bytes
}

/** A number from the environment: `dflt` when unset; whole and ≥ min when asked, else > 0. */
export function envNumber(
  name: string,
  dflt: number,
  opts: { integer?: boolean; min?: number } = {},
  env = process.env,
): number {
  const raw = env[name]
  if (raw === undefined || raw.trim() === '') return dflt
  const n = Number(raw)
  if (opts.integer) {
    const min = opts.min ?? 1
    if (!Number.isSafeInteger(n) || n < min)
      throw new Error(`${name}=${JSON.stringify(raw)}: expected a whole number ≥ ${min}`)
  } else if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`${name}=${JSON.stringify(raw)}: expected a positive number`)
  }
  return n
}

/** A comma-separated list from the environment; `dflt` when unset. */
export function envList(name: string, dflt: string[], env = process.env): string[] {
  const raw = env[name]
  return raw
    ? raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : dflt
}
