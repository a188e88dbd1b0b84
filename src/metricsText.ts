// The Prometheus text format of /metrics, in one place: a family's HELP and TYPE lines, then its
// samples. The tracker's counters, the refusals and the web port's gauge all write through it.
export type MetricType = 'counter' | 'gauge'

/** One family's text, each line ended; each sample is [its labels without braces ('' for none), its value]. */
export function metricFamily(name: string, type: MetricType, help: string, samples: [string, number][]): string {
  const lines = [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples.map(([labels, value]) => `${name}${labels ? `{${labels}}` : ''} ${value}`),
  ]
  return lines.join('\n') + '\n'
}
