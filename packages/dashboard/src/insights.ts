import type {
  CacheStats,
  CompressionStats,
  DataCacheStats,
  Insight,
  OverloadStats,
  ProfilerOverview,
  QueryReport,
  RateLimitStats,
  RouteLatency,
  Severity,
  WindowName,
} from '@hotpath/core'
import { dataCacheInsights } from './data-cache'
import { overloadInsights } from './overload'
import type { InsightThresholds } from './types'

/** What the rules read: whatever sources exist, already fetched once. */
export interface Snapshot {
  readonly window: WindowName
  readonly overview?: ProfilerOverview | undefined
  readonly routes?: readonly RouteLatency[] | undefined
  readonly queries?: QueryReport | undefined
  readonly cache?: CacheStats | undefined
  readonly compression?: CompressionStats | undefined
  readonly rateLimit?: RateLimitStats | undefined
  readonly overload?: OverloadStats | undefined
  readonly dataCache?: DataCacheStats | undefined
}

type Rule = (snapshot: Snapshot, t: InsightThresholds) => Insight[]

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits

/** A slow GET route the cache never answers: the one finding neither the profiler nor the cache can make alone. */
const slowUncached: Rule = ({ routes, cache, window }, t) => {
  if (!routes) return []
  const out: Insight[] = []
  for (const route of routes) {
    if (!route.route.startsWith('GET ') || route.count < t.minRequests || route.p95 < t.slowMs) continue
    const hitRatio = cache?.routes[route.route]?.hitRatio ?? 0
    if (hitRatio > 0) continue
    out.push({
      id: 'slow-uncached-route',
      severity: 'warning',
      source: 'dashboard',
      title: `Slow GET route never served from cache: ${route.route}`,
      route: route.route,
      evidence: {
        window,
        p95Ms: round(route.p95, 1),
        requests: route.count,
        cacheHitRatio: 0,
        cacheConfigured: cache !== undefined,
      },
      action:
        'Cache it: add a response-cache rule for this route (even a short TTL with stale-while-revalidate), or make the handler faster.',
    })
  }
  return out
}

const uncompressedLarge: Rule = ({ compression }) => {
  if (!compression) return []
  const out: Insight[] = []
  for (const [route, stats] of Object.entries(compression.routes)) {
    if (stats.uncompressedLarge <= 0) continue
    const share = stats.responses > 0 ? stats.uncompressedLarge / stats.responses : 1
    out.push({
      id: 'uncompressed-large-response',
      severity: share >= 0.5 ? 'warning' : 'info',
      source: 'dashboard',
      title: `Responses above ${compression.threshold} bytes sent uncompressed: ${route}`,
      route,
      evidence: {
        uncompressedLarge: stats.uncompressedLarge,
        responses: stats.responses,
        threshold: compression.threshold,
      },
      action:
        'Check the compression skip reasons for this route (Cache-Control: no-transform, a filter, a client without Accept-Encoding) and compress it.',
    })
  }
  return out
}

const manyLimited: Rule = ({ rateLimit }, t) => {
  if (!rateLimit) return []
  const out: Insight[] = []
  for (const [route, stats] of Object.entries(rateLimit.routes)) {
    const total = stats.allowed + stats.limited
    if (total < t.minRequests || stats.limited === 0) continue
    const ratio = stats.limited / total
    if (ratio < t.limitedRatio) continue
    out.push({
      id: 'many-429',
      severity: ratio >= 0.5 ? 'critical' : 'warning',
      source: 'dashboard',
      title: `Many requests rate-limited on ${route}`,
      route,
      evidence: {
        limited: stats.limited,
        allowed: stats.allowed,
        limitedRatio: round(ratio),
        policy: stats.policy,
      },
      action:
        'Look at the top limited keys: raise the limit for legitimate clients, or cache the route so bursts cost less.',
    })
  }
  return out
}

const nPlusOne: Rule = ({ queries }) =>
  (queries?.nPlusOne ?? []).map((finding) => ({
    id: 'n-plus-one',
    severity: 'warning' as Severity,
    source: 'dashboard',
    title: `N+1 queries on ${finding.route}`,
    route: finding.route,
    evidence: {
      shape: finding.shape,
      perRequest: finding.count,
      requests: finding.requests,
      lastSeen: finding.lastSeen,
    },
    action: 'Load the rows in one query (a JOIN or WHERE id IN (...)) or batch them with a data loader.',
  }))

const lowHitRatio: Rule = ({ cache }, t) => {
  if (!cache) return []
  const lookups = cache.hits + cache.misses + cache.staleServed
  if (lookups < t.minLookups || cache.hitRatio >= t.lowHitRatio) return []
  return [
    {
      id: 'low-hit-ratio',
      severity: 'warning',
      source: 'dashboard',
      title: `Cache hit ratio is ${Math.round(cache.hitRatio * 100)}%`,
      evidence: {
        hitRatio: round(cache.hitRatio),
        lookups,
        evictions: cache.evictions,
        bypasses: sumValues(cache.bypasses),
      },
      action:
        'Check the bypass reasons and evictions: raise maxBytes, lengthen TTLs, or trim Vary and query strings from the key.',
    },
  ]
}

const eventLoop: Rule = ({ overview }, t) => {
  if (!overview || overview.eventLoop.p99 < t.eventLoopWarnMs) return []
  const critical = overview.eventLoop.p99 >= t.eventLoopCriticalMs
  return [
    {
      id: 'event-loop-delay',
      severity: critical ? 'critical' : 'warning',
      source: 'dashboard',
      title: `Event-loop delay p99 is ${Math.round(overview.eventLoop.p99)} ms`,
      evidence: {
        p99Ms: round(overview.eventLoop.p99, 1),
        maxMs: round(overview.eventLoop.max, 1),
        thresholdMs: t.eventLoopWarnMs,
      },
      action:
        'Find the synchronous work on the request path (large JSON, sync crypto or fs, regexes) with the slowest routes and a CPU profile.',
    },
  ]
}

const errorRate: Rule = ({ overview, window }, t) => {
  const summary = overview?.windows[window]
  if (!summary || summary.count < t.minRequests || summary.errorRate < t.errorRateWarn) return []
  return [
    {
      id: 'overall-error-rate',
      severity: summary.errorRate >= t.errorRateCritical ? 'critical' : 'warning',
      source: 'dashboard',
      title: `${round(summary.errorRate * 100, 1)}% of requests failed over ${window}`,
      evidence: {
        window,
        errors: summary.errors,
        requests: summary.count,
        errorRate: round(summary.errorRate),
      },
      action: 'Look at the routes with errors in the logs; 5xx responses count as errors.',
    },
  ]
}

const storeHealth: Rule = ({ cache, rateLimit }) => {
  const out: Insight[] = []
  if (cache && cache.storeErrors > 0) {
    out.push({
      id: 'cache-store-errors',
      severity: 'warning',
      source: 'dashboard',
      title: `The cache store failed ${cache.storeErrors} times (served uncached)`,
      evidence: { storeErrors: cache.storeErrors },
      action: 'Check the cache store (Redis) connectivity and latency.',
    })
  }
  if (rateLimit && rateLimit.store.mode !== 'store') {
    out.push({
      id: 'rate-limit-store-degraded',
      severity: rateLimit.store.mode === 'open' ? 'critical' : 'warning',
      source: 'dashboard',
      title: `The rate limiter is running in "${rateLimit.store.mode}" mode`,
      evidence: {
        mode: rateLimit.store.mode,
        storeErrors: rateLimit.store.errors,
        kind: rateLimit.store.kind,
      },
      action:
        'Check the rate-limit store (Redis); until it is back, limits are not shared between processes.',
    })
  }
  return out
}

const RULES: readonly Rule[] = [
  slowUncached,
  uncompressedLarge,
  manyLimited,
  nPlusOne,
  lowHitRatio,
  eventLoop,
  errorRate,
  storeHealth,
  ({ overload }, t) => overloadInsights(overload, t),
  ({ dataCache }) => (dataCache ? dataCacheInsights(dataCache) : []),
]

const RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 }

/**
 * The dashboard's cross-package findings merged with the profiler's own. A finding with the
 * same rule id and route as an earlier one is kept once (the profiler's wins), then the list
 * is ordered most severe first.
 */
export function insightsOf(
  snapshot: Snapshot,
  thresholds: InsightThresholds,
  fromProfiler: readonly Insight[] = [],
): Insight[] {
  const seen = new Set<string>()
  const out: Insight[] = []
  const add = (insight: Insight) => {
    const key = `${insight.id}\u0000${insight.route ?? ''}`
    if (seen.has(key)) return
    seen.add(key)
    out.push(insight)
  }
  fromProfiler.forEach(add)
  for (const rule of RULES) rule(snapshot, thresholds).forEach(add)
  return out.sort((a, b) => (RANK[a.severity] ?? 3) - (RANK[b.severity] ?? 3))
}

export type Status = 'healthy' | 'warning' | 'critical'

/** The most severe insight decides; `info` findings leave the service healthy. */
export function statusOf(insights: readonly Insight[]): Status {
  if (insights.some((i) => i.severity === 'critical')) return 'critical'
  if (insights.some((i) => i.severity === 'warning')) return 'warning'
  return 'healthy'
}

function sumValues(record: Record<string, number>): number {
  let total = 0
  for (const value of Object.values(record)) total += value
  return total
}
