export type { HistogramWindow, RouteHistogram } from './histograms'
export type { InstrumentModules } from './instrument'
export { normalizeSql } from './normalize'
export { DEFAULT_BUCKETS } from './options'
export type { WatchPoolOptions } from './pools'
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
