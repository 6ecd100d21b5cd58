import {
  createLogger,
  createPrototypeCheck,
  createResponseHook,
  getHeader,
  HotpathError,
  headersSent,
  methodOf,
  onResponse,
  setHeader,
  type WindowName,
  writableFinished,
} from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import { Explainer } from './explain'
import { createHistogramExport } from './histograms'
import { createInstrumentation } from './instrument'
import { HistogramPool } from './intervals'
import { defaultRegistry, registerMetrics } from './metrics'
import { createObservers, OBSERVE } from './observe'
import { resolveOptions } from './options'
import { createPools } from './pools'
import { QueryLog } from './queries'
import { Recorder, useOf } from './recorder'
import { createReports } from './reports'
import { RouteTable } from './routes'
import { startRuntimeSampler } from './runtime'
import { SLOT_NS } from './series'
import { SlowLog } from './slow'
import { MAX_SPANS, RECORD, RequestState, timed, tokenOf } from './timing'
import type { Outcome, Profiler, ProfilerOptions } from './types'

const PKG = '@hotpath/profiler'
/** Status recorded for a request the client abandoned before any header was sent (as nginx does). */
const CLIENT_CLOSED = 499

/**
 * Per-route latency percentiles over rolling windows, slow requests, query/span timing with N+1
 * detection, `Server-Timing` and Prometheus metrics. Mount it first so it times everything.
 */
export function profiler(options?: Readonly<ProfilerOptions>): Profiler {
  const config = resolveOptions(options)
  const log = createLogger(config.logger)
  const clock = config.clock
  const origin = clock()
  const startedAtMs = Date.now()
  const routes = new RouteTable(config.maxRoutes)
  const pool = new HistogramPool()
  const queryLog = new QueryLog(config)
  const slowLog = new SlowLog(config.slowRequests, config.slowThresholdNs)
  // Per-request state lives in this instance's WeakMap, never on `req`: Express gives every
  // request its app's prototype with `Object.setPrototypeOf`, after which each property written
  // to it costs several microseconds (bench/README.md, "Why no property on req or res").
  const states = new WeakMap<object, RequestState>()
  const stateOf = (req: object | undefined): RequestState | undefined =>
    req === undefined || req === null ? undefined : states.get(req)
  const sampler = startRuntimeSampler(config.sampleIntervalMs, config.eventLoop)

  let registry = config.registry === false ? undefined : config.registry
  if (config.registry === undefined) {
    registry = defaultRegistry()
    if (registry === undefined) {
      log.warnOnce(
        'ERR_HOTPATH_PROFILER_NO_PROM_CLIENT',
        `${PKG}: prom-client is not installed, so no Prometheus metrics are registered. Install prom-client, or pass registry: false to silence this.`,
      )
    }
  }
  const boundsNs = registry === undefined ? null : Float64Array.from(config.buckets, (b) => b * 1e9)
  let unregister = () => {}
  if (registry !== undefined) {
    unregister = registerMetrics(registry, {
      routes,
      buckets: config.buckets,
      eventLoopP99Ms: () => sampler.eventLoop().p99,
    })
  }

  const wallMs = (now: bigint) => startedAtMs + Number(now - origin) / 1e6
  const recorder = new Recorder({ clock, queryLog, routes, wallMs })
  const pools = createPools(() => Number(clock() - origin) / 1e6)
  const instrumentation = createInstrumentation(recorder, log, pools.mysqlPool)
  if (config.explain !== null) {
    recorder.explainer = new Explainer(config.explain, log, (fn) => recorder.internal(fn))
  }
  const observers = createObservers(config.nPlusOneThreshold)

  function finish(req: Request, res: Response, state: RequestState): void {
    if (state.done) return
    state.done = true
    // Gone from the WeakMap now rather than at the next GC: live weak entries cost every
    // scavenge (ephemeron processing) until their key dies.
    states.delete(req)
    const end = clock()
    const ns = Number(end - state.start)
    const slot = Math.floor(Number(end - origin) / SLOT_NS)
    const record = routes.recordFor(req)
    const outcome = outcomeOf(res)
    const status = headersSent(res) ? res.statusCode : CLIENT_CLOSED
    const error = status >= 500
    record.seriesFor(req.method, status, slot, boundsNs, pool).record(ns, slot, error)
    record.requests++
    record.outcomes[outcome]++
    if (state.queries !== null) {
      record.queries += state.queryCount
      if (queryLog.endRequest(record, state.queries, state.queryCount, wallMs(end))) record.nPlusOne++
    }
    if (observers.active()) observers.notify(req, record.label, state)
    if (!slowLog.wants(ns)) return
    if (ns >= config.slowThresholdNs) record.slow++
    slowLog.add({
      timeMs: wallMs(state.start),
      method: methodOf(req),
      route: record.label,
      status,
      outcome,
      durationNs: ns,
      spans: state.spans === null ? null : state.spans.slice(),
    })
  }

  // The end of every response is its 'close' event: Node (≥ 18) emits it exactly once per
  // ServerResponse, after 'finish' when the response completed and when the connection closed
  // first. No closure per request: on-finished does the same job with ~10 allocations per
  // request (ee-first listeners on the response and the socket), which showed in the bench as
  // GC time.
  function onClose(this: Response): void {
    const req = this.req
    const state = stateOf(req)
    if (state === undefined) return
    try {
      finish(req, this, state)
    } catch (err) {
      log.errorOnce('ERR_HOTPATH_PROFILER_RECORD', `${PKG}: failed to record a request.`, err)
    }
  }

  // Inside an Express app the 'close' is seen without a listener per response: `emit` is
  // wrapped once on the app's response prototype (which a mounted sub-app's responses inherit
  // too), and a response that did not pass through this profiler has no state there. Adding a
  // listener to each response was 0.8% of a 1 KB request in a CPU profile. Outside Express, in a
  // profiler mounted inside a sub-app (Express hands unanswered requests back to the parent with
  // the parent's prototype) or on a response whose `emit` was replaced on the instance, the
  // listener is added as before.
  const emitHooked = new WeakSet<object>()
  const hookable = createPrototypeCheck()
  let lastBase: object | undefined
  const hookEmit = (base: { emit: (...args: unknown[]) => boolean }): void => {
    emitHooked.add(base)
    const prev = base.emit
    Object.defineProperty(base, 'emit', {
      value: function hotpathEmit(this: Response, event: string | symbol, a?: unknown, b?: unknown): boolean {
        if (event === 'close') onClose.call(this)
        // Response events carry at most two arguments: forwarded as they came, without an array.
        // biome-ignore lint/complexity/noArguments: the count decides which call forwards them.
        const count = arguments.length
        if (count === 1) return prev.call(this, event)
        if (count === 2) return prev.call(this, event, a)
        if (count === 3) return prev.call(this, event, a, b)
        // biome-ignore lint/complexity/noArguments: any other count, forwarded untouched.
        return prev.apply(this, arguments as unknown as unknown[])
      },
      writable: true,
      configurable: true,
    })
  }
  const watchClose = (res: Response): void => {
    const base = Object.getPrototypeOf(res) as { emit: (...args: unknown[]) => boolean }
    if (base === lastBase && !Object.hasOwn(res, 'emit')) return
    if (hookable(base) && !Object.hasOwn(res, 'emit')) {
      if (!emitHooked.has(base)) hookEmit(base)
      lastBase = base
      return
    }
    // core's onResponse: Node's `on` without the uncached method lookup on an Express `res`.
    onResponse(res, 'close', onClose)
  }

  // W3C Server Timing: `total` plus each span, set as the headers go out (a prototype-level
  // hook: no property is written to `res`, see core's createResponseHook).
  const timingHook = createResponseHook<RequestState>({
    writeHead(res, state, prev, args) {
      timingHook.release(res)
      let value = `total;dur=${msText(Number(clock() - state.start))}`
      if (state.spans !== null) {
        for (const span of state.spans) value += `, ${span.name};dur=${msText(span.ns)}`
      }
      const existing = getHeader(res, 'server-timing')
      setHeader(res, 'Server-Timing', existing === undefined ? value : `${String(existing)}, ${value}`)
      return prev.apply(res, args)
    },
  })

  const withServerTiming = config.serverTiming
  const handler = function profiler(req: Request, res: Response, next: NextFunction): void {
    const state = new RequestState(clock(), req)
    states.set(req, state)
    watchClose(res)
    if (withServerTiming) timingHook.attach(res, state)
    // Instrumented queries find their request in this store; none exists until instrument().
    const context = recorder.context
    if (context === undefined) next()
    else context.run(state, next)
  }

  function query<T>(req: Request | undefined, sql: string, fn: () => T): T {
    if (typeof fn !== 'function')
      argumentError('query(req, sql, fn) needs fn, a function that runs the query.')
    const shape = queryLog.shapeOf(sql)
    const state = stateOf(req)
    const use =
      state !== undefined && !state.done
        ? useOf(state, shape, 'custom', sql, null, recorder.callSite, query)
        : undefined
    return timed(clock, fn, (ns) => {
      const now = clock()
      if (use !== undefined) use.end(ns, state?.last === use)
      if (queryLog.record(shape, ns)) {
        const route = req === undefined || req === null ? 'none' : routes.recordFor(req).label
        queryLog.addSlow(wallMs(now), route, shape, ns)
      }
    })
  }

  function span<T>(req: Request | undefined, name: string, fn: () => T): T {
    if (typeof fn !== 'function') argumentError('span(req, name, fn) needs fn, a function to time.')
    const state = stateOf(req)
    if (state === undefined) return fn()
    const token = tokenOf(name)
    return timed(clock, fn, (ns) => {
      if (state.spans === null) state.spans = []
      if (state.spans.length < MAX_SPANS) state.spans.push({ name: token, ns })
    })
  }

  const reports = createReports({
    routes,
    queryLog,
    slowLog,
    sampler,
    nPlusOneThreshold: config.nPlusOneThreshold,
    pools: pools.health,
    instrumented: instrumentation.names,
    startedAtMs,
    now: () => {
      const elapsedNs = Number(clock() - origin)
      return { slot: Math.floor(elapsedNs / SLOT_NS), elapsedNs }
    },
  })

  let closed = false
  const members = {
    registry,
    query,
    span,
    ...reports,
    instrument: instrumentation.instrument,
    uninstrument: instrumentation.uninstrument,
    watchPool: pools.watchPool,
    histograms: createHistogramExport(routes, () => {
      const elapsedNs = Number(clock() - origin)
      return { slot: Math.floor(elapsedNs / SLOT_NS), elapsedNs }
    }),
    close(): void {
      if (closed) return
      closed = true
      instrumentation.uninstrument()
      pools.close()
      sampler.close()
      unregister()
      unregister = () => {}
    },
  }
  Object.defineProperty(handler, RECORD, { value: finish })
  Object.defineProperty(handler, OBSERVE, { value: observers.add })
  return Object.assign(handler, members) as unknown as Profiler
}

function outcomeOf(res: Response): Outcome {
  if (writableFinished(res)) return res.statusCode >= 500 ? 'errored' : 'finished'
  if (headersSent(res) && isEventStream(getHeader(res, 'content-type'))) return 'streaming'
  return 'aborted'
}

function isEventStream(type: unknown): boolean {
  return typeof type === 'string' && type.toLowerCase().startsWith('text/event-stream')
}

function msText(ns: number): string {
  return (Math.round(ns / 1000) / 1000).toString()
}

function argumentError(message: string): never {
  throw new HotpathError('ERR_HOTPATH_PROFILER_ARGUMENT', `${PKG}: ${message}`)
}

export type { WindowName }
