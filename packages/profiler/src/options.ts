import { type Logger, optionError, parseDuration, rejectUnknownOptions } from '@hotpath/core'
import type { ExplainConfig } from './explain'
import type { MetricsRegistry, ProfilerOptions } from './types'

const PKG = '@hotpath/profiler'

/** Prometheus' conventional HTTP latency buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const DEFAULTS = {
  slowThreshold: '500ms' as number | string,
  slowQueryThreshold: '100ms' as number | string,
  slowRequests: 20,
  maxRoutes: 100,
  maxQueryShapes: 200,
  nPlusOneThreshold: 5,
  serverTiming: false,
  buckets: DEFAULT_BUCKETS,
  sampleInterval: '5s' as number | string,
  eventLoop: true,
  explain: false as ProfilerOptions['explain'],
} as const

/** `explain: true` means these. */
const EXPLAIN_DEFAULTS = { minDurationMs: 50, sampleEvery: 10, minRows: 10_000 } as const

const KNOWN = [...Object.keys(DEFAULTS), 'registry', 'logger', 'clock'] as const

/** The resolved, validated configuration of one instance. */
export interface Config {
  readonly slowThresholdNs: number
  readonly slowQueryThresholdNs: number
  readonly slowRequests: number
  readonly maxRoutes: number
  readonly maxQueryShapes: number
  readonly nPlusOneThreshold: number
  readonly serverTiming: boolean
  readonly registry: MetricsRegistry | false | undefined
  readonly buckets: readonly number[]
  readonly sampleIntervalMs: number
  readonly eventLoop: boolean
  /** Missing-index advice from sampled EXPLAINs; `null` when off (the default). */
  readonly explain: ExplainConfig | null
  readonly logger: Logger | undefined
  readonly clock: () => bigint
}

export function resolveOptions(options: Readonly<ProfilerOptions> | undefined): Config {
  rejectUnknownOptions(PKG, options, KNOWN)
  const o = { ...DEFAULTS, ...options }
  const slowThresholdMs = parseDuration(o.slowThreshold, 'slowThreshold')
  const slowQueryMs = parseDuration(o.slowQueryThreshold, 'slowQueryThreshold')
  const sampleIntervalMs = parseDuration(o.sampleInterval, 'sampleInterval')
  if (sampleIntervalMs < 100) optionError(PKG, 'sampleInterval must be at least 100ms, e.g. "5s".')
  positiveInt('slowRequests', o.slowRequests, 10_000)
  positiveInt('maxRoutes', o.maxRoutes, 100_000)
  positiveInt('maxQueryShapes', o.maxQueryShapes, 100_000)
  positiveInt('nPlusOneThreshold', o.nPlusOneThreshold, 1_000_000)
  if (typeof o.serverTiming !== 'boolean') optionError(PKG, 'serverTiming must be true or false.')
  if (typeof o.eventLoop !== 'boolean') optionError(PKG, 'eventLoop must be true or false.')
  if (o.clock !== undefined && typeof o.clock !== 'function') {
    optionError(PKG, 'clock must be a function returning nanoseconds as a bigint.')
  }
  if (
    o.registry !== undefined &&
    o.registry !== false &&
    typeof (o.registry as MetricsRegistry)?.registerMetric !== 'function'
  ) {
    optionError(PKG, 'registry must be a prom-client Registry (new Registry()), or false for no metrics.')
  }
  return {
    slowThresholdNs: slowThresholdMs * 1e6,
    slowQueryThresholdNs: slowQueryMs * 1e6,
    slowRequests: o.slowRequests,
    maxRoutes: o.maxRoutes,
    maxQueryShapes: o.maxQueryShapes,
    nPlusOneThreshold: o.nPlusOneThreshold,
    serverTiming: o.serverTiming,
    registry: o.registry,
    buckets: checkBuckets(o.buckets),
    sampleIntervalMs,
    eventLoop: o.eventLoop,
    explain: explainConfig(o.explain),
    logger: o.logger,
    clock: o.clock ?? process.hrtime.bigint,
  }
}

function positiveInt(name: string, value: unknown, max: number): void {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > max) {
    optionError(PKG, `${name} must be an integer from 1 to ${max}, got ${JSON.stringify(value)}.`)
  }
}

function checkBuckets(buckets: unknown): readonly number[] {
  if (!Array.isArray(buckets) || buckets.length === 0) {
    optionError(PKG, 'buckets must be a non-empty array of increasing upper bounds in seconds.')
  }
  let previous = 0
  for (const bound of buckets) {
    if (typeof bound !== 'number' || !Number.isFinite(bound) || bound <= previous) {
      optionError(
        PKG,
        `buckets must be positive, finite and strictly increasing (seconds), got ${JSON.stringify(buckets)}.`,
      )
    }
    previous = bound
  }
  return Object.freeze([...buckets])
}

function explainConfig(value: ProfilerOptions['explain']): ExplainConfig | null {
  if (value === false || value === undefined) return null
  if (value !== true && (value === null || typeof value !== 'object')) {
    optionError(PKG, 'explain must be true, false or { minDurationMs, sampleEvery, minRows }.')
  }
  const given = value === true ? {} : value
  rejectUnknownOptions(`${PKG} explain`, given, Object.keys(EXPLAIN_DEFAULTS))
  const e = { ...EXPLAIN_DEFAULTS, ...given }
  if (typeof e.minDurationMs !== 'number' || !Number.isFinite(e.minDurationMs) || e.minDurationMs < 0) {
    optionError(
      PKG,
      `explain.minDurationMs must be a number of milliseconds ≥ 0, got ${JSON.stringify(e.minDurationMs)}.`,
    )
  }
  positiveInt('explain.sampleEvery', e.sampleEvery, 1_000_000)
  positiveInt('explain.minRows', e.minRows, Number.MAX_SAFE_INTEGER)
  return { minDurationNs: e.minDurationMs * 1e6, sampleEvery: e.sampleEvery, minRows: e.minRows }
}
