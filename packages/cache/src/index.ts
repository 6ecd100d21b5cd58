export { createCache } from './cache'
export { deriveKey } from './key'
export type { MemoryTierOptions } from './memory-tier'
export { MemoryTier } from './memory-tier'
export type { RedisTierOptions } from './redis-tier'
export { RedisTier } from './redis-tier'
export { jsonSerializer, msgpackSerializer, v8Serializer } from './serializer'
export type {
  BloomFilter,
  BloomOptions,
  BusOptions,
  Cache,
  CacheKey,
  CacheOptions,
  Duration,
  EntryOptions,
  Factory,
  FactoryContext,
  GetOrSetOptions,
  LockOptions,
  NamespaceStats,
  Serializer,
  TagInvalidationTarget,
  WrapOptions,
} from './types'
export { SKIP } from './types'
