// Line charts over a time range as SVG strings: the video page's swarm chart (seeders and
// downloaders) and the offload dashboard's (bytes from the origin and from peers). Pure. Only
// numbers and the caller's fixed words go into the markup (every input is passed through
// Number()), so it needs no escaping and is safe to inline in a page.

export interface ChartPoint {
  at: number | Date
  seeders: number
  leechers: number
}

export interface ChartOptions {
  width: number
  height: number
  /** The chart spans [now - rangeMs, now]. */
  rangeMs: number
  now: number | Date
  /** Samples further apart than this are not joined by a line (the site was down); default rangeMs / 48. */
  maxGapMs?: number
}

/** One line: `key` names the point field it plots and its class in the markup. */
export interface ChartSeries<K extends string> {
  key: K
  label: string
  color: string
}

/** A generic chart's words and y axis, all chosen by the caller (fixed text, never user input). */
interface LineChartOptions extends ChartOptions {
  className: string
  /** "… over the last 24 hours" is appended. */
  ariaLabel: string
  /** Values are divided by this for the axis (e.g. 1024² to label MiB); default 1. */
  yDivisor?: number
  /** Appended to each y label, e.g. " MiB". */
  ySuffix?: string
  /** Room for the y labels; default 30 px. */
  padLeft?: number
}

const CHART_SERIES = [
  { key: 'seeders', label: 'Seeders', color: '#12805c' },
  { key: 'leechers', label: 'Downloaders', color: '#0b6bcb' },
] as const

const PAD = { left: 30, right: 10, top: 10, bottom: 22 }
const MUTED = '#5d6b78'
const GRID = '#e3e6ea'
const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/** Rounded to a tenth of a pixel: short output, and never a NaN or an exponent in the markup. */
const n = (v: number): string => (Number.isFinite(v) ? String(Math.round(v * 10) / 10) : '0')

const count = (v: unknown): number | null => {
  const x = Number(v)
  return Number.isFinite(x) && x >= 0 ? Math.round(x) : null
}

/** A round top for the y axis and a step giving at most four intervals: 1, 2, 5 × 10^k. */
export function yScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 1 }
  for (let magnitude = 1; ; magnitude *= 10) {
    for (const m of [1, 2, 5]) {
      const step = m * magnitude
      if (Math.ceil(max / step) <= 4) return { top: Math.ceil(max / step) * step, step }
    }
  }
}

function ago(ms: number): string {
  if (ms <= 0) return 'now'
  return ms >= 2 * DAY_MS ? `${n(ms / DAY_MS)} d ago` : `${n(ms / HOUR_MS)} h ago`
}

function rangeLabel(ms: number): string {
  return ms >= 2 * DAY_MS ? `${n(ms / DAY_MS)} days` : `${n(ms / HOUR_MS)} hours`
}

/** A finite number in [min, max], else the fallback. */
function within(v: unknown, min: number, max: number, fallback: number): number {
  const x = Number(v instanceof Date ? v.getTime() : v)
  return Number.isFinite(x) && x >= min && x <= max ? x : fallback
}

export function renderSwarmChart(points: readonly ChartPoint[], opts: ChartOptions): string {
  return renderLineChart(points, CHART_SERIES, { ...opts, className: 'swarm-chart', ariaLabel: 'Swarm size' })
}

export function renderLineChart<K extends string>(
  points: readonly ({ at: number | Date } & Record<K, number>)[],
  series: readonly ChartSeries<K>[],
  opts: LineChartOptions,
): string {
  const width = Math.round(within(opts.width, 120, 4000, 480))
  const height = Math.round(within(opts.height, 60, 2000, 140))
  const rangeMs = within(opts.rangeMs, 1, 3650 * DAY_MS, DAY_MS)
  const now = within(opts.now, 0, Number.MAX_SAFE_INTEGER, 0)
  const maxGapMs = within(opts.maxGapMs, 1, Number.MAX_SAFE_INTEGER, rangeMs / 48)
  const start = now - rangeMs
  const divisor = within(opts.yDivisor, 1, Number.MAX_SAFE_INTEGER, 1)
  const padLeft = Math.round(within(opts.padLeft, 0, 200, PAD.left))
  const plot = { x: padLeft, y: PAD.top, w: width - padLeft - PAD.right, h: height - PAD.top - PAD.bottom }

  const clean = points
    .map((p) => {
      const values = {} as Record<K, number>
      let ok = true
      for (const s of series) {
        const v = count(p[s.key])
        if (v === null) ok = false
        else values[s.key] = v / divisor
      }
      return ok ? { at: Number(p.at instanceof Date ? p.at.getTime() : p.at), values } : null
    })
    .filter((p): p is { at: number; values: Record<K, number> } => p !== null)
    .filter((p) => Number.isFinite(p.at) && p.at >= start && p.at <= now)
    .sort((a, b) => a.at - b.at)

  const x = (at: number) => plot.x + ((at - start) / rangeMs) * plot.w
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="${opts.className}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${opts.ariaLabel} over the last ${rangeLabel(rangeMs)}">`,
  )
  out.push(`<g font-family="system-ui, sans-serif" font-size="11" fill="${MUTED}">`)
  // Time axis: start, middle, now.
  for (const [at, anchor] of [
    [start, 'start'],
    [start + rangeMs / 2, 'middle'],
    [now, 'end'],
  ] as const) {
    out.push(`<text x="${n(x(at))}" y="${n(height - 6)}" text-anchor="${anchor}">${ago(now - at)}</text>`)
  }

  if (clean.length === 0) {
    out.push(
      `<line x1="${n(plot.x)}" y1="${n(plot.y + plot.h)}" x2="${n(plot.x + plot.w)}" y2="${n(plot.y + plot.h)}" stroke="${GRID}"/>`,
    )
    out.push(
      `<text class="empty" x="${n(plot.x + plot.w / 2)}" y="${n(plot.y + plot.h / 2)}" text-anchor="middle" font-size="13">no data yet</text>`,
    )
    out.push('</g></svg>')
    return out.join('')
  }

  const { top, step } = yScale(Math.max(...clean.map((p) => Math.max(...series.map((s) => p.values[s.key])))))
  const suffix = opts.ySuffix ?? ''
  const y = (v: number) => plot.y + plot.h - (v / top) * plot.h
  for (let v = 0; v <= top; v += step) {
    out.push(`<line x1="${n(plot.x)}" y1="${n(y(v))}" x2="${n(plot.x + plot.w)}" y2="${n(y(v))}" stroke="${GRID}"/>`)
    out.push(`<text x="${n(plot.x - 6)}" y="${n(y(v) + 4)}" text-anchor="end">${n(v)}${suffix}</text>`)
  }
  out.push('</g>')

  for (const s of series) {
    // Runs of samples close enough to join; a lone sample is a dot.
    let d = ''
    const dots: string[] = []
    let runStart = -1
    for (let i = 0; i < clean.length; i++) {
      const p = clean[i]!
      const joined = i > 0 && p.at - clean[i - 1]!.at <= maxGapMs
      const lone = !joined && !(i + 1 < clean.length && clean[i + 1]!.at - p.at <= maxGapMs)
      if (!joined) runStart = i
      if (lone) dots.push(`<circle cx="${n(x(p.at))}" cy="${n(y(p.values[s.key]))}" r="2"/>`)
      else d += `${i === runStart ? 'M' : 'L'}${n(x(p.at))} ${n(y(p.values[s.key]))}`
    }
    out.push(`<g class="series ${s.key}" stroke="${s.color}" fill="${s.color}">`)
    if (d) out.push(`<path d="${d}" fill="none" stroke-width="1.5" stroke-linejoin="round"/>`)
    out.push(...dots)
    out.push('</g>')
  }
  out.push('</svg>')
  return out.join('')
}
