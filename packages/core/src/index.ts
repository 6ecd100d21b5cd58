export { compose } from './compose'
export type {
  BreakerState,
  BreakerStats,
  CacheInvalidation,
  CacheRouteStats,
  CacheSource,
  CacheStats,
  CompressionRouteStats,
  CompressionStats,
  DataCacheNamespaceStats,
  DataCacheSource,
  DataCacheStats,
  DuplicateQueryFinding,
  EncodingStats,
  IndexAdvice,
  Insight,
  JsonRouteStats,
  JsonStats,
  LatencySummary,
  NPlusOneFinding,
  OverloadPriority,
  OverloadRefusal,
  OverloadStats,
  PoolHealth,
  ProfilerOverview,
  ProfilerSource,
  ProfilerStats,
  QueryReport,
  QueryShapeStats,
  RateLimitRouteStats,
  RateLimitStats,
  RouteLatency,
  Severity,
  StatsSource,
  StoreMode,
  TaskEventKind,
  TaskPercentiles,
  TaskStateName,
  TaskSummary,
  TasksSource,
  TasksSourceStats,
  WindowName,
} from './contracts'
export { WINDOWS } from './contracts'
export { negotiateEncoding } from './encoding'
export { didYouMean, HotpathError, optionError, rejectUnknownOptions } from './errors'
export type {
  AlertState,
  Coverage,
  FleetAction,
  FleetInstance,
  FleetOutlier,
  FleetRoute,
  FleetSessions,
  FleetSource,
  FleetView,
  HistoryMetric,
  HistoryQuery,
  HistorySeries,
  Regression,
} from './fleet-contract'
export type { HistoryPoint } from './history'
export {
  HISTORY_METRICS,
  HISTORY_ROUTES,
  HISTORY_STEPS,
  HistoryRing,
  historySeries,
  isHistoryMetric,
} from './history'
export {
  appendVary,
  HOP_BY_HOP,
  isFresh,
  parseCacheControl,
  parseETagList,
  preconditionHolds,
  strongMatch,
  weakMatch,
} from './http'
export type { HttpDateOptions } from './http-date'
export { createHttpDateFormat, formatHttpDate, parseHttpDate } from './http-date'
export type { IpKeyOptions } from './ip'
export { ipKey } from './ip'
export type { Logger, OnceLogger } from './logger'
export { consoleLogger, createLogger } from './logger'
export type { LoopDelayProbe } from './loop-delay'
export { startLoopDelayProbe } from './loop-delay'
export type { Matcher, RoutingOptions } from './matcher'
export { compileMatcher, globToRegExp, pathOf } from './matcher'
export {
  getHeader,
  getHeaders,
  hasHeader,
  headersSent,
  onResponse,
  removeHeader,
  requestHeaders,
  setHeader,
  writableFinished,
} from './node-response'
export type { Dynamic } from './options'
export { isPromiseLike, resolveDynamic } from './options'
export { parseBytes, parseDuration } from './parse'
export type { CircuitBreaker, CircuitBreakerOptions, CircuitState, ScriptHost } from './redis'
export { createCircuitBreaker, defineScripts, hashTag, withDeadline } from './redis'
export type { ResponseHook, ResponseHookFn, ResponseHookMethods } from './response-hooks'
export { createPrototypeCheck, createResponseHook, isAppResponse, isMountedApp } from './response-hooks'
export { KNOWN_METHODS, methodOf, routeOf, UNMATCHED } from './route'
