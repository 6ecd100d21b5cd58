export type { KeyState, RateLimiter, RateLimiterStats } from './limiter'
export { rateLimit } from './limiter'
export type { MemoryStoreOptions } from './memory-store'
export { MemoryStore } from './memory-store'
export type { RedisClientLike, RedisStoreOptions } from './redis-store'
export { RedisStore } from './redis-store'
export type {
  Algorithm,
  Decision,
  HeaderFormat,
  HeadersMode,
  LimitHandler,
  LimitInfo,
  MetricsRegistry,
  Policy,
  RateLimitOptions,
  RouteOptions,
  Store,
  StoreErrorPolicy,
} from './types'
