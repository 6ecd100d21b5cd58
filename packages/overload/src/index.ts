export type { BreakerState, BreakerStats, OverloadStats } from '@hotpath/core'
export { breaker } from './breaker'
export type { Breaker, BreakerOptions, RedisLike, SharedStateOptions } from './breaker-types'
export { overload } from './overload'
export type {
  EventLoopOptions,
  MetricsRegistry,
  OverloadGuard,
  OverloadOptions,
  Priority,
  PriorityRule,
  RefusalHandler,
  RefusalInfo,
  RefusalReason,
} from './types'
