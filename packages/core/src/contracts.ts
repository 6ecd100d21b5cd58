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
  /**
   * Process CPU over the last sample interval: `utilization` is (user + system) CPU time over
   * wall time (1 = one core busy), `userMs`/`systemMs` the totals since the process started.
   */
  cpu?: { utilization: number; userMs: number; systemMs: number }
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
  /** `critical` when ≥ 5 consecutive runs took ≥ 50 ms in total (Sentry's N+1 rule). */
  severity?: Severity
  /** Longest run of consecutive executions in one request, and that run's total ms. */
  consecutive?: number
  totalMs?: number
  /** Application frames (`fn (file:line:col)`) of the 2nd and 3rd execution. */
  callSites?: string[]
  /** `pg`, `mysql2`, `better-sqlite3`, `knex`, `ioredis` or `custom`. */
  driver?: string
  hint?: string
}

/** The same shape with the same parameters more than once in one request. */
export interface DuplicateQueryFinding {
  route: string
  shape: string
  /** Largest number of repeats (runs beyond the first) in one request. */
  count: number
  requests: number
  lastSeen: string
  callSites: string[]
  driver: string
  hint: string
}

/** A sequential / full scan of a large table seen in a sampled EXPLAIN. */
export interface IndexAdvice {
  shape: string
  table: string
  /** Columns the scan filters on (identifiers only, never values). */
  columns: string[]
  /** Estimated rows in the table. */
  rows: number
  dialect: 'postgres' | 'mysql' | 'sqlite'
  driver: string
  suggestion: string
  checkedAt: string
}

/** Connection-pool health of one `watchPool` pool. */
export interface PoolHealth {
  name: string
  kind: 'pg' | 'mysql2' | 'knex'
  max: number
  size: number
  idle: number
  inUse: number
  waiting: number
  acquires: number
  /** Acquires that had to queue because every connection was in use. */
  queued: number
  acquireWaitP95Ms: number
  /** Time with every connection in use, ms, and its share of the watched time (0..1). */
  saturatedMs: number
  saturatedShare: number
}

export interface QueryReport {
  shapes: QueryShapeStats[]
  slow: Array<{ time: string; route: string; shape: string; durationMs: number }>
  nPlusOne: NPlusOneFinding[]
  perRoute: Array<{
    route: string
    requests: number
    queriesPerRequest: number
    p50?: number
    p95?: number
    max?: number
  }>
  duplicates?: DuplicateQueryFinding[]
  advice?: IndexAdvice[]
  pools?: PoolHealth[]
  /** Queries run outside any request (jobs, start-up). */
  background?: { queries: number; totalMs: number }
  /** Drivers currently instrumented. */
  instrumented?: string[]
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
  /** Misses that were not stored, by reason (`setCookie`, `private`, `noStore`, `ttl0`, `size`, …). */
  notStored?: Record<string, number>
  stores: number
  evictions: number
  invalidations: number
  coalesced: number
  storeErrors: number
  entries: number
  bytes: number
  /**
   * Body, variant and header bytes of the stored entries (what "cache size" means on the page);
   * `null` when the store cannot tell (Redis: its own accounting is not read synchronously).
   */
  storedBytes?: number | null
  /** Memory the memory store reserved in slabs for those bodies (shown beside, not as, the size). */
  slabBytes?: number
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
  /** Requests whose client left while they waited in the queue. */
  abandoned: number
  /** True once queued requests have waited at least `target` for a whole `interval` (CoDel): LIFO service, `target` timeout. */
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

/** One namespace of the data cache (`@hotpath/cache`). */
export interface DataCacheNamespaceStats {
  hits: number
  misses: number
  /** hits / (hits + misses), 0..1. */
  hitRatio: number
  factoryRuns: number
  factoryErrors: number
  factoryP50: number
  factoryP95: number
  /** Default ttl of the namespace, ms. */
  ttlMs: number
}

export interface DataCacheStats {
  hits: { l1: number; l2: number }
  /** Misses by reason: `cold`, `expired`, `tag`, `bus`, `evicted`. */
  misses: Record<string, number>
  hitRatio: number
  factory: { runs: number; errors: number; p50: number; p95: number }
  staleServed: number
  timeouts: { soft: number; hard: number; l2: number }
  locks: { acquired: number; waits: number; waitTimeouts: number }
  bus: { enabled: boolean; connected: boolean; sent: number; received: number; errors: number }
  /** `tagsLoaded`: the tag versions were read from Redis (until then tagged L2 entries count as stale). */
  l2: { kind: string; errors: number; circuit: string; pendingInvalidations: number; tagsLoaded: boolean }
  bloom: { ready: boolean; bits: number; hashes: number; rejected: number } | null
  /** Values not stored because they exceed `maxEntryBytes`. */
  oversized: number
  entries: number
  bytes: number
  maxBytes: number
  evictions: number
  namespaces: Record<string, DataCacheNamespaceStats>
}

/** What the dashboard needs from the data cache beyond `stats()`. */
export interface DataCacheSource extends StatsSource<DataCacheStats> {
  deleteByTag(tag: string): Promise<unknown>
  clear(): Promise<void>
}

/** One route's partial responses and streams (`@hotpath/json`). */
export interface JsonRouteStats {
  /** `res.json` responses `fields()` shaped: masked, or serialized by a route schema. */
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

export type TaskStateName = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'timed_out'

/** One background task as `@hotpath/tasks` reports it (times in epoch ms). */
export interface TaskSummary {
  id: string
  name: string
  state: TaskStateName
  /** 0..100. */
  progress: number
  message: string
  attempts: number
  result?: unknown
  error?: { message: string; code: string }
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  durationMs: number | null
  queueMs: number | null
  local?: boolean
}

export interface TaskPercentiles {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
}

export interface TasksSourceStats {
  engine: string
  counts: Record<TaskStateName, number>
  localRunning: number
  concurrency: number
  /** Queue-wait and run-time percentiles (ms) per task name. */
  names: Array<{
    name: string
    queueMs: TaskPercentiles
    runMs: TaskPercentiles
    completed: number
    failed: number
  }>
  engineErrors: number
  countsAt: number
}

export type TaskEventKind = 'progress' | 'completed' | 'failed' | 'cancelled' | 'timed_out'

/** What the dashboard needs from `@hotpath/tasks` beyond `stats()`. */
export interface TasksSource extends StatsSource<TasksSourceStats> {
  get(id: string): Promise<TaskSummary | undefined>
  list(query: {
    state?: TaskStateName
    name?: string
    limit?: number
    cursor?: string
  }): Promise<{ tasks: TaskSummary[]; nextCursor?: string }>
  /** `true` when it was pending or running; `false` when it had already finished. Rejects for an unknown id. */
  cancel(id: string): Promise<boolean>
  retry(id: string): Promise<{ id: string }>
  /** Returns the unsubscribe function. */
  on(
    event: TaskEventKind,
    listener: (
      event: Pick<TaskSummary, 'id' | 'name' | 'state' | 'progress' | 'message'> & Partial<TaskSummary>,
    ) => void,
  ): () => void
}
