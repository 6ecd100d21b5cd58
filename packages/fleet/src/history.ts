import { type FleetView, HISTORY_ROUTES, type HistoryPoint } from '@hotpath/core'

/** A history point from a merged view and the fresh snapshots' status rates. */
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
