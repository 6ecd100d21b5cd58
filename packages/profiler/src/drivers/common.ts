import type { TargetFactory } from '../explain'
import type { QueryRun, Recorder } from '../recorder'
import type { Driver } from '../usage'

/** What `beginAll` hands back: nothing, one run (the usual single profiler), or several. */
export type Runs = QueryRun | QueryRun[] | undefined

export function beginAll(
  sinks: readonly Recorder[],
  driver: Driver,
  sql: string,
  values: unknown,
  factory?: TargetFactory,
  ctx?: unknown,
): Runs {
  if (sinks.length === 1) return (sinks[0] as Recorder).begin(driver, sql, values, factory, ctx, beginAll)
  let out: QueryRun[] | undefined
  for (const sink of sinks) {
    const run = sink.begin(driver, sql, values, factory, ctx, beginAll)
    if (run === undefined) continue
    if (out === undefined) out = []
    out.push(run)
  }
  return out
}

export function endAll(runs: Runs): void {
  if (runs === undefined) return
  if (!Array.isArray(runs)) {
    runs.end()
    return
  }
  for (const run of runs) run.end()
}

/** A callback that ends the runs first, then calls the caller's with the same `this` and arguments. */
export function endingCallback<F extends (...args: never[]) => unknown>(runs: Runs, callback: F): F {
  return function (this: unknown, ...args: never[]) {
    endAll(runs)
    return callback.apply(this, args)
  } as F
}

/** Observes a promise's settlement without changing it (the caller keeps its rejection). */
export function endOnSettle(runs: Runs, result: unknown): void {
  const p = result as { then?: (ok: () => void, err: () => void) => unknown } | null
  if (p !== null && typeof p === 'object' && typeof p.then === 'function') {
    p.then(
      () => endAll(runs),
      () => endAll(runs),
    )
  } else {
    endAll(runs)
  }
}

/** Runs `fn` as every sink's own work, so the driver call under a wrapped pool call is not counted again. */
export function insideAll<T>(sinks: readonly Recorder[], fn: () => T, i = 0): T {
  if (i >= sinks.length) return fn()
  return (sinks[i] as Recorder).internal(() => insideAll(sinks, fn, i + 1))
}

/**
 * `fn` bound to the caller's store in every sink's AsyncLocalStorage (the request, or none):
 * for a callback a pool calls later from another request's context. Cheaper than
 * `AsyncResource.bind`, which creates an async resource (and two deprecation wrappers) per call.
 */
export function bindStores<F extends (...args: never[]) => unknown>(sinks: readonly Recorder[], fn: F): F {
  let bound = fn
  for (const sink of sinks) {
    const context = sink.context
    if (context === undefined) continue
    const store = context.getStore()
    const inner = bound
    bound = function (this: unknown, ...args: never[]) {
      return store === undefined
        ? context.exit(() => inner.apply(this, args))
        : context.run(store, () => inner.apply(this, args))
    } as F
  }
  return bound
}
