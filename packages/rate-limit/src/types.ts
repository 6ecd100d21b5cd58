import type { Dynamic, Logger } from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'

export type Algorithm = 'fixed-window' | 'sliding-window' | 'token-bucket' | 'gcra'

/** One resolved quota policy, as a store sees it. All times in milliseconds. */
export interface Policy {
  readonly algorithm: Algorithm
  /** Units allowed per window (the refill rate of token-bucket and gcra). */
  readonly limit: number
  readonly windowMs: number
  /** Capacity of token-bucket / gcra (requests that may arrive at once). Equals `limit` unless set. */
  readonly burst: number
}

/** What a store answers for one key. A plain object; only real failures reject. */
export interface Decision {
  readonly allowed: boolean
  /** Units left after this request (never negative). */
  readonly remaining: number
  /** Milliseconds until the quota is fully available again. */
  readonly resetMs: number
  /** Milliseconds until a request of the same cost would be allowed (0 when allowed). */
  readonly retryAfterMs: number
}

/**
 * The promise-or-value store contract. `consume` with `cost` 0 reads without writing.
 * A store that answers synchronously keeps the middleware free of promises.
 */
export interface Store {
  readonly kind: string
  consume(key: string, policy: Policy, cost: number): Decision | Promise<Decision>
  /** Forgets `key` (express-rate-limit's store method of the same name). */
  resetKey(key: string): void | Promise<void>
  /**
   * Gives back `cost` units counted for `key` (`skipFailedRequests`, `skipSuccessfulRequests`),
   * as long as they still count: a unit of a window that has ended is not given back.
   */
  refund?(key: string, policy: Policy, cost: number): void | Promise<void>
  close?(): void | Promise<void>
}

/**
 * Which rate-limit header fields a response carries. `'draft'` (alias `'draft-8'`) is the
 * current IETF draft's `RateLimit`/`RateLimit-Policy` Structured Fields; `'draft-6'` and
 * `'draft-7'` are the earlier drafts express-rate-limit calls by these names; `'legacy'` is
 * `X-RateLimit-*`; `'both'` is `['draft', 'legacy']`. A list combines them.
 */
export type HeaderFormat = 'draft' | 'draft-6' | 'draft-7' | 'draft-8' | 'legacy'
export type HeadersMode = HeaderFormat | 'both' | false | readonly HeaderFormat[]

export type StoreErrorPolicy = 'open' | 'closed' | 'memory'

/** Passed to a custom `handler` when a request is limited. */
export interface LimitInfo {
  readonly key: string
  readonly policy: Policy
  readonly decision: Decision
  /** Policy name used in the `RateLimit` headers. */
  readonly name: string
}

export type LimitHandler = (req: Request, res: Response, next: NextFunction, info: LimitInfo) => unknown

/** The part of a prom-client `Registry` the limiter needs (prom-client stays optional). */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void
  getSingleMetric(name: string): unknown
}

export interface RateLimitOptions {
  /** Default `'sliding-window'`. */
  algorithm?: Algorithm
  /** Units per window. Default 100. */
  limit?: Dynamic<number>
  /** Window as ms or `'1m'`. Default `'1m'`. */
  window?: Dynamic<number | string>
  /** Capacity of token-bucket / gcra. Default: `limit`. */
  burst?: number
  /** Units one request consumes. Default 1. */
  cost?: Dynamic<number>
  /** Client key. Default: `ipKey(req.ip)` (IPv6 masked to /56, IPv4-mapped folded). */
  key?: Dynamic<string>
  /** Requests for which this returns true are not counted. Default: none. */
  skip?: (req: Request, res: Response) => boolean | Promise<boolean>
  /** Give back the units of a request whose response failed (see `requestWasSuccessful`). Default `false`. */
  skipFailedRequests?: boolean
  /** Give back the units of a request whose response succeeded. Default `false`. */
  skipSuccessfulRequests?: boolean
  /**
   * Whether a finished response counts as a success. Default: status below 400. A response
   * closed before it finished counts as failed.
   */
  requestWasSuccessful?: (req: Request, res: Response) => boolean | Promise<boolean>
  /** Prefix length an IPv6 client is keyed by (the default key only), 1–128. Default 56. */
  ipv6Subnet?: number
  /** Default: a new `MemoryStore`. A store serves one limiter. */
  store?: Store
  /** Default `'draft'`. */
  headers?: HeadersMode
  /** Default 429. */
  statusCode?: number
  /** Body of the limited response; a function may return a promise. Default `'Too many requests, please try again later.'`. */
  message?: string | object | ((req: Request, res: Response) => string | object | Promise<string | object>)
  /** Replaces the default limited response. */
  handler?: LimitHandler
  /** Default `'memory'`. */
  onStoreError?: StoreErrorPolicy
  /** Policy name in `RateLimit`/`RateLimit-Policy` and stats. Default `'default'` (`'route<n>'` for routes). */
  name?: string
  /** Default `console`. */
  logger?: Logger
  /** prom-client registry for counters. Default: no metrics. */
  registry?: MetricsRegistry
  /** Prefix of the metric names. Default `'hotpath_rate_limit_'`. */
  metricsPrefix?: string
  /** Clock in ms, for tests. Default `Date.now`. */
  now?: () => number
}

/** Options of `limiter.route()`: the policy fields plus the response fields. */
export type RouteOptions = Pick<
  RateLimitOptions,
  | 'algorithm'
  | 'limit'
  | 'window'
  | 'burst'
  | 'cost'
  | 'key'
  | 'skip'
  | 'skipFailedRequests'
  | 'skipSuccessfulRequests'
  | 'requestWasSuccessful'
  | 'ipv6Subnet'
  | 'headers'
  | 'statusCode'
  | 'message'
  | 'handler'
  | 'name'
>
