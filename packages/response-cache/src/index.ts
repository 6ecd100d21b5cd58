export type { InvalidationResult } from './invalidation'
export { responseCache } from './middleware'
export type { MemoryStoreOptions } from './stores/memory'
export { MemoryStore } from './stores/memory'
export type { RedisStoreOptions } from './stores/redis'
export { RedisStore } from './stores/redis'
export type {
  CacheEntry,
  CacheStore,
  FrontApp,
  HeaderValue,
  ResponseCache,
  ResponseCacheOptions,
  RouteOptions,
  Rule,
  StoredValue,
  VaryMarker,
} from './types'
