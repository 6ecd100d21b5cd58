import { type FleetView, HISTORY_ROUTES, type HistoryPoint } from '@hotpath/core'

/** A 10 s history point from a merged view (one interval) and the fresh snapshots' status rates. */
export function pointOf(view: FleetView, statusRps: Record<string, number>): HistoryPoint {
  const fresh = view.instances.filter((i) => !i.stale)
  const sum = (f: (i: (typeof fresh)[number]) => number) => fresh.reduce((n, i) => n + f(i), 0)
  const max = (f: (i: (typeof fresh)[number]) => number) => fresh.reduce((n, i) => Math.max(n, f(i)), 0)
  const cache = view.sources.cache
  const lookups = cache ? (cache.hits ?? 0) + (cache.misses ?? 0) + (cache.staleServed ?? 0) : 0
  return {
    at: view.at,
    rps: view.totals.rps,
    p50: view.totals.p50,
    p95: view.totals.p95,
    p99: view.totals.p99,
    errorRate: view.totals.count > 0 ? view.totals.errors / view.totals.count : 0,
    s2xx: statusRps['2xx'] ?? 0,
    s3xx: statusRps['3xx'] ?? 0,
    s4xx: statusRps['4xx'] ?? 0,
    s5xx: statusRps['5xx'] ?? 0,
    cacheHitRatio: lookups > 0 ? (cache?.hits ?? 0) / lookups : 0,
    eventLoopP99: max((i) => i.eventLoopP99),
    cpu: sum((i) => i.cpu),
    heapUsed: sum((i) => i.heapUsed),
    rss: sum((i) => i.rss),
    coverage: view.coverage.fresh,
    routes: view.routes
      .slice(0, HISTORY_ROUTES)
      .map((r) => [r.route, r.rps, r.p95, r.errorRate, r.count] as [string, number, number, number, number]),
  }
}

type RouteRow = HistoryPoint['routes'][number]

/**
 * A 1-minute point from that minute's 10 s points. Rates and gauges are their means over the
 * minute, counts their sums, the error rate the minute's errors over its requests, the event-loop
 * p99 the worst, the coverage the least. A minute's percentiles cannot be rebuilt from its
 * intervals' (their histograms are gone by then): each is the mean of the intervals' weighted by
 * their requests, so a busy interval counts for what it served, and an idle one for nothing.
 */
export function minuteOf(points: readonly HistoryPoint[], at: number): HistoryPoint | null {
  const n = points.length
  if (n === 0) return null
  const mean = (f: (p: HistoryPoint) => number) => points.reduce((a, p) => a + f(p), 0) / n
  // Requests of an interval in proportion: its rps (all intervals are as long).
  const total = points.reduce((a, p) => a + p.rps, 0)
  const weighted = (f: (p: HistoryPoint) => number) =>
    total > 0 ? points.reduce((a, p) => a + f(p) * p.rps, 0) / total : 0
  const routes = new Map<string, { rps: number; p95: number; errors: number; count: number }>()
  for (const p of points) {
    for (const [route, rps, p95, errorRate, count] of p.routes) {
      const r = routes.get(route) ?? { rps: 0, p95: 0, errors: 0, count: 0 }
      r.rps += rps
      r.p95 += p95 * count
      r.errors += errorRate * count
      r.count += count
      routes.set(route, r)
    }
  }
  const rows: RouteRow[] = [...routes]
    .map(
      ([route, r]): RouteRow => [
        route,
        r.rps / n,
        r.count > 0 ? r.p95 / r.count : 0,
        r.count > 0 ? r.errors / r.count : 0,
        r.count,
      ],
    )
    .sort((a, b) => b[4] - a[4] || (a[0] < b[0] ? -1 : 1))
    .slice(0, HISTORY_ROUTES)
  return {
    at,
    rps: total / n,
    p50: weighted((p) => p.p50),
    p95: weighted((p) => p.p95),
    p99: weighted((p) => p.p99),
    errorRate: weighted((p) => p.errorRate),
    s2xx: mean((p) => p.s2xx),
    s3xx: mean((p) => p.s3xx),
    s4xx: mean((p) => p.s4xx),
    s5xx: mean((p) => p.s5xx),
    cacheHitRatio: mean((p) => p.cacheHitRatio),
    eventLoopP99: Math.max(...points.map((p) => p.eventLoopP99)),
    cpu: mean((p) => p.cpu),
    heapUsed: mean((p) => p.heapUsed),
    rss: mean((p) => p.rss),
    coverage: Math.min(...points.map((p) => p.coverage)),
    routes: rows,
  }
}
