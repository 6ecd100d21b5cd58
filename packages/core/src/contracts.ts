/**
 * The contracts between the middlewares and the dashboard. A package exposes its numbers
 * through `stats()` (plain JSON, cheap to call), and the dashboard reads only these shapes.
 * Packages may add fields; they never remove or rename the ones declared here.
 */

/** Anything the dashboard can read. */
export interface StatsSource<S extends object = object> {
  readonly name: string
  stats(): S
}

export type Severity = 'info' | 'warning' | 'critical'

/** A rule-based finding with the numbers that triggered it and what to do about it. */
export interface Insight {
  /** Stable identifier of the rule, e.g. `slow-endpoint`, `n-plus-one`. */
  id: string
  severity: Severity
  /** The package that produced it (`profiler`, `cache`, `dashboard`, …). */
  source: string
  title: string
  route?: string
  evidence: Record<string, number | string | boolean>
  action: string
}

/** The rolling windows every time-based statistic is reported over. */
export type WindowName = '1m' | '5m' | '1h' | 'all'
export const WINDOWS: readonly WindowName[] = ['1m', '5m', '1h', 'all']

/** Latency summary in milliseconds over one window. */
export interface LatencySummary {
  count: number
  errors: number
  /** errors / count, 0..1. A response is an error when its status is ≥ 500 or it failed. */
  errorRate: number
  /** Requests per second over the window (or since start for `all`). */
  rps: number
  mean: number
  p50: number
  p90: number
  p95: number
  p99: number
  p999: number
  max: number
}

export interface RouteLatency extends LatencySummary {
  /** `routeOf` label, e.g. `GET /api/products/:id`. */
  route: string
}

export interface ProfilerOverview {
  windows: Record<WindowName, LatencySummary>
  eventLoop: { mean: number; p50: number; p99: number; max: number }
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number }
  startedAt: string
  uptimeSeconds: number
}

export interface QueryShapeStats {
  shape: string
  count: number
  totalMs: number
  mean: number
  p50: number
  p95: number
  p99: number
  max: number
  slow: number
}

export interface NPlusOneFinding {
  route: string
  shape: string
  /** Largest number of times one request ran the shape. */
  count: number
  /** How many requests ran it at least `nPlusOneThreshold` times. */
  requests: number
  lastSeen: string
}

export interface QueryReport {
  shapes: QueryShapeStats[]
  slow: Array<{ time: string; route: string; shape: string; durationMs: number }>
  nPlusOne: NPlusOneFinding[]
  perRoute: Array<{ route: string; requests: number; queriesPerRequest: number }>
}

export interface ProfilerStats {
  overview: ProfilerOverview
  routes: RouteLatency[]
  queries: QueryReport
}

/** What the dashboard needs from the profiler beyond `stats()`. */
export interface ProfilerSource extends StatsSource<ProfilerStats> {
  overview(): ProfilerOverview
  routes(window?: WindowName): RouteLatency[]
  slowest(limit?: number, window?: WindowName): RouteLatency[]
  insights(): Insight[]
  queries(): QueryReport
}

export interface CacheRouteStats {
  hits: number
  misses: number
  stale: number
  bypasses: number
  hitRatio: number
}

export interface CacheStats {
  hits: number
  misses: number
  staleServed: number
  bypasses: Record<string, number>
  stores: number
  evictions: number
  invalidations: number
  coalesced: number
  storeErrors: number
  entries: number
  bytes: number
  /** hits / (hits + misses + stale), 0..1. */
  hitRatio: number
  estimatedMemoryBytes: number
  routes: Record<string, CacheRouteStats>
}

export type CacheInvalidation = { tag: string } | { key: string } | { prefix: string }

/** What the dashboard needs from the response cache beyond `stats()`. */
export interface CacheSource extends StatsSource<CacheStats> {
  invalidate(target: CacheInvalidation): Promise<number>
  clear(): Promise<void>
}

export interface EncodingStats {
  responses: number
  bytesIn: number
  bytesOut: number
  /** bytesOut / bytesIn, 0..1 (lower is better). */
  ratio: number
  ms: number
}

export interface CompressionRouteStats {
  responses: number
  bytesIn: number
  bytesOut: number
  bytesSaved: number
  /** Responses at or above the threshold, of a compressible type, sent uncompressed. */
  uncompressedLarge: number
}

export interface CompressionStats {
  threshold: number
  encodings: Record<string, EncodingStats>
  skipped: Record<string, number>
  totals: { responses: number; bytesIn: number; bytesOut: number; bytesSaved: number; ratio: number }
  routes: Record<string, CompressionRouteStats>
}

export interface RateLimitRouteStats {
  allowed: number
  limited: number
  /** e.g. `sliding-window 100/1m`. */
  policy: string
}

export type StoreMode = 'store' | 'open' | 'closed' | 'memory'

export interface RateLimitStats {
  allowed: number
  limited: number
  routes: Record<string, RateLimitRouteStats>
  topLimited: Array<{ key: string; count: number }>
  store: { kind: string; errors: number; mode: StoreMode; latencyMs: { p50: number; p99: number } }
}

/** Priority of a request to the overload guard: `critical` is never shed, `sheddable` first. */
export type OverloadPriority = 'critical' | 'normal' | 'sheddable'

/** Why the overload guard answered 503. */
export type OverloadRefusal = 'queue-timeout' | 'queue-full' | 'event-loop'

export type BreakerState = 'closed' | 'open' | 'half-open'

/** One circuit breaker around an outbound call; counts are since start. */
export interface BreakerStats {
  name: string
  state: BreakerState
  calls: number
  successes: number
  failures: number
  timeouts: number
  /** Calls answered without running the function because the circuit was open. */
  rejected: number
  fallbacks: number
  /** Successful calls slower than the slow-call threshold. */
  slow: number
  /** Over the rolling window, 0..1. */
  failureRate: number
  slowRate: number
  latencyMs: { p50: number; p99: number }
  /** ISO time the circuit last opened, or null. */
  openedAt: string | null
  /** True when the open state is shared through Redis. */
  shared: boolean
}

export interface OverloadStats {
  admitted: number
  refused: Record<OverloadRefusal, number>
  /** Requests by priority (admitted and refused). */
  priorities: Record<OverloadPriority, { admitted: number; refused: number }>
  /** The adaptive concurrency limit now (null when the limiter is off). */
  limit: number | null
  inFlight: number
  queued: number
  /** True while the queue has not emptied for `interval`: LIFO service, `target` timeout. */
  congested: boolean
  /** Time admitted requests waited in the admission queue (0 for those admitted at once). */
  queueDelayMs: { p50: number; p99: number }
  /** The latest minimum round-trip time the limit is measured against, ms (0 before the first). */
  minRttMs: number
  /** The latest sampled latency percentile the gradient compared with minRTT, ms. */
  sampleRttMs: number
  eventLoop: { utilization: number; delayMs: number; refusalProbability: number } | null
  breakers: BreakerStats[]
}

/** One route's partial responses and streams (`@hotpath/json`). */
export interface JsonRouteStats {
  /** `res.json` responses sent through `fields()`. */
  responses: number
  /** Of those, the ones a `?fields=` mask shaped. */
  masked: number
  /** Bytes of the masked bodies sent (before compression). */
  bytesOut: number
  /** Bytes masking removed: measured on one masked response in `measureEvery`, estimated for the rest. */
  bytesSaved: number
  streams: number
  streamedItems: number
  streamedBytes: number
  /** Streams cut by an error after their first byte. */
  streamErrors: number
  /** Streams stopped because the client went away. */
  streamsAborted: number
}

export interface JsonStats {
  totals: JsonRouteStats
  routes: Record<string, JsonRouteStats>
  /** 400 responses to a bad `?fields=`, by error code. */
  rejected: Record<string, number>
  /** Compiled serializers: masks held in the per-schema LRUs, compiles, masked bodies served without a schema. */
  serializers: { schemas: number; masks: number; compiled: number; fallback: number }
  measureEvery: number
}
