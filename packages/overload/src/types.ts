import type { Logger, Matcher, OverloadPriority, OverloadRefusal, OverloadStats } from '@hotpath/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { Breaker, BreakerOptions } from './breaker-types'

export type Priority = OverloadPriority
export type RefusalReason = OverloadRefusal

/** One priority rule; the first rule whose `match` accepts the request decides. */
export interface PriorityRule {
  /** A path glob (`/api/**`), a RegExp on the path, or `(req) => boolean`. */
  readonly match: Matcher
  readonly priority: Priority
}

/** Passed to a custom `handler` when a request is refused. */
export interface RefusalInfo {
  readonly reason: RefusalReason
  readonly priority: Priority
  /** Seconds sent in `Retry-After` (the handler may send its own). */
  readonly retryAfter: number
}

export type RefusalHandler = (req: Request, res: Response, next: NextFunction, info: RefusalInfo) => unknown

export interface EventLoopOptions {
  /** Smoothed event-loop utilisation (0..1) at or above which the loop counts as busy. Default 0.85. */
  readonly maxUtilization?: number
  /** Smoothed event-loop delay above which a busy loop counts as falling behind, ms or `'20ms'`.
   * The refusal probability rises while both hold and falls while the loop keeps up. Default `'20ms'`. */
  readonly maxDelay?: number | string
  /** Weight of the newest sample in the moving average, 0 < α ≤ 1. Default 0.3. */
  readonly smoothing?: number
}

/** The part of a prom-client `Registry` the guard needs (prom-client stays optional). */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void
  getSingleMetric(name: string): unknown
}

export interface OverloadOptions {
  /** CoDel target: once congested, a request queued longer than this is refused. Default `'5ms'`. */
  readonly target?: number | string
  /** CoDel interval: the queue counts as congested once it has not emptied for this long; it is also
   * the longest a request waits while not congested. Default `'100ms'`. */
  readonly interval?: number | string
  /** Requests the admission queue holds; beyond it the oldest is refused (`queue-full`). Default 1000. */
  readonly maxQueue?: number
  /** Adaptive concurrency limit on or off. Default `true`. */
  readonly concurrency?: boolean
  /** Lower bound of the limit, and the concurrency minRTT is measured at. Default 3. */
  readonly minLimit?: number
  /** Upper bound of the limit. Default 1000. */
  readonly maxLimit?: number
  /** The limit before the first measurement has moved it. Default 20. */
  readonly initialLimit?: number
  /** How often the limit follows the sampled latency. Default `'100ms'`. */
  readonly sampleInterval?: number | string
  /** Latency percentile (0..1) of a sample window compared with minRTT. Default 0.5. */
  readonly percentile?: number
  /** Latency above minRTT still counted as no queueing, as a fraction of minRTT. Default 0.25. */
  readonly rttBuffer?: number
  /** How often minRTT is measured again. Default `'60s'`. */
  readonly minRttInterval?: number | string
  /** Random spread of that interval, 0..1 (± this fraction). Default 0.15. */
  readonly minRttJitter?: number
  /** Requests a minRTT measurement takes. Default 50. */
  readonly minRttSamples?: number
  /** The event-loop guard, or `false`. Default on. */
  readonly eventLoop?: EventLoopOptions | false
  /** Priority rules, first match wins. Default none (every request is `defaultPriority`). */
  readonly priorities?: readonly PriorityRule[]
  /** Default `'normal'`. */
  readonly defaultPriority?: Priority
  /** Status of a refusal. Default 503. */
  readonly statusCode?: number
  /** Seconds in `Retry-After` (RFC 9110 §10.2.3). Default 1. */
  readonly retryAfter?: number
  /** Body of a refusal (a string is sent as text, an object as JSON). Default a short text. */
  readonly message?: string | Record<string, unknown>
  /** Answers a refusal instead of the default 503 (guarded: a throw falls back to the default). */
  readonly handler?: RefusalHandler
  /** prom-client registry for `hotpath_overload_*` metrics. Default none. */
  readonly registry?: MetricsRegistry
  /** Default `'hotpath_overload_'`. */
  readonly metricsPrefix?: string
  /** Default `console`. */
  readonly logger?: Logger
}

/** The middleware with its members. */
export interface OverloadGuard extends RequestHandler {
  readonly name: 'overload' | string
  stats(): OverloadStats
  /** A circuit breaker whose state and counts appear in this guard's `stats().breakers`. */
  breaker<A extends unknown[], R>(
    fn: (...args: A) => Promise<R> | R,
    options?: BreakerOptions<A, R>,
  ): Breaker<A, R>
  /** Stops the timers and shuts the guard's breakers down. */
  close(): void
}
