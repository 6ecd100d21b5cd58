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
  /** Sample event-loop delay with `perf_hooks.monitorEventLoopDelay`. Default `true`. */
  eventLoop?: boolean
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
  span<T>(req: Request | undefined, name: string, fn: () => T): T
  routes(window?: WindowName): RouteDetail[]
  slowest(limit?: number, window?: WindowName): RouteDetail[]
  slowRequests(limit?: number): SlowRequestReport
  overview(): ProfilerOverview
  queries(): QueryReport
  insights(): Insight[]
  stats(): ProfilerFullStats
  /** Stops the sampling timers and unregisters the metrics. Idempotent. */
  close(): void
}
