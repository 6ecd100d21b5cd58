import type {
  Insight,
  Logger,
  ProfilerOverview,
  ProfilerSource,
  ProfilerStats,
  QueryReport,
  RouteLatency,
  WindowName,
} from '@hotpath/core'
import type { Request, RequestHandler } from 'express'
import type { HistogramWindow, RouteHistogram } from './histograms'
import type { InstrumentModules } from './instrument'
import type { WatchPoolOptions } from './pools'

/** How a request ended; every request is recorded exactly once with one of these. */
export type Outcome = 'finished' | 'aborted' | 'errored' | 'streaming'

/** The part of a prom-client `Registry` the profiler uses (structural, so prom-client stays optional). */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void
  removeSingleMetric?(name: string): void
  getSingleMetric?(name: string): unknown
  /** The Prometheus text exposition (prom-client's `Registry#metrics`). */
  metrics?(): Promise<string>
}

export interface ProfilerOptions {
  /** A request at or over this duration is logged as slow. Default `'500ms'`. */
  slowThreshold?: number | string
  /** A query at or over this duration is logged as slow. Default `'100ms'`. */
  slowQueryThreshold?: number | string
  /** How many of the slowest requests, and of the most recent slow ones, are kept. Default 20. */
  slowRequests?: number
  /** Distinct route labels tracked; further labels are reported as `other`. Default 100. */
  maxRoutes?: number
  /** Distinct query shapes tracked; further shapes are reported as `other`. Default 200. */
  maxQueryShapes?: number
  /** One request running one query shape this many times is an N+1 finding. Default 5. */
  nPlusOneThreshold?: number
  /** Send `Server-Timing: total;dur=…, <span>;dur=…` on every response. Default `false`. */
  serverTiming?: boolean
  /** prom-client registry to register the metrics on; `false` registers none. Default: a new `Registry`. */
  registry?: MetricsRegistry | false
  /** Buckets (seconds) of `http_server_request_duration_seconds`. */
  buckets?: readonly number[]
  /** How often event-loop delay and memory are sampled. Default `'5s'`. */
  sampleInterval?: number | string
  /** Sample event-loop delay (the lateness of a 10 ms probe timer). Default `true`. */
  eventLoop?: boolean
  /**
   * Missing-index advice: for slow shapes of instrumented drivers, run `EXPLAIN` (PostgreSQL
   * `FORMAT JSON`, MariaDB/MySQL `FORMAT=JSON`, SQLite `EXPLAIN QUERY PLAN`) after the response
   * on every `sampleEvery`-th execution at or over `minDurationMs`, and turn a sequential / full
   * scan of a table of at least `minRows` rows into advice. `true` = `{ minDurationMs: 50,
   * sampleEvery: 10, minRows: 10000 }`. Default `false`. MariaDB/MySQL EXPLAINs run on the first
   * pool given to `watchPool`.
   */
  explain?: boolean | { minDurationMs?: number; sampleEvery?: number; minRows?: number }
  logger?: Logger
  /**
   * Monotonic clock in nanoseconds. Default `process.hrtime.bigint`. Windows rotate and durations
   * are measured on it, so a test can drive both without sleeping.
   */
  clock?: () => bigint
}

export interface SlowRequest {
  time: string
  method: string
  route: string
  status: number
  outcome: Outcome
  durationMs: number
  spans: Array<{ name: string; durationMs: number }>
}

export interface SlowRequestReport {
  thresholdMs: number
  slowest: SlowRequest[]
  recent: SlowRequest[]
}

/** Extra per-route detail beyond the contract's `RouteLatency`. */
export interface RouteDetail extends RouteLatency {
  outcomes: Record<Outcome, number>
  statusClasses: Record<string, number>
}

export interface ProfilerFullStats extends ProfilerStats {
  routes: RouteDetail[]
  slowRequests: SlowRequestReport
  insights: Insight[]
}

/** The middleware with its members attached. */
export interface Profiler extends RequestHandler, ProfilerSource {
  readonly name: 'profiler'
  /** The registry the metrics live on, or `undefined` when metrics are off. */
  readonly registry: MetricsRegistry | undefined
  query<T>(req: Request | undefined, sql: string, fn: () => T): T
  /**
   * Times every query of the given driver modules and ties it to its request (through an
   * AsyncLocalStorage entered by this middleware); queries outside a request go to the
   * `background` bucket. `'auto'` instruments the drivers installed beside the app. Idempotent;
   * returns the drivers now instrumented.
   */
  instrument(modules: Readonly<InstrumentModules> | 'auto'): string[]
  /** Removes every wrap and subscription of this profiler (others keep theirs). */
  uninstrument(): void
  /** Reports size, idle, in use, waiting, acquire-wait p95 and saturation of a pool; returns the unwatch. */
  watchPool(pool: unknown, options?: Readonly<WatchPoolOptions>): () => void
  span<T>(req: Request | undefined, name: string, fn: () => T): T
  routes(window?: WindowName): RouteDetail[]
  /**
   * Per-route HDR histograms of `window` (default `'1m'`), mergeable across instances; `'10s'` is
   * the last closed 10 s interval alone (the requests of the interval under way are not in it yet).
   */
  histograms(window?: HistogramWindow): RouteHistogram[]
  slowest(limit?: number, window?: WindowName): RouteDetail[]
  slowRequests(limit?: number): SlowRequestReport
  overview(): ProfilerOverview
  queries(): QueryReport
  insights(): Insight[]
  stats(): ProfilerFullStats
  /** Stops the sampling timers and unregisters the metrics. Idempotent. */
  close(): void
}
