import { isPromiseLike } from '@hotpath/core'
import type { Shape } from './queries'
import type { ShapeUse } from './usage'

/** What the profiler keeps for one request while it runs (in the instance's WeakMap keyed by `req`). */
export class RequestState {
  readonly start: bigint
  /** The request, for the route label of a slow query (the state dies with the request). */
  readonly req: object
  spans: Array<{ name: string; ns: number }> | null = null
  queries: Map<Shape, ShapeUse> | null = null
  /** The shape of the latest query, for Sentry's "consecutive" rule. */
  last: ShapeUse | null = null
  queryCount = 0
  done = false

  constructor(start: bigint, req: object) {
    this.start = start
    this.req = req
  }
}

/**
 * The recording step of a finished request, attached to the middleware under this symbol (not
 * enumerable, not public API) so a micro-benchmark and the cardinality tests can drive it directly.
 */
export const RECORD: unique symbol = Symbol('hotpath.profiler.record')
/** Spans kept per request; a loop calling `span()` must not grow a request without bound. */
export const MAX_SPANS = 32

/**
 * Runs `fn` and reports its duration to `done`, for a sync return, a sync throw, a resolved and
 * a rejected promise alike. The caller gets back exactly what `fn` produced: the same value, the
 * same error object; a promise's settlement is observed through `then`, whose result is returned
 * so a rejection stays the caller's to handle (and never becomes an unhandled one of ours).
 */
export function timed<T>(clock: () => bigint, fn: () => T, done: (ns: number) => void): T {
  const start = clock()
  const finish = () => {
    try {
      done(Number(clock() - start))
    } catch {
      // Bookkeeping must never change what the caller's code returns or throws.
    }
  }
  let result: T
  try {
    result = fn()
  } catch (err) {
    finish()
    throw err
  }
  if (!isPromiseLike(result)) {
    finish()
    return result
  }
  return result.then(
    (value) => {
      finish()
      return value
    },
    (err: unknown) => {
      finish()
      throw err
    },
  ) as T
}

/** A span name as a Server-Timing metric name (an RFC 9110 §5.6.2 token), at most 64 chars. */
export function tokenOf(name: string): string {
  const text = typeof name === 'string' ? name : String(name)
  const token = text.replace(/[^!#$%&'*+\-.^_`|~0-9A-Za-z]/g, '_').slice(0, 64)
  return token === '' ? 'span' : token
}
