// The dashboard's chart: bytes the origin sent and bytes peers served, per bucket, as SVG (the
// swarm chart's renderer, with a byte axis in the unit the largest bucket reads best in).
import { renderLineChart, type ChartSeries } from '../web/swarmChart.ts'
import { byteUnit } from '../web/viewHelpers.ts'
import type { OffloadPoint } from './offloadService.ts'

const SERIES: readonly ChartSeries<'originBytes' | 'peerBytes'>[] = [
  { key: 'originBytes', label: 'From this site', color: '#b54708' },
  { key: 'peerBytes', label: 'From peers', color: '#12805c' },
]

export function renderOffloadChart(
  points: readonly OffloadPoint[],
  opts: { width: number; height: number; rangeMs: number; now: number; bucketMs: number },
): string {
  const max = Math.max(0, ...points.map((p) => Math.max(p.originBytes, p.peerBytes)))
  const { divisor, unit } = byteUnit(max)
  return renderLineChart(points, SERIES, {
    ...opts,
    // Every bucket is a point (zeros included): join neighbours, never draw dots for a run.
    maxGapMs: 2 * opts.bucketMs,
    className: 'offload-chart',
    ariaLabel: 'Bytes sent by this site and by peers',
    yDivisor: divisor,
    ySuffix: ` ${unit}`,
    padLeft: 58,
  })
}
