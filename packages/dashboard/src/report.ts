import type { OnceLogger, WindowName } from '@hotpath/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { insightsOf, type Snapshot, statusOf } from './insights'
import type { Config } from './options'
import { limitParam, windowParam } from './query'

/** Every JSON document the router sends carries this version; a breaking change bumps it. */
export const SCHEMA = 1

type Sources = Config['sources']

function badRequest(res: Response, message: string): void {
  res.status(400).json({ schema: SCHEMA, error: 'bad_request', message })
}

/** Wraps a handler so a throwing or rejecting source goes to `next(err)`, never to an unhandled rejection. */
export function guarded(handler: (req: Request, res: Response) => unknown): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    try {
      const result = handler(req, res)
      if (result instanceof Promise) result.catch(next)
    } catch (err) {
      next(err)
    }
  }
}

const stamp = () => ({ schema: SCHEMA, generatedAt: new Date().toISOString() })

/** `GET /cache/stats`, `/compression/stats`, `/ratelimit/stats`: one source's `stats()`, verbatim. */
export function statsHandler(name: 'cache' | 'compression' | 'rateLimit', sources: Sources): RequestHandler {
  return guarded((_req, res) => {
    res.json({ ...stamp(), [name]: sources[name]?.stats() })
  })
}

export function overviewHandler(sources: Sources): RequestHandler {
  return guarded((_req, res) => {
    res.json({ ...stamp(), overview: sources.profiler?.overview() })
  })
}

export function slowestHandler(sources: Sources, config: Config): RequestHandler {
  return guarded((req, res) => {
    const window = windowParam(req, config.window)
    if (!window.ok) return badRequest(res, window.message)
    const limit = limitParam(req)
    if (!limit.ok) return badRequest(res, limit.message)
    const routes = sources.profiler?.slowest(limit.value, window.value) ?? []
    res.json({ ...stamp(), window: window.value, limit: limit.value, routes: routes.slice(0, limit.value) })
  })
}

export function queriesHandler(sources: Sources): RequestHandler {
  return guarded((_req, res) => {
    res.json({ ...stamp(), queries: sources.profiler?.queries() })
  })
}

/**
 * Reads every source once. A source that throws is reported in `errors` (and logged once)
 * instead of failing the whole document: one broken package must not blind the dashboard.
 */
function collect(sources: Sources, window: WindowName, log: OnceLogger, limit = 0) {
  const errors: Array<{ source: string; message: string }> = []
  const read = <T>(source: string, fn: () => T): T | undefined => {
    try {
      return fn()
    } catch (err) {
      log.errorOnce(
        `ERR_HOTPATH_DASHBOARD_SOURCE_${source}`,
        `@hotpath/dashboard: ${source} failed; its section is empty.`,
        err,
      )
      if (!errors.some((e) => e.source === source)) {
        errors.push({ source, message: err instanceof Error ? err.message : String(err) })
      }
      return undefined
    }
  }
  const { profiler, cache, compression, rateLimit } = sources
  const snapshot: Snapshot = {
    window,
    overview: profiler && read('profiler', () => profiler.overview()),
    routes: profiler && read('profiler', () => profiler.routes(window)),
    queries: profiler && read('profiler', () => profiler.queries()),
    cache: cache && read('cache', () => cache.stats()),
    compression: compression && read('compression', () => compression.stats()),
    rateLimit: rateLimit && read('rateLimit', () => rateLimit.stats()),
    overload: sources.overload && read('overload', () => sources.overload?.stats()),
    dataCache: sources.dataCache && read('dataCache', () => sources.dataCache?.stats()),
  }
  const fromProfiler = (profiler && read('profiler', () => profiler.insights())) ?? []
  const slowest =
    profiler && limit > 0
      ? read('profiler', () => profiler.slowest(limit, window).slice(0, limit))
      : undefined
  return { snapshot, fromProfiler, slowest, errors }
}

export function insightsHandler(sources: Sources, config: Config, log: OnceLogger): RequestHandler {
  return guarded((req, res) => {
    const window = windowParam(req, config.window)
    if (!window.ok) return badRequest(res, window.message)
    const { snapshot, fromProfiler, errors } = collect(sources, window.value, log)
    const insights = insightsOf(snapshot, config.thresholds, fromProfiler)
    res.json({ ...stamp(), window: window.value, status: statusOf(insights), insights, errors })
  })
}

/** `GET /dashboard`: everything the page draws, in one document, with the overall status. */
export function dashboardHandler(sources: Sources, config: Config, log: OnceLogger): RequestHandler {
  return guarded((req, res) => {
    const window = windowParam(req, config.window)
    if (!window.ok) return badRequest(res, window.message)
    const limit = limitParam(req)
    if (!limit.ok) return badRequest(res, limit.message)
    const { snapshot, fromProfiler, slowest, errors } = collect(sources, window.value, log, limit.value)
    const insights = insightsOf(snapshot, config.thresholds, fromProfiler)
    res.json({
      ...stamp(),
      status: statusOf(insights),
      window: window.value,
      pollMs: config.pollMs,
      auth: config.auth.kind,
      sources: {
        cache: sources.cache !== undefined,
        compression: sources.compression !== undefined,
        profiler: sources.profiler !== undefined,
        rateLimit: sources.rateLimit !== undefined,
        overload: sources.overload !== undefined,
        tasks: sources.tasks !== undefined,
        dataCache: sources.dataCache !== undefined,
      },
      overview: snapshot.overview ?? null,
      slowest: slowest ?? null,
      queries: snapshot.queries ?? null,
      cache: snapshot.cache ?? null,
      compression: snapshot.compression ?? null,
      rateLimit: snapshot.rateLimit ?? null,
      overload: snapshot.overload ?? null,
      insights,
      errors,
    })
  })
}

/**
 * The registry `/metrics` serves: `options.registry`, else the profiler's own (every package
 * can register on it: `compression({ registry: prof.registry })`, …), else none.
 */
function registryOf(config: Config): Config['registry'] {
  if (config.registry !== undefined) return config.registry
  const candidate = (config.sources.profiler as { registry?: unknown } | undefined)?.registry as
    | Config['registry']
    | undefined
  return candidate !== undefined &&
    typeof candidate?.metrics === 'function' &&
    typeof candidate.contentType === 'string'
    ? candidate
    : undefined
}

export function metricsHandler(config: Config): RequestHandler {
  const registry = registryOf(config)
  return guarded(async (_req, res) => {
    if (!registry) {
      res.status(404).json({
        schema: SCHEMA,
        error: 'not_found',
        message:
          'No prom-client registry: pass options.registry, or a profiler whose metrics are on (its registry is served).',
      })
      return
    }
    const body = Buffer.from(await registry.metrics())
    // res.end, not res.send: Express 4 would reorder the media type's parameters.
    res.setHeader('Content-Type', registry.contentType)
    res.setHeader('Content-Length', String(body.length))
    res.end(body)
  })
}
