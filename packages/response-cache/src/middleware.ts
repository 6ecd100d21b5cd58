import { type CacheInvalidation, HotpathError, optionError, pathOf } from '@hotpath/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { createEngine, type Engine, type Found } from './engine'
import { type Ctx, createFlow } from './flow'
import { createFront } from './front'
import { ALL, type InvalidationResult } from './invalidation'
import { originOf, prefixTag, URL_TAG } from './key'
import { type MetricsRegistry, registerCacheMetrics } from './metrics'
import { type Config, PKG, type RouteConfig, resolveOptions, routeConfig } from './options'
import { createStale } from './stale'
import type { MaybePromise, ResponseCache, ResponseCacheOptions, RouteOptions } from './types'

/** RFC 9111 §4.4: a non-error response to any other method invalidates the stored responses of its URL. */
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE'])

/** Set on a store when a cache instance takes it, so a second taker is warned. */
const CLAIMED = Symbol('hotpath.responseCache.claimed')

type Trust = (address: string | undefined, hop: number) => boolean

function flag(value: RouteConfig['cookies'], req: Request, res: Response): MaybePromise<boolean> {
  if (typeof value !== 'function') return value
  try {
    const out = value(req, res)
    return out instanceof Promise
      ? out.then(
          (v) => v === true,
          () => false,
        )
      : out === true
  } catch {
    return false
  }
}

/**
 * `responseCache(options)`: an HTTP-correct server-side response cache. Returns the
 * middleware with `route()`, `invalidate()`, `clear()`, `stats()`, `front()` and `close()`
 * attached; two instances share nothing.
 */
export function responseCache(options: Readonly<ResponseCacheOptions> = {}): ResponseCache {
  const cfg: Config = resolveOptions(options)
  const { store, now } = cfg
  const engine: Engine = createEngine(cfg, options.logger)
  const { counters } = engine
  const claimable = store as unknown as { [CLAIMED]?: boolean }
  if (claimable[CLAIMED] === true && !store.shared) {
    engine.log.warnOnce(
      'ERR_HOTPATH_CACHE_STORE_SHARED',
      `${PKG}: this ${store.kind} store is already used by another responseCache instance; give each instance its own store, or their stats and invalidations mix.`,
    )
  }
  claimable[CLAIMED] = true
  // Requests this instance already handled (app.use + route()): their context, or why they
  // bypassed. A WeakMap, not a mark on `req`: a property written to an Express request costs
  // microseconds (core's response-hooks).
  const handled = new WeakMap<Request, Ctx | string>()
  // Once a miss's capture is over its context is dropped from the map. An Express request
  // outlives its response in V8's young generation (Express gives it a new prototype, and a
  // scavenge then keeps it for a while), and a context still in the map would be kept with
  // it: a miss's head verdict, header copy and closures, copied by every scavenge.
  // A context superseded by a later cache.route() layer ends its capture when the new one
  // begins: the map then holds the new context, which stays.
  const flow = createFlow(engine, (ctx) => {
    if (handled.get(ctx.req) === ctx) handled.set(ctx.req, 'seen')
  })
  const stale = createStale(engine, flow)

  function decide(ctx: Ctx, found: Found): void {
    const entry = found.entry
    const at = entry === undefined ? 0 : now()
    if (entry !== undefined && at < entry.expiresAt) {
      engine.serveHit(entry, found.key, ctx.req, ctx.res, at)
      return
    }
    // The handler runs: a later cache.route() layer may refine this context (handleRoute).
    handled.set(ctx.req, ctx)
    if (entry === undefined) flow.miss(ctx)
    else stale.serve(ctx, entry, found.key, at)
  }

  function invalidateOnSuccess(req: Request, res: Response): void {
    const url = req.originalUrl ?? req.url
    res.once('finish', () => {
      if (res.statusCode < 200 || res.statusCode >= 400) return
      // Never lost: in force here at once, retried until the store applies it.
      engine.invalidations
        .invalidate(URL_TAG + url)
        .then((result) => {
          counters.invalidations += result.removed
        })
        .catch((error: unknown) => engine.storeError(error, req))
    })
  }

  function keyParts(route: RouteConfig, req: Request): string[] | undefined | Error {
    if (route.key === undefined) return undefined
    try {
      const custom = route.key(req)
      return typeof custom === 'string' ? [custom] : [...custom]
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error))
    }
  }

  function lookupAndDecide(req: Request, res: Response, next: NextFunction, route: RouteConfig): void {
    const parts = keyParts(route, req)
    if (parts instanceof Error) {
      engine.log.warnOnce(
        'ERR_HOTPATH_CACHE_KEY',
        `${PKG}: the key function threw (${parts.message}); such requests bypass the cache.`,
      )
      engine.bypass(req, res, next, 'key-error')
      return
    }
    const trust = req.app?.get('trust proxy fn') as Trust | undefined
    const primary = engine.primaryKey(originOf(req, trust), req.originalUrl ?? req.url, parts)
    const ctx: Ctx = { req, res, next, route, primary, front: parts === undefined }
    let found: MaybePromise<Found>
    try {
      found = engine.lookup(primary, req)
    } catch (error) {
      engine.storeError(error, req)
      engine.bypass(req, res, next, 'store-error')
      return
    }
    if (!(found instanceof Promise)) {
      decide(ctx, found)
      return
    }
    found.then(
      (value) => {
        engine.storeOk()
        decide(ctx, value)
      },
      (error: unknown) => {
        // Fail open: the store is unreachable or slow, so the handler answers.
        engine.storeError(error, req)
        engine.bypass(req, res, next, 'store-error')
      },
    )
  }

  /** `unseen`: the caller just found the request not handled yet (no second lookup). */
  function handle(req: Request, res: Response, next: NextFunction, route: RouteConfig, unseen = false): void {
    if (!unseen && handled.has(req)) {
      next()
      return
    }
    handled.set(req, 'seen')
    const method = req.method
    if (method !== 'GET' && method !== 'HEAD') {
      if (!SAFE.has(method)) invalidateOnSuccess(req, res)
      engine.bypass(req, res, next, 'method')
      return
    }
    const headers = req.headers
    if (headers.authorization === undefined && headers.cookie === undefined) {
      lookupAndDecide(req, res, next, route)
      return
    }
    // Credentials bypass unless the route says its response does not depend on them.
    const auth = headers.authorization === undefined ? true : flag(route.authorization, req, res)
    const cookie = headers.cookie === undefined ? true : flag(route.cookies, req, res)
    Promise.all([auth, cookie]).then(([authOk, cookieOk]) => {
      const reason = !authOk ? 'authorization' : !cookieOk ? 'cookie' : undefined
      if (reason === undefined) {
        lookupAndDecide(req, res, next, route)
        return
      }
      handled.set(req, reason)
      engine.bypass(req, res, next, reason)
    }, next)
  }

  /**
   * A `cache.route()` layer: its own options win over those of an `app.use(cache)` layer of
   * the same instance that saw the request first. With the same key the context simply takes
   * the route's options (ttl, tags, statuses, vary are read when the response goes out); with
   * another key function, or after a credentials bypass the route may opt out of, the request
   * is handled again under the route's options and the first layer stores nothing.
   */
  function handleRoute(req: Request, res: Response, next: NextFunction, route: RouteConfig): void {
    const prior = handled.get(req)
    if (prior === undefined) {
      handle(req, res, next, route, true)
      return
    }
    if (typeof prior !== 'string') {
      if (prior.route.key === route.key) {
        prior.route = route
        next()
        return
      }
      prior.superseded = true
    } else if (prior !== 'authorization' && prior !== 'cookie') {
      next()
      return
    }
    handled.delete(req)
    handle(req, res, next, route, true)
  }

  const cache = function responseCache(req: Request, res: Response, next: NextFunction): void {
    let route: RouteConfig | null = cfg.base
    if (cfg.rules !== null) {
      route = null
      const path = pathOf(req)
      for (const rule of cfg.rules) {
        if (rule.test(req, path)) {
          route = rule.config
          break
        }
      }
      if (route === null) {
        next()
        return
      }
    }
    handle(req, res, next, route)
  } as ResponseCache

  /**
   * Puts the invalidation in force on this instance (entries stored before it are refused from
   * now on), then has the store apply it; a store that is down gets it again with backoff until
   * it does. Resolves once it is in force here: the entries removed, or with `{ detail: true }`
   * whether the store applied it yet.
   */
  async function invalidateDetail(target: CacheInvalidation): Promise<InvalidationResult> {
    const t = (target ?? {}) as Partial<Record<'tag' | 'key' | 'prefix', unknown>>
    let tag: string
    if (typeof t.tag === 'string') tag = t.tag
    else if (typeof t.key === 'string') tag = URL_TAG + t.key
    else if (typeof t.prefix === 'string') {
      tag = prefixTag(t.prefix)
      if (tag === prefixTag('/')) tag = ALL
    } else {
      throw new HotpathError(
        'ERR_HOTPATH_CACHE_INVALIDATE',
        `${PKG}: invalidate() takes { tag: 'products' }, { key: '/api/products?page=1' } or { prefix: '/api/products' }.`,
      )
    }
    const entries = tag === ALL ? store.size().entries : 0
    const result = await engine.invalidations.invalidate(tag)
    const removed = tag === ALL && result.applied ? entries : result.removed
    counters.invalidations += removed
    return { ...result, removed }
  }

  function invalidate(target: CacheInvalidation): Promise<number>
  function invalidate(target: CacheInvalidation, options: { detail: true }): Promise<InvalidationResult>
  async function invalidate(
    target: CacheInvalidation,
    options?: { detail?: boolean },
  ): Promise<number | InvalidationResult> {
    const result = await invalidateDetail(target)
    return options?.detail === true ? result : result.removed
  }

  // The dashboard knows a cache by `name === 'cache'` (the CacheSource contract).
  Object.defineProperty(cache, 'name', { value: 'cache' })
  cache.route = (routeOptions: Readonly<RouteOptions> = {}): RequestHandler => {
    const route = routeConfig(routeOptions, cfg.base, 'route()')
    return function responseCacheRoute(req: Request, res: Response, next: NextFunction): void {
      handleRoute(req, res, next, route)
    }
  }
  cache.invalidate = invalidate
  cache.clear = async () => {
    await engine.invalidations.invalidate(ALL)
  }
  cache.stats = () => ({ ...counters.snapshot(store), pendingInvalidations: engine.invalidations.pending() })
  cache.resetStats = () => counters.reset()
  cache.reset = cache.resetStats
  if (options.registry !== undefined) {
    const registry = options.registry as Partial<MetricsRegistry> | null
    if (
      !registry ||
      typeof registry.registerMetric !== 'function' ||
      typeof registry.getSingleMetric !== 'function'
    ) {
      optionError(
        PKG,
        "registry must be a prom-client Registry (new Registry(), or the profiler's .registry).",
      )
    }
    const prefix = options.metricsPrefix ?? 'hotpath_cache_'
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
      optionError(
        PKG,
        `metricsPrefix must be a Prometheus name prefix such as 'api_cache_', got ${JSON.stringify(prefix)}.`,
      )
    }
    registerCacheMetrics(options.registry, prefix, cache.stats)
  }
  cache.front = createFront(cfg, engine)
  cache.close = async () => {
    engine.invalidations.close()
    await store.close()
  }
  return cache
}
