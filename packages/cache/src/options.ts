import {
  createLogger,
  type OnceLogger,
  optionError,
  parseDuration,
  rejectUnknownOptions,
} from '@hotpath/core'
import { MemoryTier } from './memory-tier'
import { RedisTier } from './redis-tier'
import { resolveSerializer } from './serializer'
import type {
  BloomOptions,
  BusOptions,
  CacheOptions,
  GetOrSetOptions,
  LockOptions,
  Serializer,
  TagInvalidationTarget,
} from './types'

export const PKG = '@hotpath/cache'

const KNOWN = [
  'l1',
  'l2',
  'bus',
  'ttl',
  'grace',
  'graceBackoff',
  'lock',
  'maxStaleWhenPartitioned',
  'serializer',
  'bloom',
  'responseCaches',
  'registry',
  'namespace',
  'logger',
  'now',
] as const

const CALL_KNOWN = [
  'ttl',
  'grace',
  'graceBackoff',
  'softTimeout',
  'hardTimeout',
  'refreshAhead',
  'tags',
  'negativeTtl',
  'lock',
  'bloom',
  'key',
] as const

const DEFAULTS = {
  ttl: '5m',
  grace: 0,
  graceBackoff: '10s',
  lock: { ttl: '10s', wait: '250ms' },
  maxStaleWhenPartitioned: '5s',
  name: 'default',
} as const

export interface Lock {
  ttl: number
  wait: number
}

export interface Config {
  l1: MemoryTier | undefined
  l2: RedisTier | undefined
  bus: { channel: string; subscriber: unknown } | undefined
  ttl: number
  grace: number
  graceBackoff: number
  lock: Lock | false
  maxStaleWhenPartitioned: number
  serializer: Serializer
  bloom: BloomOptions | undefined
  responseCaches: TagInvalidationTarget[]
  name: string
  log: OnceLogger
  now: () => number
}

/** Per-call settings, resolved on a miss only (a hit reads nothing but `refreshAhead`). */
export interface Call {
  ttl: number
  grace: number
  graceBackoff: number
  softTimeout: number
  hardTimeout: number
  refreshAhead: number | 'auto'
  tags: readonly string[] | undefined
  negativeTtl: number | undefined
  lock: Lock | false
}

function duration(pkg: string, value: unknown, name: string): number {
  try {
    return parseDuration(value as number | string, name)
  } catch (error) {
    return optionError(pkg, `${name}: ${(error as Error).message}`)
  }
}

function lockOf(value: LockOptions | false | undefined, fallback: Lock | false): Lock | false {
  if (value === undefined) return fallback
  if (value === false) return false
  if (value === null || typeof value !== 'object')
    optionError(PKG, "lock must be { ttl, wait } or false, e.g. { ttl: '10s', wait: '250ms' }.")
  rejectUnknownOptions(`${PKG} lock`, value, ['ttl', 'wait'])
  const base = fallback === false ? { ttl: 10_000, wait: 250 } : fallback
  return {
    ttl: value.ttl === undefined ? base.ttl : duration(PKG, value.ttl, 'lock.ttl'),
    wait: value.wait === undefined ? base.wait : duration(PKG, value.wait, 'lock.wait'),
  }
}

function tagsOf(value: unknown, where: string): readonly string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || value.some((tag) => typeof tag !== 'string' || tag.length === 0)) {
    optionError(PKG, `${where} must be an array of non-empty strings.`)
  }
  return value as readonly string[]
}

export function resolveConfig(options: Readonly<CacheOptions> = {}): Config {
  rejectUnknownOptions(PKG, options, KNOWN)
  const l1 = options.l1 === false ? undefined : (options.l1 ?? new MemoryTier())
  if (l1 !== undefined && !(l1 instanceof MemoryTier))
    optionError(PKG, "l1 must be new MemoryTier({ maxBytes: '64mb' }) or false.")
  const l2 = options.l2
  if (l2 !== undefined && !(l2 instanceof RedisTier))
    optionError(PKG, "l2 must be new RedisTier({ url, commandTimeout: '50ms' }).")
  if (l1 === undefined && l2 === undefined)
    optionError(PKG, 'l1: false needs an l2 (new RedisTier({ url })): a cache needs a tier.')
  let bus: Config['bus']
  if (options.bus !== false && l2 !== undefined) {
    const custom = (typeof options.bus === 'object' && options.bus !== null ? options.bus : {}) as BusOptions
    rejectUnknownOptions(`${PKG} bus`, custom, ['channel', 'subscriber'])
    bus = { channel: custom.channel ?? `${l2.prefix}bus`, subscriber: custom.subscriber }
  } else if (options.bus !== undefined && options.bus !== false && l2 === undefined) {
    optionError(
      PKG,
      'bus needs a Redis l2 (new RedisTier({ url })); without one there is nothing to keep coherent.',
    )
  }
  const bloom = options.bloom
  if (bloom !== undefined) {
    rejectUnknownOptions(`${PKG} bloom`, bloom, ['expected', 'falsePositiveRate', 'load'])
    if (!(Number.isInteger(bloom.expected) && bloom.expected > 0))
      optionError(PKG, 'bloom.expected must be a positive integer (the number of ids).')
    const rate = bloom.falsePositiveRate ?? 0.01
    if (!(rate > 0 && rate < 1))
      optionError(PKG, 'bloom.falsePositiveRate must be between 0 and 1, e.g. 0.01.')
    if (typeof bloom.load !== 'function')
      optionError(PKG, 'bloom.load must be a function returning every existing id.')
  }
  const responseCaches = [...(options.responseCaches ?? [])]
  for (const target of responseCaches) {
    if (typeof target?.invalidate !== 'function')
      optionError(PKG, 'responseCaches must hold response caches (objects with invalidate({ tag })).')
  }
  const name = options.namespace ?? DEFAULTS.name
  if (typeof name !== 'string' || name.length === 0) optionError(PKG, 'namespace must be a non-empty string.')
  const now = options.now ?? Date.now
  if (typeof now !== 'function') optionError(PKG, 'now must be a function returning ms.')
  const ttl = duration(PKG, options.ttl ?? DEFAULTS.ttl, 'ttl')
  if (!(ttl > 0)) optionError(PKG, "ttl must be greater than 0, e.g. '5m'.")
  return {
    l1,
    l2,
    bus,
    ttl,
    grace: duration(PKG, options.grace ?? DEFAULTS.grace, 'grace'),
    graceBackoff: duration(PKG, options.graceBackoff ?? DEFAULTS.graceBackoff, 'graceBackoff'),
    lock: lockOf(options.lock, lockOf(DEFAULTS.lock, false)),
    maxStaleWhenPartitioned: duration(
      PKG,
      options.maxStaleWhenPartitioned ?? DEFAULTS.maxStaleWhenPartitioned,
      'maxStaleWhenPartitioned',
    ),
    serializer: resolveSerializer(options.serializer),
    bloom,
    responseCaches,
    name,
    log: createLogger(options.logger),
    now,
  }
}

/** Per-call options over the cache's defaults; throws a coded error naming the bad field. */
export function resolveCall(
  options: Readonly<GetOrSetOptions> | undefined,
  config: Config,
  ttlDefault: number,
): Call {
  if (options === undefined) {
    return {
      ttl: ttlDefault,
      grace: config.grace,
      graceBackoff: config.graceBackoff,
      softTimeout: 0,
      hardTimeout: 0,
      refreshAhead: 0,
      tags: undefined,
      negativeTtl: undefined,
      lock: config.lock,
    }
  }
  rejectUnknownOptions(`${PKG} getOrSet`, options, CALL_KNOWN)
  const refresh = options.refreshAhead
  if (
    refresh !== undefined &&
    refresh !== false &&
    refresh !== 'auto' &&
    !(typeof refresh === 'number' && refresh > 0 && refresh < 1)
  ) {
    optionError(PKG, "refreshAhead must be a fraction of ttl between 0 and 1 (e.g. 0.8), 'auto' or false.")
  }
  const ttl = options.ttl === undefined ? ttlDefault : duration(PKG, options.ttl, 'ttl')
  if (!(ttl > 0)) optionError(PKG, "ttl must be greater than 0, e.g. '5m'.")
  return {
    ttl,
    grace: options.grace === undefined ? config.grace : duration(PKG, options.grace, 'grace'),
    graceBackoff:
      options.graceBackoff === undefined
        ? config.graceBackoff
        : duration(PKG, options.graceBackoff, 'graceBackoff'),
    softTimeout: options.softTimeout === undefined ? 0 : duration(PKG, options.softTimeout, 'softTimeout'),
    hardTimeout: options.hardTimeout === undefined ? 0 : duration(PKG, options.hardTimeout, 'hardTimeout'),
    refreshAhead: refresh === undefined || refresh === false ? 0 : refresh,
    tags: tagsOf(options.tags, 'tags'),
    negativeTtl:
      options.negativeTtl === undefined || options.negativeTtl === null
        ? undefined
        : duration(PKG, options.negativeTtl, 'negativeTtl'),
    lock: lockOf(options.lock, config.lock),
  }
}
