import type { HistoryMetric, HistorySeries } from './fleet-contract'

/**
 * One point of server-side history, with the busiest routes as `[route, rps, p95, errorRate,
 * count]`: a single process's rolling 1-minute numbers at that moment, or a fleet's merged view
 * (its 10 s points one interval each, its 1-minute points made from the minute's 10 s points).
 */
export interface HistoryPoint {
  at: number
  rps: number
  p50: number
  p95: number
  p99: number
  errorRate: number
  s2xx: number
  s3xx: number
  s4xx: number
  s5xx: number
  cacheHitRatio: number
  eventLoopP99: number
  cpu: number
  heapUsed: number
  rss: number
  coverage: number
  routes: Array<[string, number, number, number, number]>
}

/** 10 s points for the last hour, 1 min points for the last day. */
export const HISTORY_STEPS = { '1h': { step: 10, points: 360 }, '1d': { step: 60, points: 1440 } } as const

/** Routes kept per point. */
export const HISTORY_ROUTES = 50

export const HISTORY_METRICS: readonly HistoryMetric[] = [
  'rps',
  'p50',
  'p95',
  'p99',
  'errorRate',
  's2xx',
  's3xx',
  's4xx',
  's5xx',
  'cacheHitRatio',
  'eventLoopP99',
  'cpu',
  'heapUsed',
  'rss',
]

export function isHistoryMetric(value: unknown): value is HistoryMetric {
  return typeof value === 'string' && (HISTORY_METRICS as readonly string[]).includes(value)
}

/** Reads one metric (of everything, or of one route) out of points. */
export function historySeries(
  points: ReadonlyArray<HistoryPoint | null>,
  metric: HistoryMetric,
  route: string | null,
  window: '1h' | '1d',
  markers: Array<{ at: number; label: string }>,
): HistorySeries {
  const out: Array<[number, number]> = []
  for (const p of points) {
    if (p === null) continue
    if (route === null) {
      const v = p[metric]
      if (typeof v === 'number') out.push([p.at, v])
      continue
    }
    const r = p.routes.find((x) => x[0] === route)
    if (!r) continue
    const v = metric === 'rps' ? r[1] : metric === 'p95' ? r[2] : metric === 'errorRate' ? r[3] : undefined
    if (v !== undefined) out.push([p.at, v])
  }
  return { metric, route, window, step: HISTORY_STEPS[window].step, points: out, markers }
}

/** A bounded ring of points, oldest dropped first: memory is fixed by its capacity. */
export class HistoryRing {
  private readonly items: Array<HistoryPoint | undefined>
  private next = 0
  private size = 0
  readonly capacity: number

  constructor(capacity: number) {
    this.capacity = capacity
    this.items = new Array(capacity)
  }

  push(p: HistoryPoint): void {
    this.items[this.next] = p
    this.next = (this.next + 1) % this.capacity
    if (this.size < this.capacity) this.size++
  }

  toArray(): HistoryPoint[] {
    const out: HistoryPoint[] = []
    for (let i = 0; i < this.size; i++) {
      const p = this.items[(this.next - this.size + i + this.capacity) % this.capacity]
      if (p) out.push(p)
    }
    return out
  }
}
