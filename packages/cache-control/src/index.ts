export { DEFAULT_FINGERPRINT, PRESETS, serialize } from './directives'
export type { CacheControlMiddleware } from './middleware'
export { cacheControl } from './middleware'
export type {
  CacheControlOptions,
  CacheControlStats,
  Directives,
  Duration,
  ETagMode,
  PresetName,
  Rule,
} from './types'
