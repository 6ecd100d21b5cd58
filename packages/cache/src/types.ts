import type { Logger } from '@hotpath/core'
import type { MemoryTier } from './memory-tier'
import type { RedisTier } from './redis-tier'

/** A key: a string, or parts (strings, numbers, plain objects) joined by a stable derivation. */
export type CacheKey = string | readonly unknown[]

/** Durations are ms or strings such as `'500ms'`, `'5m'`. */
export type Duration = number | string

/** Returned by `ctx.skip()`: the factory's result is handed back but not cached. */
export const SKIP: unique symbol = Symbol('hotpath.cache.skip')

export interface FactoryContext<T> {
  /** Aborted when `hardTimeout` passes or the cache closes. Pass it to fetch / query calls. */
  readonly signal: AbortSignal
  /** The last value (expired but within grace), or `undefined`. */
  readonly stale: T | undefined
  /** Overrides this entry's ttl (e.g. from an upstream `max-age`). */
  setTtl(ttl: Duration): void
  /** Adds tags known only once the value is computed. */
  setTags(tags: readonly string[]): void
  /** `return ctx.skip()` hands `undefined` to the caller and caches nothing. */
  skip(): typeof SKIP
}

export type Factory<T> = (ctx: FactoryContext<T>) => T | typeof SKIP | Promise<T | typeof SKIP>

export interface LockOptions {
  /** Lease ttl in Redis: how long another instance waits for a crashed holder. Default `'10s'`. */
  readonly ttl?: Duration
  /** Longest a caller waits for another instance's factory before running its own. Default `'250ms'`. */
  readonly wait?: Duration
}

export interface EntryOptions {
  /** Time the value is fresh. Default: the cache's `ttl` (`'5m'`). */
  readonly ttl?: Duration
  /** How long after `ttl` the last value may still be served when the factory fails or is slow. Default: the cache's `grace` (0). */
  readonly grace?: Duration
  /** Tags for `deleteByTag` / `expireByTag`. */
  readonly tags?: readonly string[]
}

export interface GetOrSetOptions extends EntryOptions {
  /** After a factory failure with a graced value, how long that value is served before the factory is tried again. Default `'10s'`. */
  readonly graceBackoff?: Duration
  /** With a graced value, return it after this and let the factory finish in the background. Default: none. */
  readonly softTimeout?: Duration
  /** Abort the factory after this (its `signal` fires); serve the graced value, else reject `ERR_HOTPATH_CACHE_TIMEOUT`. Default: none. */
  readonly hardTimeout?: Duration
  /** Fraction of ttl (0..1) after which a hit refreshes in the background; `'auto'`: when less than twice the factory's p95 is left. Default: off. */
  readonly refreshAhead?: number | 'auto' | false
  /** `undefined`/`null` results are cached this long. Default: not cached. */
  readonly negativeTtl?: Duration
  /** Fleet-wide single-flight through a Redis lease (`false` turns it off). Default `{ ttl: '10s', wait: '250ms' }`. */
  readonly lock?: LockOptions | false
  /** Check this id in the Bloom filter first: absent → `undefined` without the factory. */
  readonly bloom?: string
}

export interface WrapOptions<A extends unknown[]> extends GetOrSetOptions {
  /** Key parts from the arguments. Default: the arguments themselves. */
  readonly key?: (...args: A) => CacheKey
}

/** Serializes what goes to L2 (and measures what L1 holds). */
export interface Serializer {
  readonly name: string
  encode(value: unknown): Buffer
  decode(buffer: Buffer): unknown
}

export interface BloomOptions {
  /** Ids the filter is sized for. */
  readonly expected: number
  /** Wanted false-positive rate. Default 0.01. */
  readonly falsePositiveRate?: number
  /** Every id that exists (an array or async iterable); called at start and by `bloom.rebuild()`. */
  readonly load: () => Iterable<string> | AsyncIterable<string> | Promise<Iterable<string>>
}

export interface BusOptions {
  /** Channel name. Default `<l2 prefix>bus`. */
  readonly channel?: string
  /** A dedicated subscriber connection. Default: `duplicate()` of the L2 client. */
  readonly subscriber?: unknown
}

/** Anything with the response cache's public `invalidate({ tag })`. */
export interface TagInvalidationTarget {
  invalidate(target: { tag: string }): Promise<unknown> | unknown
}

/** The part of a prom-client `Registry` the cache needs. */
export interface MetricsRegistry {
  getSingleMetric(name: string): unknown
  registerMetric(metric: unknown): void
}

export interface CacheOptions {
  /** The memory tier, or `false`. Default `new MemoryTier({ maxBytes: '64mb' })`. */
  readonly l1?: MemoryTier | false
  /** The Redis tier. Default: none (L1 only). */
  readonly l2?: RedisTier
  /** The coherence bus: on by default with a Redis L2; `false` turns it off. */
  readonly bus?: boolean | BusOptions
  /** Default ttl. Default `'5m'`. */
  readonly ttl?: Duration
  /** Default grace. Default 0 (no stale values). */
  readonly grace?: Duration
  /** Default `graceBackoff`. Default `'10s'`. */
  readonly graceBackoff?: Duration
  /** Default lock. Default `{ ttl: '10s', wait: '250ms' }`. */
  readonly lock?: LockOptions | false
  /** Longest an L1 entry lives while the bus is disconnected. Default `'5s'`. */
  readonly maxStaleWhenPartitioned?: Duration
  /** `'msgpack'` (default), `'v8'`, `'json'` or your own. */
  readonly serializer?: 'msgpack' | 'v8' | 'json' | Serializer
  readonly bloom?: BloomOptions
  /** Response caches whose tags this cache invalidates too, on every instance. */
  readonly responseCaches?: readonly TagInvalidationTarget[]
  /** prom-client registry for `hotpath_data_cache_*` metrics. Default: none. */
  readonly registry?: MetricsRegistry
  /** Label of the root namespace in stats and metrics. Default `'default'`. */
  readonly namespace?: string
  /** Default `console`. */
  readonly logger?: Logger
  /** Clock in ms. Default `Date.now`. */
  readonly now?: () => number
}

export interface NamespaceStats {
  hits: number
  misses: number
  hitRatio: number
  factoryRuns: number
  factoryErrors: number
  factoryP50: number
  factoryP95: number
  /** Default ttl of the namespace, ms. */
  ttlMs: number
}

export interface BloomFilter {
  readonly ready: boolean
  /** `false` only when the id is certainly absent (or the filter is not ready: `true`). */
  has(id: string): Promise<boolean>
  add(id: string): Promise<void>
  /** Re-reads `load` into a fresh filter. */
  rebuild(): Promise<number>
}

export interface Cache {
  /** The `StatsSource` name the dashboard reads. */
  readonly name: 'data-cache'
  /** This view's namespace label (`'default'` for the root, `'users'`, `'users:admins'`, …). */
  readonly label: string
  getOrSet<T>(key: CacheKey, factory: Factory<T>, options?: GetOrSetOptions): Promise<T>
  get<T = unknown>(key: CacheKey): Promise<T | undefined>
  set(key: CacheKey, value: unknown, options?: EntryOptions): Promise<void>
  delete(key: CacheKey): Promise<boolean>
  has(key: CacheKey): Promise<boolean>
  getMany<T = unknown>(keys: readonly CacheKey[]): Promise<Array<T | undefined>>
  setMany(
    entries: ReadonlyArray<readonly [CacheKey, unknown] | readonly [CacheKey, unknown, EntryOptions]>,
  ): Promise<void>
  /**
   * Hard: entries with the tag are gone, here and on every instance, and in linked response
   * caches. Resolves to the number of response entries the linked caches removed here.
   */
  deleteByTag(tag: string): Promise<number>
  /** Soft: entries with the tag are expired but still serve as graced values (linked response entries are removed). */
  expireByTag(tag: string): Promise<number>
  clear(): Promise<void>
  namespace(name: string): Cache
  wrap<A extends unknown[], R>(
    fn: (...args: A) => R | Promise<R>,
    options?: WrapOptions<A>,
  ): (...args: A) => Promise<R>
  warm(
    source:
      | Iterable<readonly [CacheKey, Factory<unknown>]>
      | AsyncIterable<readonly [CacheKey, Factory<unknown>]>
      | (() =>
          | Iterable<readonly [CacheKey, Factory<unknown>]>
          | AsyncIterable<readonly [CacheKey, Factory<unknown>]>),
    options?: { concurrency?: number; interval?: Duration; ttl?: Duration; tags?: readonly string[] },
  ): Promise<number>
  /** Runs the last factory of `key` again (in the background for other callers). */
  refresh(key: CacheKey): Promise<boolean>
  /** Adds a response cache whose tags follow this cache's; returns the unlink function. */
  link(target: TagInvalidationTarget): () => void
  readonly bloom: BloomFilter | undefined
  stats(): import('@hotpath/core').DataCacheStats
  close(): Promise<void>
}
