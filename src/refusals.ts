// Refusals counted outside the tracker (which has its own counters): every bound that bites on
// something a stranger sent is counted here by name and shows in /metrics, so an admin can see an
// attack being refused. Names are short snake_case, e.g. `web_connections_per_address`.
// The seeder keeps one too (typed with its own bound names) and sends its snapshot over IPC.
import { metricFamily } from './metricsText.ts'

export class Refusals<B extends string = string> {
  private readonly counts = new Map<B, number>()

  add(bound: B, n = 1): void {
    this.counts.set(bound, (this.counts.get(bound) ?? 0) + n)
  }

  get(bound: B): number {
    return this.counts.get(bound) ?? 0
  }

  /** Bound -> count. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts)
  }

  /** Prometheus text; `extra` merges counts kept elsewhere (the seeder reports its own over IPC). */
  metricsText(extra: Record<string, number> = {}): string {
    const all = new Map<string, number>(this.counts)
    for (const [k, v] of Object.entries(extra)) all.set(k, (all.get(k) ?? 0) + v)
    const samples = [...all]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([bound, n]): [string, number] => [`bound="${bound}"`, n])
    const help = 'Requests, connections or messages refused by a bound, by bound.'
    return metricFamily('seedcast_refused_total', 'counter', help, samples)
  }
}
