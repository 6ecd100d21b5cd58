/**
 * Plain data that satisfies the core contracts, for the suites that test the router's own
 * rules (auth, headers, validation, rendering). They hold numbers, not behaviour.
 */
import type {
  CacheInvalidation,
  CacheSource,
  CacheStats,
  CompressionStats,
  Insight,
  LatencySummary,
  ProfilerOverview,
  ProfilerSource,
  QueryReport,
  RateLimitStats,
  RouteLatency,
  StatsSource,
  WindowName,
} from '@hotpath/core'
import type { Express } from 'express'
import { express } from '../../../test/helpers/express'
import { type DashboardOptions, dashboard } from '../src'

export const TOKEN = 'test-token-0123456789abcdef'
export const AUTH = { token: TOKEN } as const
export const BEARER = `Bearer ${TOKEN}`

export function latency(overrides: Partial<LatencySummary> = {}): LatencySummary {
  return {
    count: 100,
    errors: 0,
    errorRate: 0,
    rps: 1.5,
    mean: 12,
    p50: 10,
    p90: 20,
    p95: 25,
    p99: 40,
    p999: 50,
    max: 60,
    ...overrides,
  }
}

export function overview(overrides: Partial<ProfilerOverview> = {}): ProfilerOverview {
  return {
    windows: {
      '1m': latency({ count: 10 }),
      '5m': latency(),
      '1h': latency({ count: 1000 }),
      all: latency({ count: 5000 }),
    },
    eventLoop: { mean: 1, p50: 1, p99: 5, max: 9 },
    memory: { rss: 1e8, heapUsed: 5e7, heapTotal: 6e7, external: 1e6 },
    startedAt: '2026-01-01T00:00:00.000Z',
    uptimeSeconds: 60,
    ...overrides,
  }
}

export function route(name: string, overrides: Partial<RouteLatency> = {}): RouteLatency {
  return { ...latency(), route: name, ...overrides }
}

export function queries(overrides: Partial<QueryReport> = {}): QueryReport {
  return { shapes: [], slow: [], nPlusOne: [], perRoute: [], ...overrides }
}

export interface ProfilerData {
  overview?: ProfilerOverview
  routes?: RouteLatency[]
  queries?: QueryReport
  insights?: Insight[]
}

/** Answers the profiler contract from fixed data; `calls` records the arguments it was asked with. */
export function profilerSource(data: ProfilerData = {}) {
  const routes = data.routes ?? [
    route('GET /api/products', { p95: 30 }),
    route('GET /api/products/:id', { p95: 80 }),
  ]
  const calls: Array<{ method: string; args: unknown[] }> = []
  const source: ProfilerSource = {
    name: 'profiler',
    stats: () => ({ overview: source.overview(), routes, queries: source.queries() }),
    overview: () => data.overview ?? overview(),
    routes: (window?: WindowName) => {
      calls.push({ method: 'routes', args: [window] })
      return routes
    },
    slowest: (limit?: number, window?: WindowName) => {
      calls.push({ method: 'slowest', args: [limit, window] })
      return [...routes].sort((a, b) => b.p95 - a.p95).slice(0, limit ?? 10)
    },
    insights: () => data.insights ?? [],
    queries: () => data.queries ?? queries(),
  }
  return { source, calls }
}

export function cacheStats(overrides: Partial<CacheStats> = {}): CacheStats {
  return {
    hits: 80,
    misses: 20,
    staleServed: 0,
    bypasses: {},
    stores: 20,
    evictions: 0,
    invalidations: 0,
    coalesced: 0,
    storeErrors: 0,
    entries: 20,
    bytes: 4096,
    hitRatio: 0.8,
    estimatedMemoryBytes: 8192,
    routes: { 'GET /api/products': { hits: 80, misses: 20, stale: 0, bypasses: 0, hitRatio: 0.8 } },
    ...overrides,
  }
}

/** The cache contract over fixed stats; records what it was asked to invalidate. */
export function cacheSource(stats: CacheStats = cacheStats()) {
  const invalidated: CacheInvalidation[] = []
  let cleared = 0
  const source: CacheSource = {
    name: 'response-cache',
    stats: () => stats,
    invalidate: async (target) => {
      invalidated.push(target)
      return 3
    },
    clear: async () => {
      cleared++
    },
  }
  return { source, invalidated, cleared: () => cleared }
}

export function compressionStats(overrides: Partial<CompressionStats> = {}): CompressionStats {
  return {
    threshold: 1024,
    encodings: { gzip: { responses: 10, bytesIn: 100_000, bytesOut: 20_000, ratio: 0.2, ms: 5 } },
    skipped: { 'below-threshold': 4 },
    totals: { responses: 14, bytesIn: 100_000, bytesOut: 20_000, bytesSaved: 80_000, ratio: 0.2 },
    routes: {
      'GET /api/products': {
        responses: 10,
        bytesIn: 100_000,
        bytesOut: 20_000,
        bytesSaved: 80_000,
        uncompressedLarge: 0,
      },
    },
    ...overrides,
  }
}

export function rateLimitStats(overrides: Partial<RateLimitStats> = {}): RateLimitStats {
  return {
    allowed: 100,
    limited: 2,
    routes: { 'POST /login': { allowed: 100, limited: 2, policy: 'sliding-window 5/1m' } },
    topLimited: [{ key: '203.0.113.7', count: 2 }],
    store: { kind: 'memory', errors: 0, mode: 'store', latencyMs: { p50: 0, p99: 0 } },
    ...overrides,
  }
}

export function statsSource<S extends object>(name: string, stats: S): StatsSource<S> {
  return { name, stats: () => stats }
}

export function allSources() {
  return {
    cache: cacheSource().source,
    compression: statsSource('compression', compressionStats()),
    profiler: profilerSource().source,
    rateLimit: statsSource('rate-limit', rateLimitStats()),
  }
}

/** Silent logger that remembers what it was told. */
export function memoryLogger() {
  const lines: string[] = []
  return { lines, logger: { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) } }
}

export const MOUNTS = [
  { name: 'mounted at root', base: '' },
  { name: 'mounted under /performance', base: '/performance' },
] as const

/** Limits high enough that suites about other rules never meet them (the limiter has its own suite). */
export const ROOMY_LIMITS = { read: { limit: 10_000 }, write: { limit: 1_000 } } as const

/** An app with the dashboard at `base` ('' = root). */
export function appWith(base: string, options: Partial<DashboardOptions> = {}): Express {
  const app = express()
  const defaults = {
    auth: AUTH,
    sources: allSources(),
    logger: memoryLogger().logger,
    rateLimit: ROOMY_LIMITS,
  }
  const router = dashboard({ ...defaults, ...options } as DashboardOptions)
  if (base) app.use(base, router)
  else app.use(router)
  return app
}
