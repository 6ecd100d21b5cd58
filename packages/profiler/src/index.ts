export { normalizeSql } from './normalize'
export { DEFAULT_BUCKETS } from './options'
export { profiler } from './profiler'
export type {
  MetricsRegistry,
  Outcome,
  Profiler,
  ProfilerFullStats,
  ProfilerOptions,
  RouteDetail,
  SlowRequest,
  SlowRequestReport,
} from './types'
