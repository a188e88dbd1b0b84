// The video page's swarm chart as a pure function: geometry, the empty state, gaps, and that
// nothing but numbers and fixed words can reach the markup.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { renderSwarmChart, yScale, type ChartPoint } from '../../src/web/swarmChart.ts'

const HOUR = 3_600_000
const DAY = 24 * HOUR
const NOW = Date.UTC(2025, 5, 30, 12, 0, 0)
const SIZE = { width: 400, height: 150 }
// Plot area as laid out by the renderer: left 30, right 10, top 10, bottom 22.
const PLOT = { left: 30, right: 390, top: 10, bottom: 128 }

const day = (points: ChartPoint[], extra: Partial<Parameters<typeof renderSwarmChart>[1]> = {}) =>
  renderSwarmChart(points, { ...SIZE, rangeMs: DAY, now: NOW, ...extra })

const tags = (svg: string) => new Set([...svg.matchAll(/<\/?([a-zA-Z][\w-]*)/g)].map((m) => m[1]))
const seriesGroup = (svg: string, key: string) =>
  new RegExp(`<g class="series ${key}"[^>]*>(.*?)</g>`).exec(svg)?.[1] ?? ''
/** Path commands of a series as [command, x, y]. */
const pathOf = (svg: string, key: string) =>
  [...(/d="([^"]*)"/.exec(seriesGroup(svg, key))?.[1] ?? '').matchAll(/([ML])([\d.-]+) ([\d.-]+)/g)].map(
    (m) => [m[1], Number(m[2]), Number(m[3])] as const,
  )

describe('renderSwarmChart', () => {
  test('no samples: the axis and "no data yet", no series', () => {
    const svg = day([])
    assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"') && svg.endsWith('</svg>'))
    assert.match(svg, />no data yet</)
    assert.doesNotMatch(svg, /<path|<circle/)
    assert.match(svg, /viewBox="0 0 400 150"/)
    assert.match(svg, /aria-label="Swarm size over the last 24 hours"/)
  })

  test('samples outside the range count as none', () => {
    const svg = day([
      { at: NOW - DAY - 1, seeders: 3, leechers: 1 },
      { at: NOW + HOUR, seeders: 3, leechers: 1 },
    ])
    assert.match(svg, /no data yet/)
  })

  test('two series placed on time and count: start of range at the left, now at the right, the maximum at the top', () => {
    const points = [0, 1, 2, 3, 4].map((i) => ({ at: NOW - DAY + i * 6 * HOUR, seeders: i, leechers: 4 - i }))
    const svg = day(points, { maxGapMs: 7 * HOUR })
    assert.doesNotMatch(svg, /no data yet/)
    const seeders = pathOf(svg, 'seeders')
    const leechers = pathOf(svg, 'leechers')
    assert.equal(seeders.length, 5)
    assert.deepEqual(
      seeders.map((p) => p[0]),
      ['M', 'L', 'L', 'L', 'L'],
    )
    assert.deepEqual([seeders[0]![1], seeders[4]![1]], [PLOT.left, PLOT.right])
    assert.equal(seeders[2]![1], (PLOT.left + PLOT.right) / 2)
    // y axis top is 4: seeders climb from the bottom to the top, leechers the other way.
    assert.deepEqual([seeders[0]![2], seeders[4]![2]], [PLOT.bottom, PLOT.top])
    assert.deepEqual([leechers[0]![2], leechers[4]![2]], [PLOT.top, PLOT.bottom])
    assert.match(seriesGroup(svg, 'seeders') + svg, /stroke="#12805c"/)
    // Grid labels 0..4 and the time labels.
    for (const label of ['0', '1', '2', '3', '4', '24 h ago', '12 h ago', 'now'])
      assert.match(svg, new RegExp(`>${label}</text>`), label)
  })

  test('the 30-day range labels days', () => {
    const svg = renderSwarmChart([], { ...SIZE, rangeMs: 30 * DAY, now: new Date(NOW) })
    for (const label of ['30 d ago', '15 d ago', 'now']) assert.match(svg, new RegExp(`>${label}</text>`), label)
    assert.match(svg, /over the last 30 days/)
  })

  test('a long gap (the site was down) breaks the line; a lone sample is a dot', () => {
    const points = [
      { at: NOW - 20 * HOUR, seeders: 1, leechers: 0 },
      { at: NOW - 20 * HOUR + 5 * 60_000, seeders: 2, leechers: 0 },
      // 10 hours of nothing
      { at: NOW - 10 * HOUR, seeders: 2, leechers: 1 },
      { at: NOW - 10 * HOUR + 5 * 60_000, seeders: 1, leechers: 1 },
      // and a last lone one
      { at: NOW - HOUR, seeders: 5, leechers: 2 },
    ]
    const svg = day(points)
    assert.deepEqual(
      pathOf(svg, 'seeders').map((p) => p[0]),
      ['M', 'L', 'M', 'L'],
    )
    assert.equal((seriesGroup(svg, 'seeders').match(/<circle/g) ?? []).length, 1)
    // With a larger allowed gap, one line through all five.
    assert.deepEqual(
      pathOf(day(points, { maxGapMs: 11 * HOUR }), 'seeders').map((p) => p[0]),
      ['M', 'L', 'L', 'L', 'L'],
    )
  })

  test('unsorted input is drawn in time order', () => {
    const points = [
      { at: NOW - HOUR, seeders: 1, leechers: 0 },
      { at: NOW - 2 * HOUR, seeders: 0, leechers: 0 },
    ]
    const xs = pathOf(day(points, { maxGapMs: 2 * HOUR }), 'seeders').map((p) => p[1])
    assert.ok(xs[0]! < xs[1]!, `x in order: ${xs}`)
  })

  test('only numbers reach the markup: hostile values are dropped or neutralised', () => {
    const hostile = '"><script>alert(1)</script><x a="'
    const svg = renderSwarmChart(
      [
        { at: NOW - HOUR, seeders: hostile as unknown as number, leechers: 1 },
        { at: hostile as unknown as number, seeders: 1, leechers: 1 },
        { at: NOW - 2 * HOUR, seeders: 2, leechers: '3' as unknown as number },
        { at: NOW - 3 * HOUR, seeders: Number.NaN, leechers: -1 },
        { at: NOW - 4 * HOUR, seeders: Infinity, leechers: 1 },
      ],
      {
        width: hostile as unknown as number,
        height: '1e400' as unknown as number,
        rangeMs: hostile as unknown as number,
        now: NOW,
        maxGapMs: hostile as unknown as number,
      },
    )
    assert.doesNotMatch(svg, /script|alert|<x|Infinity|NaN|e\+/)
    assert.deepEqual([...tags(svg)].sort(), ['circle', 'g', 'line', 'svg', 'text'])
    // Every attribute value is a number, a colour, or one of the renderer's own words.
    for (const m of svg.matchAll(/ ([\w-]+)="([^"]*)"/g)) {
      assert.match(m[2]!, /^(?:[\d. -]+|#[0-9a-f]{6}|[\w ,:/.-]+)$/, `${m[1]}="${m[2]}"`)
    }
    // Only the one valid sample (2 seeders, "3" leechers as a number) is drawn.
    assert.equal((svg.match(/<circle/g) ?? []).length, 2)
  })
})

describe('yScale', () => {
  test('a round top with at most four steps of 1, 2 or 5 × 10^k', () => {
    const cases: [number, number, number][] = [
      [0, 1, 1],
      [1, 1, 1],
      [3, 3, 1],
      [4, 4, 1],
      [5, 6, 2],
      [7, 8, 2],
      [13, 15, 5],
      [20, 20, 5],
      [21, 30, 10],
      [101, 150, 50],
      [999, 1000, 500],
    ]
    for (const [max, top, step] of cases) assert.deepEqual(yScale(max), { top, step }, `max ${max}`)
    for (let max = 1; max < 5000; max += 7) {
      const { top, step } = yScale(max)
      assert.ok(top >= max && top / step <= 4 && Number.isInteger(top / step), `max ${max}: ${top}/${step}`)
    }
  })
})
