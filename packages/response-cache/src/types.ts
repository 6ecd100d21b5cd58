import type { CacheInvalidation, CacheSource, CacheStats, Dynamic, Logger, Matcher } from '@hotpath/core'
import type { Request, RequestHandler, Response } from 'express'
import type { InvalidationResult } from './invalidation'
import type { MetricsRegistry } from './metrics'

/** A request header value or list, as Node keeps it. */
export type HeaderValue = string | string[]

/**
 * One stored response. Header names are lower case, hop-by-hop fields are already gone.
 * Times are epoch milliseconds.
 */
export interface CacheEntry {
  readonly kind: 'entry'
  readonly status: number
  readonly headers: ReadonlyArray<readonly [string, HeaderValue]>
  readonly body: Buffer
  /** Pre-made encodings of `body`, keyed by content-coding (`gzip`, `br`). */
  readonly variants: Readonly<Record<string, Buffer>>
  readonly storedAt: number
  /** Fresh until. */
  readonly expiresAt: number
  /** May be served stale (stale-while-revalidate) until. */
  readonly staleUntil: number
  /** May be served stale when the handler fails (stale-if-error) until. */
  readonly errorUntil: number
  readonly tags: readonly string[]
  /** `routeOf` label of the request that produced it, for per-route stats of hits. */
  readonly route: string
  /** Whether the entry may be served by `front()` (its key has no custom parts). */
  readonly front: boolean
  /** Whether gzip/br variants are still to be made for it (on its first hit). */
  readonly compress: boolean
  /** How old the response already was when stored, in ms (RFC 9111 §4.2.3). Default 0. */
  readonly initialAge?: number
  /** Never served stale: `must-revalidate`, `proxy-revalidate`, `s-maxage` (RFC 9111 §4.2.4). */
  readonly mustRevalidate?: boolean
}

/** Stored at the primary key of a response that `Vary`s: the request headers of its secondary key. */
export interface VaryMarker {
  readonly kind: 'vary'
  readonly fields: readonly string[]
  readonly expiresAt: number
}

export type StoredValue = CacheEntry | VaryMarker

export type MaybePromise<T> = T | Promise<T>

/**
 * The store contract. Promise-or-value, so a memory store answers synchronously and a hit
 * costs no microtask. Only real failures (the store is unreachable) reject; a missing,
 * expired or unreadable value is `undefined`.
 */
/** What a store can tell synchronously about what it holds. */
export interface StoreSize {
  entries: number
  /** The memory accounted against the store's bound (memory store), 0 when unknown. */
  bytes: number
  evictions: number
  /** Body, variant and header bytes of the stored entries; `null` when the store cannot tell. */
  storedBytes?: number | null
  /** Memory reserved for bodies in slabs (memory store). */
  slabBytes?: number
}

export interface CacheStore {
  /** `memory`, `redis`, … — reported in stats. */
  readonly kind: string
  /** `true` when several processes share it (Redis): misses then take a cross-instance lock. */
  readonly shared: boolean
  /**
   * `true` when the store never keeps the body Buffer it is given (it copies or serialises
   * it): the cache then hands over the captured bytes as they are, which may be a slice of
   * Node's shared buffer pool. Left out, each stored body is first copied into memory of its
   * own, so that a store keeping the Buffer never pins an 8 KB pool slab per small entry.
   */
  readonly copiesBodies?: boolean
  get(key: string): MaybePromise<StoredValue | undefined>
  /**
   * Stores `value` for `ttlMs` and adds `key` to every tag in `tags`. `since` (optional to
   * honour): when the miss that made it began — a shared store refuses it when one of its tags
   * was invalidated after that, by any instance.
   */
  set(
    key: string,
    value: StoredValue,
    ttlMs: number,
    tags: readonly string[],
    since?: number,
  ): MaybePromise<void>
  /** Removes every key carrying `tag`; resolves how many entries went. `at`: when it was asked for. */
  deleteTag(tag: string, at?: number): MaybePromise<number>
  /** Removes one key; resolves 1 when it existed. */
  delete(key: string): MaybePromise<number>
  clear(): MaybePromise<void>
  /** Takes a lock with expiry; resolves a token when taken, `undefined` when someone holds it. */
  lock(key: string, ttlMs: number): MaybePromise<string | undefined>
  unlock(key: string, token: string): MaybePromise<void>
  /** Stretches the lease of a held lock; `false` when it is no longer the holder's. Optional. */
  renew?(key: string, token: string, ttlMs: number): MaybePromise<boolean>
  /** Whether the lock of `key` is held. Optional: without it a waiter polls until `lockTtl`. */
  locked?(key: string): MaybePromise<boolean>
  /** Entries and bytes held, when the store can tell cheaply. */
  size(): StoreSize
  close(): MaybePromise<void>
}

/** Per-route (and per-rule) options. Any scalar may be a function of the request. */
export interface RouteOptions {
  /** Freshness lifetime. The response's own `s-maxage` / `max-age` can only shorten it. Default `'1m'`. */
  ttl?: Dynamic<number | string>
  /**
   * Who decides how long a response stays fresh. `'ttl'` (default): `ttl` is both the default
   * lifetime and its cap — for an app's own routes. `'origin'`: the response's `s-maxage`,
   * `max-age` or `Expires − Date` decide, up to `maxTtl`; without them it is not reused
   * (unless `heuristic` or `defaultTtl`) — for a proxy route or an origin that sets its headers.
   */
  freshness?: 'ttl' | 'origin'
  /** `freshness: 'origin'`: the longest lifetime honoured. Default `'365d'`. */
  maxTtl?: number | string
  /** `freshness: 'origin'`: the lifetime of a response without explicit freshness. Default `0` (not reused). */
  defaultTtl?: number | string
  /** `freshness: 'origin'`: RFC 9111 §4.2.2 heuristic freshness, 10% of the age of `Last-Modified`. Default `false`. */
  heuristic?: boolean
  /** Targeted cache-control fields this cache obeys over `Cache-Control` (RFC 9213), first present wins. Default `['CDN-Cache-Control']`. */
  targets?: readonly string[]
  /** Response headers never stored (beside `Set-Cookie`, `RateLimit*`, `Retry-After`, `Server-Timing`, `X-Request-Id`). Default none. */
  omitHeaders?: readonly string[]
  /** How long after expiry a stale entry is served at once while one refresh runs. Default `0`. */
  staleWhileRevalidate?: Dynamic<number | string>
  /** How long after expiry a stale entry replaces a 5xx or a thrown error. Default `0`. */
  staleIfError?: Dynamic<number | string>
  /** Tags for invalidation; the handler's `Surrogate-Key` header adds more. Default none. */
  tags?: readonly string[] | ((req: Request, res: Response) => readonly string[] | Promise<readonly string[]>)
  /** Extra key parts (e.g. a tenant id), computed from the request. Default none. */
  key?: (req: Request) => string | readonly string[]
  /** Extra request headers to key on (added to the response's `Vary`). Default none. */
  vary?: readonly string[]
  /** Statuses that may be stored. Default `[200, 203, 204, 300, 301, 404, 410]`. */
  statuses?: readonly number[]
  /** Largest body stored, in bytes. Default `'1mb'`. */
  maxEntryBytes?: number | string
  /** Cache requests that carry `Cookie` (the response must not depend on them). Default `false`. */
  cookies?: Dynamic<boolean>
  /** Cache requests that carry `Authorization` (the response must not depend on them). Default `false`. */
  authorization?: Dynamic<boolean>
}

export interface Rule extends RouteOptions {
  /** Path glob, RegExp on the path, or predicate — first matching rule wins. */
  match: Matcher
  /** `false` turns caching off for what the rule matches. Default `true`. */
  cache?: boolean
}

export interface ResponseCacheOptions extends RouteOptions {
  /** Where entries live. Default `new MemoryStore()` (64 MB). */
  store?: CacheStore
  /** When given, `app.use(cache)` only caches what a rule matches. Default: every GET/HEAD. */
  rules?: readonly Rule[]
  /** Response headers: `Cache-Status` is always sent; `xCache` adds `X-Cache`. */
  headers?: { xCache?: boolean; cacheName?: string }
  /** Stored compressed encodings; `false` turns them off. Default `{ encodings: ['br', 'gzip'], minBytes: 1024 }`. */
  variants?: false | { encodings?: ReadonlyArray<'br' | 'gzip'>; minBytes?: number | string }
  /** Run concurrent misses of one key once. Default `true`. */
  coalesce?: boolean
  /** Expiry of the cross-instance refresh lock. Default `'10s'`. */
  lockTtl?: number | string
  /** Called with every store error (the cache has already failed open). */
  onError?: (error: unknown, req: Request | undefined) => void
  logger?: Logger
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
  /**
   * A prom-client `Registry` (e.g. the profiler's `.registry`, which the dashboard's `/metrics`
   * serves) for hit/miss/bypass/store counters and entry/size gauges, read from `stats()` when
   * scraped. Default: none.
   */
  registry?: MetricsRegistry
  /** Prefix of the metric names. Default `'hotpath_cache_'`. */
  metricsPrefix?: string
}

/** What `front()` wraps: the Express app, or any `http` request listener. */
export type FrontApp = ((
  req: import('node:http').IncomingMessage,
  res: import('node:http').ServerResponse,
) => void) & {
  get?: (setting: string) => unknown
}

/** The middleware instance: a named Express handler with its members. */
export interface ResponseCache extends RequestHandler, CacheSource {
  /** Per-route middleware with its own options over the instance's. */
  route(options?: RouteOptions): RequestHandler
  /**
   * Removes entries by tag, by URL (`key`: path and query) or by path prefix; resolves how many.
   * It is in force on this instance when it resolves, even while the store is down (it is then
   * retried until the store applies it); `{ detail: true }` resolves `{ removed, applied, pending }`.
   */
  invalidate(target: CacheInvalidation): Promise<number>
  invalidate(target: CacheInvalidation, options: { detail: true }): Promise<InvalidationResult>
  clear(): Promise<void>
  /** `notStored`: misses that were not stored, by reason (`setCookie`, `private`, `ttl0`, `size`, …). */
  /** `pendingInvalidations`: invalidations of this instance the store has not applied yet. */
  stats(): CacheStats & {
    store: string
    variantsBuilt: number
    notStored: Record<string, number>
    pendingInvalidations: number
  }
  resetStats(): void
  /** Sets the statistics back to zero, as `reset()` does on every hotpath middleware (entries are kept). */
  reset(): void
  /** A plain `http` listener that answers fresh memory-store hits before `app` runs. */
  front(
    app: FrontApp,
  ): (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void
  close(): Promise<void>
}
