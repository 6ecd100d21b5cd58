export type { Snapshot, Status } from './insights'
export { insightsOf, statusOf } from './insights'
export { SCHEMA } from './report'
export { dashboard } from './router'
export { CSP } from './security'
export type {
  Action,
  AuthOption,
  Authorize,
  DashboardOptions,
  DashboardSources,
  InsightThresholds,
  LimitPolicyOptions,
  MetricsRegistry,
  RateLimitOption,
  SessionOption,
} from './types'
