import type { Insight, ProfilerOverview, QueryReport, RouteLatency } from '@hotpath/core'

/** Below this many requests in the window a route's numbers are noise, not a finding. */
export const MIN_SAMPLES = 5
const SLOW_WARNING_MS = 500
const SLOW_CRITICAL_MS = 1000
/** p99 this many times p50, and at least this slow, is a tail worth looking at. */
const TAIL_RATIO = 10
const TAIL_MIN_MS = 100
const ERROR_WARNING = 0.05
const ERROR_CRITICAL = 0.25
const QUERIES_PER_REQUEST = 5
const LOOP_WARNING_MS = 100
const LOOP_CRITICAL_MS = 500
/** A route this slow at p95 with an N+1 on it: the N+1 is the first thing to fix there. */
const SLOW_ROUTE_MS = 100
const POOL_SATURATED_MS = 50
const POOL_SATURATED_SHARE = 0.05
const POOL_WAIT_MS = 5

/** Rule-based findings over one window of route latencies, the query report and the runtime. */
export function findInsights(
  routes: readonly RouteLatency[],
  queries: QueryReport,
  overview: ProfilerOverview,
  window: string,
  nPlusOneThreshold: number,
): Insight[] {
  const out: Insight[] = []
  for (const r of routes) {
    if (r.count < MIN_SAMPLES) continue
    if (r.mean > SLOW_WARNING_MS) {
      out.push({
        id: 'slow-endpoint',
        severity: r.mean > SLOW_CRITICAL_MS ? 'critical' : 'warning',
        source: 'profiler',
        title: `${r.route} averages ${r.mean} ms`,
        route: r.route,
        evidence: { window, count: r.count, mean: r.mean, p95: r.p95, p99: r.p99 },
        action:
          'Look at the slow requests and spans of this route; cache its response or move work off the request.',
      })
    }
    if (r.p99 >= TAIL_MIN_MS && r.p50 > 0 && r.p99 >= TAIL_RATIO * r.p50) {
      out.push({
        id: 'latency-tail',
        severity: 'warning',
        source: 'profiler',
        title: `${r.route}: p99 is ${Math.round(r.p99 / r.p50)}× p50`,
        route: r.route,
        evidence: { window, count: r.count, p50: r.p50, p99: r.p99, max: r.max },
        action:
          'A few requests are far slower than the rest: check the slowest requests for lock waits, cold caches, GC pauses or slow downstream calls.',
      })
    }
    if (r.errorRate >= ERROR_WARNING) {
      out.push({
        id: 'high-error-rate',
        severity: r.errorRate >= ERROR_CRITICAL ? 'critical' : 'warning',
        source: 'profiler',
        title: `${r.route} fails ${Math.round(r.errorRate * 100)}% of requests`,
        route: r.route,
        evidence: { window, count: r.count, errors: r.errors, errorRate: r.errorRate },
        action: 'Check the error log for this route; 5xx responses and failed requests count as errors.',
      })
    }
  }
  for (const f of queries.nPlusOne) {
    out.push({
      id: 'n-plus-one',
      severity: 'warning',
      source: 'profiler',
      title: `${f.route} runs one query ${f.count} times per request`,
      route: f.route,
      evidence: { shape: f.shape, count: f.count, requests: f.requests, threshold: nPlusOneThreshold },
      action: 'Load the rows in one query (WHERE id IN (…) or a JOIN) instead of one query per item.',
    })
  }
  for (const p of queries.perRoute) {
    if (p.queriesPerRequest <= QUERIES_PER_REQUEST) continue
    out.push({
      id: 'many-queries',
      severity: 'warning',
      source: 'profiler',
      title: `${p.route} runs ${p.queriesPerRequest} queries per request`,
      route: p.route,
      evidence: { requests: p.requests, queriesPerRequest: p.queriesPerRequest, limit: QUERIES_PER_REQUEST },
      action: 'Batch or join the queries, or cache the data that does not change per request.',
    })
  }
  for (const f of queries.nPlusOne) {
    const route = routes.find((r) => r.route === f.route)
    if (route === undefined || route.p95 < SLOW_ROUTE_MS) continue
    out.push({
      id: 'n-plus-one-slow-route',
      severity: 'critical',
      source: 'profiler',
      title: `${f.route} is slow (p95 ${route.p95} ms) and runs one query ${f.count} times per request`,
      route: f.route,
      evidence: {
        shape: f.shape,
        count: f.count,
        p95: route.p95,
        queryMs: f.totalMs ?? 0,
        callSite: f.callSites?.[0] ?? '',
      },
      action: f.hint ?? 'Load the rows in one query instead of one query per item.',
    })
  }
  for (const p of queries.pools ?? []) {
    if (p.saturatedMs >= POOL_SATURATED_MS && p.saturatedShare >= POOL_SATURATED_SHARE) {
      out.push({
        id: 'pool-saturated',
        severity: p.saturatedShare >= 0.5 ? 'critical' : 'warning',
        source: 'profiler',
        title: `Pool ${p.name}: every connection in use ${Math.round(p.saturatedShare * 100)}% of the time`,
        evidence: {
          max: p.max,
          inUse: p.inUse,
          saturatedMs: p.saturatedMs,
          saturatedShare: p.saturatedShare,
        },
        action:
          'Requests queue for a connection: shorten transactions, fix N+1 loops that hold a connection, or raise the pool size (within the server’s max_connections).',
      })
    }
    if (p.waiting > 0 || (p.queued > 0 && p.acquireWaitP95Ms >= POOL_WAIT_MS)) {
      out.push({
        id: 'pool-waiting',
        severity: 'warning',
        source: 'profiler',
        title: `Pool ${p.name}: requests wait for a connection (p95 ${p.acquireWaitP95Ms} ms)`,
        evidence: {
          waiting: p.waiting,
          queued: p.queued,
          acquires: p.acquires,
          acquireWaitP95Ms: p.acquireWaitP95Ms,
        },
        action:
          'Connections are the bottleneck: see the pool-saturated advice, and look for slow queries on this pool.',
      })
    }
  }
  const loop = overview.eventLoop
  if (loop.p99 >= LOOP_WARNING_MS) {
    out.push({
      id: 'event-loop-delay',
      severity: loop.p99 >= LOOP_CRITICAL_MS ? 'critical' : 'warning',
      source: 'profiler',
      title: `Event-loop delay p99 is ${loop.p99} ms`,
      evidence: { mean: loop.mean, p50: loop.p50, p99: loop.p99, max: loop.max },
      action:
        'Synchronous work is blocking every request: profile CPU (node --cpu-prof) and move heavy work to a worker thread.',
    })
  }
  const rank = { critical: 0, warning: 1, info: 2 } as const
  return out.sort((a, b) => rank[a.severity] - rank[b.severity])
}
