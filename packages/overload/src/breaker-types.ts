import type { BreakerState, BreakerStats, Logger } from '@hotpath/core'
import type { MetricsRegistry } from './types'

/** The part of an ioredis client the shared open state needs. */
export interface RedisLike {
  set(key: string, value: string, px: 'PX', ms: number): Promise<unknown>
  get(key: string): Promise<string | null>
  del(key: string): Promise<unknown>
}

export interface SharedStateOptions {
  /** An ioredis client (standalone or Cluster). */
  readonly client: RedisLike
  /** Key prefix. Default `'hotpath:breaker:'`; the key is the prefix and the breaker's name. */
  readonly prefix?: string
  /** How often an instance looks for an open state published by another. Default `'1s'`. */
  readonly pollInterval?: number | string
  /** Deadline of each Redis command. Default `'200ms'`. */
  readonly commandTimeout?: number | string
}

export interface BreakerOptions<A extends unknown[] = unknown[], R = unknown> {
  /** Names the breaker in stats and metrics. Default the function's name, or `'breaker'`. */
  readonly name?: string
  /** A call slower than this fails with `ERR_HOTPATH_BREAKER_TIMEOUT`, or `false`. Default `'10s'`. */
  readonly timeout?: number | string | false
  /** Failure share (0..1) of the rolling window at which the circuit opens. Default 0.5. */
  readonly failureRate?: number
  /** A successful call slower than this counts as slow. Default `'1s'`. */
  readonly slowCallDuration?: number | string
  /** Slow share (0..1) of the rolling window at which the circuit opens. Default 1 (every call slow). */
  readonly slowCallRate?: number
  /** Length of the rolling window. Default `'10s'`. */
  readonly window?: number | string
  /** Buckets the window is counted in. Default 10. */
  readonly buckets?: number
  /** Calls the window needs before either rate can open the circuit. Default 10. */
  readonly minimumCalls?: number
  /** How long the circuit stays open before one probe call is let through (half-open). Default `'5s'`. */
  readonly resetTimeout?: number | string
  /** Most calls running at once; beyond it a call is rejected. Default unlimited. */
  readonly capacity?: number
  /** Answers instead of an error (open circuit, timeout, failure); receives the arguments and the error. */
  readonly fallback?: (...args: [...A, Error]) => R | Promise<R>
  /** Decides which errors count as failures (e.g. not a 404). Default every error. */
  readonly isFailure?: (error: unknown) => boolean
  /** Share the open state through Redis, so one instance's discovery opens it fleet-wide. */
  readonly shared?: SharedStateOptions
  /** prom-client registry for `hotpath_breaker_*` metrics. Default none. */
  readonly registry?: MetricsRegistry
  /** Default `'hotpath_breaker_'`. */
  readonly metricsPrefix?: string
  /** Default `console`. */
  readonly logger?: Logger
}

/** A callable breaker: `await getUser(id)` runs `fetchUser(id)` under the circuit. */
export interface Breaker<A extends unknown[] = unknown[], R = unknown> {
  (...args: A): Promise<R>
  readonly state: BreakerState
  stats(): BreakerStats
  /** Forces the circuit open (until `resetTimeout` lets a probe through) or closed. */
  open(): void
  close(): void
  /** Stops timers; further calls are rejected. */
  shutdown(): void
}
