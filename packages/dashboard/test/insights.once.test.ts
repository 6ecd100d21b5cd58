import type { Insight } from '@hotpath/core'
import type { InsightThresholds } from '../src'
import { insightsOf, type Snapshot, statusOf } from '../src'
import { cacheStats, compressionStats, latency, overview, queries, rateLimitStats, route } from './fixtures'

const T: InsightThresholds = {
  slowMs: 200,
  minRequests: 20,
  lowHitRatio: 0.5,
  minLookups: 100,
  limitedRatio: 0.1,
  eventLoopWarnMs: 100,
  eventLoopCriticalMs: 500,
  errorRateWarn: 0.01,
  errorRateCritical: 0.05,
}

const ids = (list: Insight[]) => list.map((i) => `${i.id}${i.route ? ` ${i.route}` : ''}`)
const run = (snapshot: Partial<Snapshot>, fromProfiler: Insight[] = []) =>
  insightsOf({ window: '5m', ...snapshot }, T, fromProfiler)

describe('slow GET route with a 0% cache hit rate', () => {
  const slow = route('GET /api/report', { p95: 450, count: 50 })

  it('fires with the evidence and a "cache it" action', () => {
    const [insight] = run({ routes: [slow], cache: cacheStats({ routes: {} }) })
    expect(insight).toEqual({
      id: 'slow-uncached-route',
      severity: 'warning',
      source: 'dashboard',
      title: 'Slow GET route never served from cache: GET /api/report',
      route: 'GET /api/report',
      evidence: { window: '5m', p95Ms: 450, requests: 50, cacheHitRatio: 0, cacheConfigured: true },
      action:
        'Cache it: add a response-cache rule for this route (even a short TTL with stale-while-revalidate), or make the handler faster.',
    })
  })

  it('fires when the route is in the cache stats with hitRatio 0', () => {
    const cache = cacheStats({
      routes: { 'GET /api/report': { hits: 0, misses: 50, stale: 0, bypasses: 0, hitRatio: 0 } },
    })
    expect(ids(run({ routes: [slow], cache }))).toEqual(['slow-uncached-route GET /api/report'])
  })

  it('does not fire when the cache answers some of its requests', () => {
    const cache = cacheStats({
      routes: { 'GET /api/report': { hits: 1, misses: 49, stale: 0, bypasses: 0, hitRatio: 0.02 } },
    })
    expect(run({ routes: [slow], cache })).toEqual([])
  })

  it('does not fire for a POST route', () => {
    expect(run({ routes: [route('POST /api/report', { p95: 900, count: 50 })] })).toEqual([])
  })

  it('does not fire below minRequests', () => {
    expect(run({ routes: [route('GET /api/report', { p95: 900, count: 19 })] })).toEqual([])
  })

  it('does not fire below slowMs', () => {
    expect(run({ routes: [route('GET /api/report', { p95: 199, count: 50 })] })).toEqual([])
  })

  it('says when no cache is configured at all', () => {
    expect(run({ routes: [slow] })[0]?.evidence.cacheConfigured).toBe(false)
  })
})

describe('JSON above the threshold served uncompressed', () => {
  const withRoute = (responses: number, uncompressedLarge: number) =>
    compressionStats({
      routes: {
        'GET /api/export': { responses, bytesIn: 1e6, bytesOut: 1e6, bytesSaved: 0, uncompressedLarge },
      },
    })

  it('is a warning when most responses of the route were large and uncompressed', () => {
    const [insight] = run({ compression: withRoute(10, 8) })
    expect(insight).toMatchObject({
      id: 'uncompressed-large-response',
      severity: 'warning',
      route: 'GET /api/export',
      evidence: { uncompressedLarge: 8, responses: 10, threshold: 1024 },
    })
  })

  it('is info when it is a minority', () => {
    expect(run({ compression: withRoute(10, 2) })[0]?.severity).toBe('info')
  })

  it('is silent when nothing large went out uncompressed', () => {
    expect(run({ compression: withRoute(10, 0) })).toEqual([])
  })
})

describe('route with many 429s', () => {
  const limited = (allowed: number, limitedCount: number) =>
    rateLimitStats({
      routes: { 'POST /login': { allowed, limited: limitedCount, policy: 'sliding-window 5/1m' } },
    })

  it('is a warning at limitedRatio', () => {
    expect(run({ rateLimit: limited(90, 10) })[0]).toMatchObject({
      id: 'many-429',
      severity: 'warning',
      route: 'POST /login',
      evidence: { limited: 10, allowed: 90, limitedRatio: 0.1, policy: 'sliding-window 5/1m' },
    })
  })

  it('is critical when half the requests are refused', () => {
    expect(run({ rateLimit: limited(50, 50) })[0]?.severity).toBe('critical')
  })

  it('is silent below limitedRatio', () => {
    expect(run({ rateLimit: limited(91, 9) })).toEqual([])
  })

  it('is silent below minRequests', () => {
    expect(run({ rateLimit: limited(5, 10) })).toEqual([])
  })
})

describe('N+1 queries', () => {
  it('turns each finding into a warning', () => {
    const report = queries({
      nPlusOne: [
        {
          route: 'GET /api/orders',
          shape: 'SELECT * FROM items WHERE order_id = ?',
          count: 25,
          requests: 4,
          lastSeen: '2026-01-01T00:00:00Z',
        },
      ],
    })
    expect(run({ queries: report })).toEqual([
      {
        id: 'n-plus-one',
        severity: 'warning',
        source: 'dashboard',
        title: 'N+1 queries on GET /api/orders',
        route: 'GET /api/orders',
        evidence: {
          shape: 'SELECT * FROM items WHERE order_id = ?',
          perRequest: 25,
          requests: 4,
          lastSeen: '2026-01-01T00:00:00Z',
        },
        action: 'Load the rows in one query (a JOIN or WHERE id IN (...)) or batch them with a data loader.',
      },
    ])
  })

  it("keeps the profiler's own finding for the same route once", () => {
    const fromProfiler: Insight = {
      id: 'n-plus-one',
      severity: 'critical',
      source: 'profiler',
      title: 'p',
      route: 'GET /api/orders',
      evidence: {},
      action: 'a',
    }
    const report = queries({
      nPlusOne: [{ route: 'GET /api/orders', shape: 's', count: 25, requests: 4, lastSeen: 'x' }],
    })
    expect(run({ queries: report }, [fromProfiler])).toEqual([fromProfiler])
  })
})

describe('low overall hit rate', () => {
  it('fires below lowHitRatio with enough lookups', () => {
    const [insight] = run({
      cache: cacheStats({ hits: 30, misses: 70, hitRatio: 0.3, bypasses: { cookie: 5, authorization: 2 } }),
    })
    expect(insight).toMatchObject({
      id: 'low-hit-ratio',
      severity: 'warning',
      title: 'Cache hit ratio is 30%',
      evidence: { hitRatio: 0.3, lookups: 100, evictions: 0, bypasses: 7 },
    })
  })

  it('waits for minLookups', () => {
    expect(run({ cache: cacheStats({ hits: 1, misses: 98, hitRatio: 0.01 }) })).toEqual([])
  })
})

describe('event-loop delay', () => {
  const loop = (p99: number) => overview({ eventLoop: { mean: 1, p50: 1, p99, max: p99 * 2 } })

  it('is a warning at eventLoopWarnMs', () => {
    expect(run({ overview: loop(100) })[0]).toMatchObject({
      id: 'event-loop-delay',
      severity: 'warning',
      evidence: { p99Ms: 100, maxMs: 200 },
    })
  })

  it('is critical at eventLoopCriticalMs', () => {
    expect(run({ overview: loop(500) })[0]?.severity).toBe('critical')
  })

  it('is silent below', () => {
    expect(run({ overview: loop(99) })).toEqual([])
  })
})

describe('error rate and store health', () => {
  it('error rate over the window: warning, then critical', () => {
    const at = (errorRate: number) =>
      overview({
        windows: { ...overview().windows, '5m': latency({ count: 100, errors: errorRate * 100, errorRate }) },
      })
    expect(run({ overview: at(0.02) })[0]).toMatchObject({ id: 'overall-error-rate', severity: 'warning' })
    expect(run({ overview: at(0.05) })[0]).toMatchObject({ id: 'overall-error-rate', severity: 'critical' })
    expect(run({ overview: at(0.005) })).toEqual([])
  })

  it('a rate limiter failing open is critical', () => {
    const rl = rateLimitStats({
      store: { kind: 'redis', errors: 4, mode: 'open', latencyMs: { p50: 0, p99: 0 } },
    })
    expect(run({ rateLimit: rl })[0]).toMatchObject({ id: 'rate-limit-store-degraded', severity: 'critical' })
  })

  it('cache store errors are a warning', () => {
    expect(run({ cache: cacheStats({ storeErrors: 3 }) })[0]).toMatchObject({
      id: 'cache-store-errors',
      severity: 'warning',
    })
  })
})

describe('merging and status', () => {
  const info: Insight = {
    id: 'x',
    severity: 'info',
    source: 'profiler',
    title: 't',
    evidence: {},
    action: 'a',
  }
  const warning: Insight = { ...info, id: 'y', severity: 'warning' }
  const critical: Insight = { ...info, id: 'z', severity: 'critical' }

  it('orders critical, warning, info', () => {
    expect(run({}, [info, warning, critical]).map((i) => i.severity)).toEqual(['critical', 'warning', 'info'])
  })

  it('status is healthy with only info findings', () => {
    expect(statusOf([info])).toBe('healthy')
  })

  it('status is warning with a warning', () => {
    expect(statusOf([info, warning])).toBe('warning')
  })

  it('status is critical with a critical', () => {
    expect(statusOf([warning, critical])).toBe('critical')
  })

  it('healthy fixtures produce no findings', () => {
    expect(
      run({
        overview: overview(),
        routes: [route('GET /a')],
        cache: cacheStats(),
        compression: compressionStats(),
        rateLimit: rateLimitStats(),
      }),
    ).toEqual([])
  })
})
