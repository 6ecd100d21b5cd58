import type { AsyncLocalStorage } from 'node:async_hooks'
import { type CallSites, createCallSites } from './callsite'
import type { Explainer, TargetFactory } from './explain'
import type { QueryLog, Shape } from './queries'
import type { RouteTable } from './routes'
import type { RequestState } from './timing'
import { type Driver, ShapeUse } from './usage'

/** The store of queries the profiler runs itself (EXPLAIN): never recorded. */
export const INTERNAL = Symbol('hotpath.profiler.internal')
export type Store = RequestState | typeof INTERNAL

/** One query in flight; `end` is called exactly once by the driver wrap. */
export class QueryRun {
  readonly recorder: Recorder
  readonly state: RequestState | undefined
  readonly use: ShapeUse | undefined
  readonly shape: Shape
  /** Nanoseconds on the recorder's query clock (a double: no BigInt per query). */
  readonly start: number
  readonly sql: string
  readonly values: unknown
  readonly factory: TargetFactory | undefined
  readonly ctx: unknown
  private ended = false

  constructor(
    recorder: Recorder,
    state: RequestState | undefined,
    use: ShapeUse | undefined,
    shape: Shape,
    sql: string,
    values: unknown,
    factory: TargetFactory | undefined,
    ctx: unknown,
  ) {
    this.recorder = recorder
    this.state = state
    this.use = use
    this.shape = shape
    this.sql = sql
    this.values = values
    this.factory = factory
    this.ctx = ctx
    this.start = recorder.nowNs()
  }

  end(): void {
    if (this.ended) return
    this.ended = true
    try {
      this.recorder.finish(this)
    } catch {
      // Bookkeeping never changes what the driver returns.
    }
  }
}

export interface RecorderDeps {
  readonly clock: () => bigint
  readonly queryLog: QueryLog
  readonly routes: RouteTable
  readonly wallMs: (now: bigint) => number
}

/**
 * The profiler's side of every instrumented query: ties it to the request in the
 * AsyncLocalStorage (or to the background bucket), counts it for N+1 / duplicate findings and
 * times it. `suppressed` is raised while knex runs a query, so the driver under it is not
 * counted twice.
 */
export class Recorder {
  readonly clock: () => bigint
  /**
   * The clock queries are timed on, in ns as a double: `performance.now()` with the default
   * clock (two BigInt allocations and a BigInt subtraction less per query than
   * `process.hrtime.bigint()`), the given clock otherwise, so a test's fake clock still drives it.
   */
  readonly nowNs: () => number
  /** This profiler's reader of a query's application frame (its memo is its own). */
  readonly callSite = createCallSites()
  private readonly deps: RecorderDeps
  context: AsyncLocalStorage<Store> | undefined = undefined
  explainer: Explainer | undefined = undefined
  suppressed = 0

  constructor(deps: RecorderDeps) {
    this.deps = deps
    this.clock = deps.clock
    this.nowNs =
      deps.clock === process.hrtime.bigint ? () => performance.now() * 1e6 : () => Number(deps.clock())
  }

  begin(
    driver: Driver,
    sql: string,
    values: unknown,
    factory?: TargetFactory,
    ctx?: unknown,
    /** The outermost profiler frame of this call, where a call site's frames start. */
    // biome-ignore lint/complexity/noBannedTypes: see CallSites.
    below: Function = Recorder.prototype.begin,
  ): QueryRun | undefined {
    if (this.suppressed > 0 || typeof sql !== 'string') return undefined
    const store = this.context?.getStore()
    if (store === INTERNAL) return undefined
    const shape = this.deps.queryLog.shapeOf(sql)
    const state = store === undefined || store.done ? undefined : store
    const use =
      state === undefined ? undefined : useOf(state, shape, driver, sql, values, this.callSite, below)
    const explain = this.explainer !== undefined
    return new QueryRun(
      this,
      state,
      use,
      shape,
      explain ? sql : '',
      explain ? values : undefined,
      explain ? factory : undefined,
      explain ? ctx : undefined,
    )
  }

  finish(run: QueryRun): void {
    const ns = Math.max(0, this.nowNs() - run.start)
    const log = this.deps.queryLog
    const state = run.state
    if (run.use !== undefined && state !== undefined) run.use.end(ns, state.last === run.use)
    else {
      log.backgroundQueries++
      log.backgroundNs += ns
    }
    if (log.record(run.shape, ns)) {
      const route = state === undefined ? 'background' : this.deps.routes.recordFor(state.req as never).label
      log.addSlow(this.deps.wallMs(this.clock()), route, run.shape, ns)
    }
    if (this.explainer !== undefined && run.factory !== undefined) {
      this.explainer.consider(run.shape, ns, run.factory, run.ctx, run.sql, run.values)
    }
  }

  /** Runs `fn` as the profiler's own work: queries inside it are not recorded. */
  internal<T>(fn: () => T): T {
    const context = this.context
    return context === undefined ? fn() : context.run(INTERNAL, fn)
  }
}

/** Counts one execution of `shape` in the request and returns its per-request use. */
export function useOf(
  state: RequestState,
  shape: Shape,
  driver: Driver,
  sql: string,
  values: unknown,
  callSite: CallSites,
  // biome-ignore lint/complexity/noBannedTypes: see CallSites.
  below: Function,
): ShapeUse {
  let uses = state.queries
  if (uses === null) {
    uses = new Map()
    state.queries = uses
  }
  let use = uses.get(shape)
  if (use === undefined) {
    use = new ShapeUse(shape, driver)
    uses.set(shape, use)
  }
  use.begin(sql, values, state.last === use, callSite, below)
  state.last = use
  state.queryCount++
  return use
}
