import { optionError, parseDuration, rejectUnknownOptions } from '@hotpath/core'
import type { BreakerOptions, SharedStateOptions } from './breaker-types'
import type { MetricsRegistry } from './types'

const PKG = '@hotpath/overload breaker'
const CODE = 'ERR_HOTPATH_BREAKER_OPTION'
const KNOWN: readonly string[] = [
  'name',
  'timeout',
  'failureRate',
  'slowCallDuration',
  'slowCallRate',
  'window',
  'buckets',
  'minimumCalls',
  'resetTimeout',
  'capacity',
  'fallback',
  'isFailure',
  'shared',
  'registry',
  'metricsPrefix',
  'logger',
]
const SHARED_KNOWN: readonly string[] = ['client', 'prefix', 'pollInterval', 'commandTimeout']

export const BREAKER_DEFAULTS = {
  timeout: '10s' as number | string | false,
  failureRate: 0.5,
  slowCallDuration: '1s',
  slowCallRate: 1,
  window: '10s',
  buckets: 10,
  minimumCalls: 10,
  resetTimeout: '5s',
  metricsPrefix: 'hotpath_breaker_',
} as const

export interface SharedConfig {
  readonly client: SharedStateOptions['client']
  readonly key: string
  readonly pollMs: number
  readonly commandTimeoutMs: number
}

export interface BreakerConfig {
  readonly name: string
  readonly timeoutMs: number | false
  readonly failureRate: number
  readonly slowCallMs: number
  readonly slowCallRate: number
  readonly windowMs: number
  readonly buckets: number
  readonly minimumCalls: number
  readonly resetTimeoutMs: number
  readonly capacity: number | undefined
  readonly fallback: BreakerOptions<never[], unknown>['fallback'] | undefined
  readonly isFailure: ((error: unknown) => boolean) | undefined
  readonly shared: (Omit<SharedConfig, 'key'> & { readonly prefix: string }) | undefined
  readonly registry: MetricsRegistry | undefined
  readonly metricsPrefix: string
}

const ms = (value: unknown, name: string, min = 0): number => {
  let out: number
  try {
    out = parseDuration(value as number | string, `${PKG} option "${name}"`)
  } catch (err) {
    return optionError(PKG, `${name}: ${(err as Error).message}`, CODE)
  }
  if (out < min) optionError(PKG, `${name} must be at least ${min} ms, got ${out}.`, CODE)
  return out
}

const share = (value: unknown, name: string): number => {
  if (typeof value !== 'number' || !(value > 0 && value <= 1)) {
    optionError(
      PKG,
      `${name} must be a share from 0 (exclusive) to 1, such as 0.5 for 50%, got ${JSON.stringify(value)}.`,
      CODE,
    )
  }
  return value
}

const int = (value: unknown, name: string, min: number): number => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    optionError(PKG, `${name} must be an integer ≥ ${min}, got ${JSON.stringify(value)}.`, CODE)
  }
  return value
}

const fnOrUndefined = <T>(value: unknown, name: string): T | undefined => {
  if (value === undefined) return undefined
  if (typeof value !== 'function') optionError(PKG, `${name} must be a function, got ${typeof value}.`, CODE)
  return value as T
}

export function resolveBreakerOptions(
  options: Readonly<BreakerOptions<never[], unknown>>,
  fnName: string,
): BreakerConfig {
  rejectUnknownOptions(PKG, options, KNOWN)
  const o = { ...BREAKER_DEFAULTS, ...options }
  const name = o.name ?? (fnName || 'breaker')
  if (typeof name !== 'string' || name.length === 0 || name.length > 100) {
    optionError(PKG, `name must be a non-empty string of at most 100 characters.`, CODE)
  }
  const windowMs = ms(o.window, 'window', 100)
  const buckets = int(o.buckets, 'buckets', 1)
  if (windowMs % buckets !== 0)
    optionError(PKG, `window (${windowMs} ms) must divide evenly into ${buckets} buckets.`, CODE)
  const timeoutMs = o.timeout === false ? false : ms(o.timeout, 'timeout', 1)
  const slowCallMs = ms(o.slowCallDuration, 'slowCallDuration', 1)
  if (timeoutMs !== false && slowCallMs > timeoutMs) {
    optionError(
      PKG,
      `slowCallDuration (${slowCallMs} ms) must not exceed timeout (${timeoutMs} ms): such a call times out first.`,
      CODE,
    )
  }
  const capacity = o.capacity === undefined ? undefined : int(o.capacity, 'capacity', 1)
  return {
    name,
    timeoutMs,
    failureRate: share(o.failureRate, 'failureRate'),
    slowCallMs,
    slowCallRate: share(o.slowCallRate, 'slowCallRate'),
    windowMs,
    buckets,
    minimumCalls: int(o.minimumCalls, 'minimumCalls', 1),
    resetTimeoutMs: ms(o.resetTimeout, 'resetTimeout', 1),
    capacity,
    fallback: fnOrUndefined(o.fallback, 'fallback'),
    isFailure: fnOrUndefined(o.isFailure, 'isFailure'),
    shared: sharedOf(o.shared),
    registry: registryOf(o.registry),
    metricsPrefix: prefixOf(o.metricsPrefix),
  }
}

function sharedOf(input: unknown): BreakerConfig['shared'] {
  if (input === undefined) return undefined
  if (typeof input !== 'object' || input === null)
    optionError(PKG, 'shared must be { client } with an ioredis client.', CODE)
  rejectUnknownOptions(`${PKG} shared`, input, SHARED_KNOWN)
  const s = input as SharedStateOptions
  const client = s.client as unknown as Record<string, unknown> | undefined
  if (
    !client ||
    typeof client.get !== 'function' ||
    typeof client.set !== 'function' ||
    typeof client.del !== 'function'
  ) {
    optionError(PKG, 'shared.client must be an ioredis client (new Redis(url)).', CODE)
  }
  const prefix = s.prefix ?? 'hotpath:breaker:'
  if (typeof prefix !== 'string') optionError(PKG, 'shared.prefix must be a string.', CODE)
  return {
    client: s.client,
    prefix,
    pollMs: ms(s.pollInterval ?? '1s', 'shared.pollInterval', 50),
    commandTimeoutMs: ms(s.commandTimeout ?? '200ms', 'shared.commandTimeout', 1),
  }
}

function registryOf(registry: unknown): MetricsRegistry | undefined {
  if (registry === undefined) return undefined
  const r = registry as MetricsRegistry
  if (typeof r !== 'object' || r === null || typeof r.getSingleMetric !== 'function') {
    optionError(PKG, 'registry must be a prom-client Registry.', CODE)
  }
  return r
}

function prefixOf(prefix: unknown): string {
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    optionError(PKG, `metricsPrefix must be a Prometheus name prefix such as 'hotpath_breaker_'.`, CODE)
  }
  return prefix
}
