import type {
  CacheSource,
  CompressionStats,
  DataCacheSource,
  FleetSource,
  JsonStats,
  Logger,
  OverloadStats,
  ProfilerSource,
  RateLimitStats,
  StatsSource,
  TasksSource,
} from '@hotpath/core'
import type { Request, Router } from 'express'

/** What the caller may do: read numbers, or change state (cache invalidation). */
export type Action = 'read' | 'write'

/** Decides per request; a rejection or throw is treated as "no" and logged. */
export type Authorize = (req: Request, action: Action) => boolean | Promise<boolean>

/**
 * The auth decision the dashboard refuses to build without:
 * - `{ token }`: `Authorization: Bearer <token>`, or the sign-in form that trades the token for a session cookie;
 * - `{ authorize }`: the application decides (its own session, SSO, …) for `'read'` and `'write'`;
 * - `'none'`: open to anyone who can reach the mount path (a private network, a separate port).
 */
export type AuthOption = { readonly token: string } | { readonly authorize: Authorize } | 'none'

/** The sources the dashboard reads; any subset works. */
export interface DashboardSources {
  readonly cache?: CacheSource
  readonly compression?: StatsSource<CompressionStats>
  readonly profiler?: ProfilerSource
  readonly rateLimit?: StatsSource<RateLimitStats>
  /** A `@hotpath/tasks` instance: `/tasks` endpoints and the tasks panel. */
  readonly tasks?: TasksSource
  /** An `@hotpath/overload` guard: the overload panel (admitted, refused, limit, queue delay, breakers). */
  readonly overload?: StatsSource<OverloadStats>
  /** A `@hotpath/cache` instance: `GET /cache/data`, its panel, and `POST /cache/clear { tag }` reaches it. */
  readonly dataCache?: DataCacheSource
  /** A `@hotpath/json` `fields()` instance: `GET /json/stats` and bytes saved by masking beside compression's. */
  readonly json?: StatsSource<JsonStats>
}

/** The part of a prom-client `Registry` that `/metrics` needs (prom-client stays optional). */
export interface MetricsRegistry {
  readonly contentType: string
  metrics(): string | Promise<string>
}

export interface LimitPolicyOptions {
  /** Requests per window per client. */
  readonly limit?: number
  /** Window as ms or `'1m'`. */
  readonly window?: number | string
}

export interface RateLimitOption {
  /** GET/HEAD requests. Default `{ limit: 600, window: '1m' }`. */
  readonly read?: LimitPolicyOptions
  /** POST requests (sign-in, sign-out, cache clear). Default `{ limit: 10, window: '1m' }`. */
  readonly write?: LimitPolicyOptions
}

export interface SessionOption {
  /** How long a sign-in lasts. Default `'12h'`. */
  readonly ttl?: number | string
  /** Sessions held at once; the oldest is dropped beyond this. Default 1000. */
  readonly max?: number
  /** Default `'hotpath_dashboard'`. */
  readonly cookieName?: string
  /** Cookie `Path`. Default: the mount path (`req.baseUrl`). Set it when a proxy adds a prefix. */
  readonly cookiePath?: string
}

export interface InsightThresholds {
  /** p95 (ms) at or above which a GET route counts as slow. Default 200. */
  readonly slowMs: number
  /** Requests a route needs in the window before latency or 429 rules judge it. Default 20. */
  readonly minRequests: number
  /** Overall cache hit ratio below which `low-hit-ratio` fires. Default 0.5. */
  readonly lowHitRatio: number
  /** Cache lookups needed before `low-hit-ratio` judges. Default 100. */
  readonly minLookups: number
  /** Share of a route's requests answered 429 at which `many-429` fires. Default 0.1. */
  readonly limitedRatio: number
  /** Event-loop delay p99 (ms) for a warning. Default 100. */
  readonly eventLoopWarnMs: number
  /** Event-loop delay p99 (ms) for critical. Default 500. */
  readonly eventLoopCriticalMs: number
  /** Error rate (0..1) over the window for a warning. Default 0.01. */
  readonly errorRateWarn: number
  /** Error rate (0..1) over the window for critical. Default 0.05. */
  readonly errorRateCritical: number
}

export interface DashboardOptions {
  /** Required: see {@link AuthOption}. */
  readonly auth: AuthOption
  /**
   * A `@hotpath/fleet` instance: `/fleet` and `/history` show every instance of the app, sign-ins
   * are valid on every instance, cache clears and task cancels reach all. Default: this process only.
   */
  readonly fleet?: FleetSource
  /**
   * Server-side history of this process (when no `fleet` is given): how often a point is taken.
   * Default `{ interval: '10s' }` (an hour of 10 s points, a day of 1 min points); `false` for none.
   */
  readonly history?: { readonly interval?: number | string } | false
  /** Default: none (every source endpoint answers 404). */
  readonly sources?: DashboardSources
  /** prom-client registry served at `/metrics`. Default: the profiler source's registry, else none (404). */
  readonly registry?: MetricsRegistry
  /** Per-client limits on the dashboard's own endpoints, or `false`. */
  readonly rateLimit?: RateLimitOption | false
  readonly session?: SessionOption
  readonly insights?: Partial<InsightThresholds>
  /** Window the page and `/dashboard` default to. Default `'5m'`. */
  readonly window?: '1m' | '5m' | '1h' | 'all'
  /** How often the page polls `/dashboard`. Default `'2s'`. */
  readonly pollInterval?: number | string
  /** Extra origins (`https://admin.example.com`) allowed to post, beyond the request's own host. */
  readonly allowedOrigins?: readonly string[]
  /** Default `console`. */
  readonly logger?: Logger
  /** Clock in ms, for tests. Default `Date.now`. */
  readonly now?: () => number
}

/** The router `dashboard()` returns, with `mark(label)` for deploy markers on the charts. */
export type DashboardRouter = Router & { mark(label: string): Promise<void> }
