import { filter } from './headers'
import { createCompression } from './middleware'

/**
 * `compression(options)` returns an independent middleware with `stats()` and `reset()`.
 * `compression.filter` is the default filter, for custom filters to wrap.
 */
export const compression: typeof createCompression & { readonly filter: typeof filter } = Object.assign(
  createCompression,
  { filter },
)

export type { MetricsRegistry } from './metrics'
export { negotiate } from './negotiate'
export type {
  CompressionFilter,
  CompressionMiddleware,
  CompressionOptions,
  CompressionReport,
  Encoding,
  SkipReason,
} from './types'
export { filter }
