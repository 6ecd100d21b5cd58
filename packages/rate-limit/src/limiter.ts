import {
  createLogger,
  HotpathError,
  optionError,
  type RateLimitRouteStats,
  type RateLimitStats,
  type StatsSource,
  type StoreMode,
} from '@hotpath/core'
import type { RequestHandler } from 'express'
import { createLayer, type Layer, type Shared } from './layer'
import { MemoryStore } from './memory-store'
import {
  checkNames,
  checkTopLevel,
  DEFAULTS,
  KNOWN_ROUTE_OPTIONS,
  type LayerConfig,
  layerConfig,
  PKG,
} from './options'
import { createMetrics, Recorder } from './stats'
import type { Policy, RateLimitOptions, RouteOptions, Store } from './types'

/** The state of one key, as `limiter.get(key)` reports it. */
export interface KeyState {
  key: string
  limit: number
  remaining: number
  resetMs: number
}

export interface RateLimiterStats extends RateLimitStats {
  /** Requests let through by `onStoreError: 'open'` while the store was failing. */
  failOpen: number
  onStoreError: 'open' | 'closed' | 'memory'
}

export interface RateLimiter extends RequestHandler, StatsSource<RateLimiterStats> {
  /** Always `'rateLimit'` (the dashboard's source name). */
  readonly name: string
  /** A per-route layer with its own counters; it inherits every option it does not set. */
  route(options?: Readonly<RouteOptions>): RequestHandler
  /** Forgets the client `key` in this limiter and all its route layers (express-rate-limit's name). */
  resetKey(key: string): Promise<void>
  /** Sets the statistics back to zero, as `reset()` does on every hotpath middleware; counts are kept. */
  reset(): void
  /** The global policy's state for `key`, without counting a request. */
  get(key: string): Promise<KeyState>
  stats(): RateLimiterStats
  close(): Promise<void>
}

/** Marks a store as taken; `Symbol.for` so two copies of this package still agree. */
const OWNER = Symbol.for('@hotpath/rate-limit.owner')

function claim(store: Store, owner: object): void {
  const holder = store as unknown as Record<symbol, unknown>
  if (holder[OWNER] !== undefined && holder[OWNER] !== owner) {
    throw new HotpathError(
      'ERR_HOTPATH_RATE_LIMIT_SHARED_STORE',
      `${PKG}: this store already serves another limiter, whose counts would mix with this one's. Give each rateLimit() its own store (two RedisStore instances may share one Redis client and prefix).`,
    )
  }
  try {
    Object.defineProperty(store, OWNER, { value: owner, enumerable: false, configurable: false })
  } catch {
    // A frozen custom store cannot be marked; it is then the caller's to keep unshared.
  }
}

/**
 * Creates a rate limiter: the middleware itself, with `route()`, `reset()`, `get()`,
 * `stats()` and `close()` attached. Every call is independent: no state lives in the module.
 */
export function rateLimit(options: Readonly<RateLimitOptions> = {}): RateLimiter {
  checkTopLevel(options)
  const now = options.now ?? Date.now
  const store = options.store ?? new MemoryStore({ now })
  const owner = {}
  claim(store, owner)
  const failure = options.onStoreError ?? DEFAULTS.onStoreError
  const cooldown = (store as { cooldown?: unknown }).cooldown
  const shared: Shared = {
    store,
    fallback: failure === 'memory' ? new MemoryStore({ now }) : undefined,
    failure,
    recorder: new Recorder(),
    log: createLogger(options.logger),
    now,
    closedRetryAfter: Math.max(1, Math.ceil((typeof cooldown === 'number' ? cooldown : 1000) / 1000)),
    proxyWarned: false,
    forwardedWarned: false,
  }
  const layers: Layer[] = []
  const addLayer = (
    layerOptions: Readonly<RouteOptions>,
    base: LayerConfig | undefined,
    name: string,
  ): Layer => {
    if (layers.some((layer) => layer.config.name === name)) {
      optionError(PKG, `a layer named "${name}" already exists in this limiter; give route() a unique name.`)
    }
    const config = layerConfig(layerOptions, base, name)
    const metrics =
      options.registry === undefined
        ? undefined
        : createMetrics(options.registry, options.metricsPrefix ?? DEFAULTS.metricsPrefix, name, failure)
    const layer = createLayer(config, shared, metrics)
    layers.push(layer)
    return layer
  }
  const main = addLayer(options, undefined, options.name ?? 'default')
  const limiter = main.middleware as RateLimiter
  let routes = 0

  limiter.route = (routeOptions: Readonly<RouteOptions> = {}) => {
    checkNames(`${PKG} route()`, routeOptions, KNOWN_ROUTE_OPTIONS)
    routes++
    return addLayer(routeOptions, main.config, routeOptions.name ?? `route${routes}`).middleware
  }

  limiter.resetKey = async (key: string) => {
    await Promise.all(layers.map((layer) => store.resetKey(layer.storeKey(key))))
    for (const layer of layers) shared.fallback?.resetKey(layer.storeKey(key))
  }

  limiter.reset = (...args: unknown[]) => {
    if (args.length > 0) {
      throw new HotpathError(
        'ERR_HOTPATH_RATE_LIMIT_RESET',
        `${PKG}: reset() sets the statistics back to zero and takes no argument; to forget a client use resetKey(key).`,
      )
    }
    shared.recorder.reset()
    for (const layer of layers) layer.counters.reset()
  }

  limiter.get = async (key: string) => {
    const policy = main.config.policy
    if (policy === undefined) {
      throw new HotpathError(
        'ERR_HOTPATH_RATE_LIMIT_DYNAMIC',
        `${PKG}: get() needs a limit and window that do not depend on the request.`,
      )
    }
    const decision = await store.consume(main.storeKey(key), policy, 0)
    return { key, limit: policy.limit, remaining: decision.remaining, resetMs: decision.resetMs }
  }

  limiter.stats = () => {
    const { recorder } = shared
    const routeStats: Record<string, RateLimitRouteStats> = {}
    for (const layer of layers) layer.counters.report(routeStats, layer.config.name, describe(layer.config))
    return {
      allowed: recorder.allowed,
      limited: recorder.limited,
      routes: routeStats,
      topLimited: recorder.topLimited(),
      store: {
        kind: store.kind,
        errors: recorder.storeErrors,
        mode: recorder.mode as StoreMode,
        latencyMs: recorder.latencyMs(),
      },
      failOpen: recorder.failOpen,
      onStoreError: failure,
    }
  }

  limiter.close = async () => {
    shared.fallback?.close()
    await store.close?.()
  }

  return limiter
}

/** `sliding-window 100/1m`, the policy label of stats and metrics. */
export function describe(config: LayerConfig): string {
  const policy: Policy | undefined = config.policy
  if (policy === undefined) return `${config.algorithm} dynamic`
  const burst = policy.burst !== policy.limit ? ` burst ${policy.burst}` : ''
  return `${config.algorithm} ${policy.limit}/${formatWindow(policy.windowMs)}${burst}`
}

function formatWindow(ms: number): string {
  const units: Array<[number, string]> = [
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ]
  for (const [size, unit] of units) if (ms % size === 0) return `${ms / size}${unit}`
  return `${ms}ms`
}
