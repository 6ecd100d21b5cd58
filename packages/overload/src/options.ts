import {
  compileMatcher,
  createLogger,
  type OnceLogger,
  optionError,
  parseDuration,
  rejectUnknownOptions,
} from '@hotpath/core'
import type { Request } from 'express'
import type { EventLoopConfig } from './event-loop'
import type { LimitConfig } from './limit'
import type { MetricsRegistry, OverloadOptions, Priority, RefusalHandler } from './types'

export const PKG = '@hotpath/overload'
const PRIORITIES: readonly Priority[] = ['critical', 'normal', 'sheddable']

export const KNOWN_OPTIONS: readonly string[] = [
  'target',
  'interval',
  'maxQueue',
  'concurrency',
  'minLimit',
  'maxLimit',
  'initialLimit',
  'sampleInterval',
  'percentile',
  'rttBuffer',
  'minRttInterval',
  'minRttJitter',
  'minRttSamples',
  'eventLoop',
  'priorities',
  'defaultPriority',
  'statusCode',
  'retryAfter',
  'message',
  'handler',
  'registry',
  'metricsPrefix',
  'logger',
]
const EVENT_LOOP_OPTIONS: readonly string[] = ['maxUtilization', 'maxDelay', 'smoothing']

/** The one defaults object; user options are spread over it, never mutated. */
export const DEFAULTS = {
  target: '5ms',
  interval: '100ms',
  maxQueue: 1000,
  concurrency: true,
  minLimit: 3,
  maxLimit: 1000,
  initialLimit: 20,
  sampleInterval: '100ms',
  percentile: 0.5,
  rttBuffer: 0.25,
  minRttInterval: '60s',
  minRttJitter: 0.15,
  minRttSamples: 50,
  defaultPriority: 'normal' as Priority,
  statusCode: 503,
  retryAfter: 1,
  message: 'Service Unavailable: the server is overloaded, retry later.' as NonNullable<
    OverloadOptions['message']
  >,
  metricsPrefix: 'hotpath_overload_',
  eventLoop: { maxUtilization: 0.85, maxDelay: '20ms', smoothing: 0.3 },
} as const

export interface Config {
  readonly targetMs: number
  readonly intervalMs: number
  readonly maxQueue: number
  readonly sampleIntervalMs: number
  readonly limit: LimitConfig | undefined
  readonly eventLoop: EventLoopConfig | undefined
  readonly rules: ReadonlyArray<{
    readonly test: (req: Request, path: string) => boolean
    readonly priority: Priority
  }>
  readonly defaultPriority: Priority
  readonly statusCode: number
  readonly retryAfter: number
  readonly body: Buffer
  readonly contentType: string
  readonly handler: RefusalHandler | undefined
  readonly registry: MetricsRegistry | undefined
  readonly metricsPrefix: string
  readonly log: OnceLogger
}

function duration(value: unknown, name: string): number {
  try {
    return parseDuration(value as number | string, `${PKG} option "${name}"`)
  } catch (err) {
    return optionError(PKG, `${name}: ${(err as Error).message}`, 'ERR_HOTPATH_OVERLOAD_OPTION')
  }
}

function integer(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    optionError(
      PKG,
      `${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}.`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  }
  return value
}

function fraction(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    optionError(
      PKG,
      `${name} must be a number from ${min} to ${max}, got ${JSON.stringify(value)}.`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  }
  return value
}

function priority(value: unknown, name: string): Priority {
  if (!PRIORITIES.includes(value as Priority)) {
    optionError(
      PKG,
      `${name} must be one of ${PRIORITIES.map((p) => `'${p}'`).join(', ')}, got ${JSON.stringify(value)}.`,
      'ERR_HOTPATH_OVERLOAD_PRIORITY',
    )
  }
  return value as Priority
}

export function resolveOptions(options: Readonly<OverloadOptions> = {}): Config {
  rejectUnknownOptions(PKG, options, KNOWN_OPTIONS)
  const o = { ...DEFAULTS, ...options }
  const targetMs = duration(o.target, 'target')
  const intervalMs = duration(o.interval, 'interval')
  if (targetMs <= 0 || intervalMs < targetMs) {
    optionError(
      PKG,
      `target (${targetMs} ms) must be > 0 and no longer than interval (${intervalMs} ms); CoDel's defaults are target '5ms', interval '100ms'.`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  }
  const sampleIntervalMs = duration(o.sampleInterval, 'sampleInterval')
  if (sampleIntervalMs < 10)
    optionError(
      PKG,
      `sampleInterval must be at least 10 ms, got ${sampleIntervalMs}.`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  if (typeof o.concurrency !== 'boolean')
    optionError(
      PKG,
      `concurrency must be true or false, got ${JSON.stringify(o.concurrency)}.`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  const minLimit = integer(o.minLimit, 'minLimit', 1)
  const maxLimit = integer(o.maxLimit, 'maxLimit', 1)
  const initialLimit = integer(o.initialLimit, 'initialLimit', 1)
  if (minLimit > maxLimit || initialLimit < minLimit || initialLimit > maxLimit) {
    optionError(
      PKG,
      `need minLimit ≤ initialLimit ≤ maxLimit, got ${minLimit} ≤ ${initialLimit} ≤ ${maxLimit}.`,
      'ERR_HOTPATH_OVERLOAD_LIMITS',
    )
  }
  const limit: LimitConfig = {
    minLimit,
    maxLimit,
    initialLimit,
    percentile: fraction(o.percentile, 'percentile', 0.01, 1),
    rttBuffer: fraction(o.rttBuffer, 'rttBuffer', 0, 10),
    minRttIntervalMs: duration(o.minRttInterval, 'minRttInterval'),
    minRttJitter: fraction(o.minRttJitter, 'minRttJitter', 0, 0.5),
    minRttSamples: integer(o.minRttSamples, 'minRttSamples', 1),
  }
  if (limit.minRttIntervalMs < sampleIntervalMs) {
    optionError(
      PKG,
      `minRttInterval must be longer than sampleInterval (${sampleIntervalMs} ms).`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  }
  return {
    targetMs,
    intervalMs,
    maxQueue: integer(o.maxQueue, 'maxQueue', 0),
    sampleIntervalMs,
    limit: o.concurrency ? limit : undefined,
    eventLoop: eventLoopConfig(options.eventLoop),
    rules: rulesOf(o.priorities),
    defaultPriority: priority(o.defaultPriority, 'defaultPriority'),
    statusCode: statusOf(o.statusCode),
    retryAfter: integer(o.retryAfter, 'retryAfter', 0),
    ...bodyOf(o.message),
    handler: handlerOf(o.handler),
    registry: registryOf(o.registry),
    metricsPrefix: prefixOf(o.metricsPrefix),
    log: createLogger(o.logger),
  }
}

function eventLoopConfig(input: OverloadOptions['eventLoop']): EventLoopConfig | undefined {
  if (input === false) return undefined
  if (input !== undefined && (typeof input !== 'object' || input === null)) {
    optionError(
      PKG,
      `eventLoop must be an object such as { maxUtilization: 0.85 } or false, got ${JSON.stringify(input)}.`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  }
  rejectUnknownOptions(`${PKG} eventLoop`, input, EVENT_LOOP_OPTIONS)
  const e = { ...DEFAULTS.eventLoop, ...input }
  return {
    maxUtilization: fraction(e.maxUtilization, 'eventLoop.maxUtilization', 0.1, 1),
    maxDelayMs: duration(e.maxDelay, 'eventLoop.maxDelay'),
    smoothing: fraction(e.smoothing, 'eventLoop.smoothing', 0.01, 1),
  }
}

function rulesOf(input: unknown): Config['rules'] {
  if (input === undefined) return []
  if (!Array.isArray(input)) {
    optionError(
      PKG,
      `priorities must be an array such as [{ match: '/health', priority: 'critical' }].`,
      'ERR_HOTPATH_OVERLOAD_PRIORITY',
    )
  }
  return input.map((rule: unknown, i: number) => {
    if (typeof rule !== 'object' || rule === null) {
      optionError(PKG, `priorities[${i}] must be { match, priority }.`, 'ERR_HOTPATH_OVERLOAD_PRIORITY')
    }
    rejectUnknownOptions(`${PKG} priorities[${i}]`, rule, ['match', 'priority'])
    const r = rule as { match: unknown; priority: unknown }
    if (r.match === undefined)
      optionError(
        PKG,
        `priorities[${i}] needs a match (a glob such as '/api/**', a RegExp or a function).`,
        'ERR_HOTPATH_OVERLOAD_PRIORITY',
      )
    let test: (req: Request, path: string) => boolean
    try {
      test = compileMatcher(r.match as string, `${PKG} priorities[${i}].match`)
    } catch (err) {
      return optionError(PKG, (err as Error).message, 'ERR_HOTPATH_OVERLOAD_PRIORITY')
    }
    return { test, priority: priority(r.priority, `priorities[${i}].priority`) }
  })
}

function statusOf(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 400 || value > 599) {
    optionError(
      PKG,
      `statusCode must be a 4xx or 5xx status (503 is the standard one), got ${JSON.stringify(value)}.`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  }
  return value
}

function bodyOf(message: unknown): { body: Buffer; contentType: string } {
  if (typeof message === 'string')
    return { body: Buffer.from(message), contentType: 'text/plain; charset=utf-8' }
  if (typeof message === 'object' && message !== null) {
    return { body: Buffer.from(JSON.stringify(message)), contentType: 'application/json; charset=utf-8' }
  }
  return optionError(
    PKG,
    `message must be a string or a JSON object, got ${typeof message}.`,
    'ERR_HOTPATH_OVERLOAD_OPTION',
  )
}

function handlerOf(handler: unknown): RefusalHandler | undefined {
  if (handler === undefined) return undefined
  if (typeof handler !== 'function')
    optionError(
      PKG,
      `handler must be a function (req, res, next, info), got ${typeof handler}.`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  return handler as RefusalHandler
}

function registryOf(registry: unknown): MetricsRegistry | undefined {
  if (registry === undefined) return undefined
  const r = registry as MetricsRegistry
  if (
    typeof r !== 'object' ||
    r === null ||
    typeof r.getSingleMetric !== 'function' ||
    typeof r.registerMetric !== 'function'
  ) {
    optionError(
      PKG,
      'registry must be a prom-client Registry (new Registry() from prom-client).',
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  }
  return r
}

function prefixOf(prefix: unknown): string {
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    optionError(
      PKG,
      `metricsPrefix must be a Prometheus metric name prefix such as 'hotpath_overload_', got ${JSON.stringify(prefix)}.`,
      'ERR_HOTPATH_OVERLOAD_OPTION',
    )
  }
  return prefix
}
