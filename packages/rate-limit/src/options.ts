import { type Dynamic, didYouMean, optionError, parseDuration, rejectUnknownOptions } from '@hotpath/core'
import type {
  Algorithm,
  HeaderFormat,
  HeadersMode,
  LimitHandler,
  Policy,
  RateLimitOptions,
  RouteOptions,
  StoreErrorPolicy,
} from './types'

export const PKG = '@hotpath/rate-limit'

export const ALGORITHMS: readonly Algorithm[] = ['fixed-window', 'sliding-window', 'token-bucket', 'gcra']
const HEADER_FORMATS: readonly HeaderFormat[] = ['draft', 'draft-6', 'draft-7', 'draft-8', 'legacy']

/** express-rate-limit's option names, and what they are called here. */
const RENAMED: Readonly<Record<string, string>> = {
  max: `limit`,
  windowMs: `window (a number of ms or '15m')`,
  keyGenerator: `key ((req, res) => string)`,
  standardHeaders: `headers ('draft-6', 'draft-7', 'draft' or a list with 'legacy')`,
  legacyHeaders: `headers ('legacy', or 'both' with the current draft)`,
  passOnStoreError: `onStoreError ('open')`,
  identifier: `name`,
  requestPropertyName: `get(key) (the limiter reports a key's state; nothing is added to req)`,
  validate: `the coded warnings, logged once through logger`,
}
const FAILURE_MODES: readonly StoreErrorPolicy[] = ['open', 'closed', 'memory']

const ROUTE_KEYS = [
  'algorithm',
  'limit',
  'window',
  'burst',
  'cost',
  'key',
  'skip',
  'skipFailedRequests',
  'skipSuccessfulRequests',
  'requestWasSuccessful',
  'ipv6Subnet',
  'headers',
  'statusCode',
  'message',
  'handler',
  'name',
] as const
export const KNOWN_ROUTE_OPTIONS: readonly string[] = ROUTE_KEYS
export const KNOWN_OPTIONS: readonly string[] = [
  ...ROUTE_KEYS,
  'store',
  'onStoreError',
  'logger',
  'registry',
  'metricsPrefix',
  'now',
]

/** The one defaults object; user options are spread over it, never mutated. */
export const DEFAULTS = {
  algorithm: 'sliding-window' as Algorithm,
  limit: 100 as Dynamic<number>,
  window: '1m' as Dynamic<number | string>,
  cost: 1 as Dynamic<number>,
  headers: 'draft' as HeadersMode,
  statusCode: 429,
  message: 'Too many requests, please try again later.' as NonNullable<RateLimitOptions['message']>,
  onStoreError: 'memory' as StoreErrorPolicy,
  metricsPrefix: 'hotpath_rate_limit_',
} as const

/** The resolved configuration of one layer (the global limiter or one `route()`). */
export interface LayerConfig {
  readonly name: string
  readonly algorithm: Algorithm
  readonly limit: Dynamic<number>
  readonly window: Dynamic<number | string>
  readonly burst: number | undefined
  readonly cost: Dynamic<number>
  readonly key: Dynamic<string> | undefined
  readonly skip: RouteOptions['skip']
  readonly skipFailedRequests: boolean
  readonly skipSuccessfulRequests: boolean
  readonly requestWasSuccessful: RouteOptions['requestWasSuccessful']
  readonly ipv6Subnet: number
  /** The header formats written, deduplicated (`[]` for none). */
  readonly headers: readonly HeaderFormat[]
  readonly statusCode: number
  readonly message: NonNullable<RateLimitOptions['message']>
  readonly handler: LimitHandler | undefined
  /** Set when neither limit nor window depends on the request. */
  readonly policy: Policy | undefined
  /** Set when the cost does not depend on the request. */
  readonly staticCost: number | undefined
}

export function layerConfig(
  options: Readonly<RouteOptions>,
  base: LayerConfig | undefined,
  name: string,
): LayerConfig {
  const algorithm = options.algorithm ?? base?.algorithm ?? DEFAULTS.algorithm
  if (!ALGORITHMS.includes(algorithm)) {
    optionError(
      PKG,
      `algorithm must be one of ${ALGORITHMS.join(', ')}.${didYouMean(String(algorithm), ALGORITHMS)}`,
    )
  }
  const limit = options.limit ?? base?.limit ?? DEFAULTS.limit
  const window = options.window ?? base?.window ?? DEFAULTS.window
  const burst = options.burst ?? (options.algorithm === undefined ? base?.burst : undefined)
  if (burst !== undefined) {
    if (algorithm === 'fixed-window' || algorithm === 'sliding-window') {
      optionError(PKG, `burst applies to token-bucket and gcra only; ${algorithm} allows "limit" per window.`)
    }
    checkCount(burst, 'burst', 1)
  }
  const cost = options.cost ?? base?.cost ?? DEFAULTS.cost
  if (typeof cost !== 'function') checkCount(cost, 'cost', 0)
  const headers =
    options.headers === undefined ? (base?.headers ?? formats(DEFAULTS.headers)) : formats(options.headers)
  const skipFailedRequests = flag(
    options.skipFailedRequests ?? base?.skipFailedRequests,
    'skipFailedRequests',
  )
  const skipSuccessfulRequests = flag(
    options.skipSuccessfulRequests ?? base?.skipSuccessfulRequests,
    'skipSuccessfulRequests',
  )
  checkFunction(
    options.requestWasSuccessful,
    'requestWasSuccessful',
    '(req, res) => boolean | Promise<boolean>',
  )
  const ipv6Subnet = options.ipv6Subnet ?? base?.ipv6Subnet ?? 56
  if (!Number.isInteger(ipv6Subnet) || ipv6Subnet < 1 || ipv6Subnet > 128) {
    optionError(
      PKG,
      `ipv6Subnet must be a prefix length from 1 to 128 (56 keys a household), got ${JSON.stringify(ipv6Subnet)}.`,
    )
  }
  const statusCode = options.statusCode ?? base?.statusCode ?? DEFAULTS.statusCode
  if (!Number.isInteger(statusCode) || statusCode < 400 || statusCode > 599) {
    optionError(PKG, `statusCode must be an integer from 400 to 599, got ${String(statusCode)}.`)
  }
  const message = options.message ?? base?.message ?? DEFAULTS.message
  if (!['string', 'object', 'function'].includes(typeof message) || message === null) {
    optionError(PKG, 'message must be a string, a JSON object or a function (req, res) => string | object.')
  }
  checkFunction(options.handler, 'handler', '(req, res, next, info) => void')
  checkFunction(options.skip, 'skip', '(req, res) => boolean | Promise<boolean>')
  const key = options.key ?? base?.key
  if (key !== undefined && typeof key !== 'string' && typeof key !== 'function') {
    optionError(PKG, 'key must be a string or a function (req, res) => string | Promise<string>.')
  }
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(name)) {
    optionError(PKG, `name must be 1-64 characters of A-Z a-z 0-9 _ . : -, got ${JSON.stringify(name)}.`)
  }
  const policy =
    typeof limit === 'function' || typeof window === 'function'
      ? undefined
      : makePolicy(algorithm, limit, window, burst, optionError)
  return {
    name,
    algorithm,
    limit,
    window,
    burst,
    cost,
    key,
    skip: options.skip ?? base?.skip,
    skipFailedRequests,
    skipSuccessfulRequests,
    requestWasSuccessful: options.requestWasSuccessful ?? base?.requestWasSuccessful,
    ipv6Subnet,
    headers,
    statusCode,
    message,
    handler: options.handler ?? base?.handler,
    policy,
    staticCost: typeof cost === 'function' ? undefined : cost,
  }
}

/** `headers` as a list of formats: `'both'` is draft + legacy, `false` none, `'draft-8'` is `'draft'`. */
function formats(mode: unknown): readonly HeaderFormat[] {
  if (mode === false) return []
  if (mode === 'both') return ['draft', 'legacy']
  const list = Array.isArray(mode) ? mode : [mode]
  const out: HeaderFormat[] = []
  for (const item of list) {
    if (!HEADER_FORMATS.includes(item as HeaderFormat)) {
      const hint = typeof item === 'string' ? didYouMean(item, HEADER_FORMATS) : ''
      optionError(
        PKG,
        `headers must be 'draft', 'draft-6', 'draft-7', 'draft-8', 'legacy', 'both', false or a list of formats, got ${JSON.stringify(item)}.${hint}`,
      )
    }
    const format = item === 'draft-8' ? 'draft' : (item as HeaderFormat)
    if (!out.includes(format)) out.push(format)
  }
  if (out.length === 0) optionError(PKG, 'headers: an empty list; use false for no rate-limit headers.')
  // Every draft writes RateLimit-Policy (and 'draft'/'draft-7' RateLimit), each in its own syntax.
  if (out.filter((format) => format !== 'legacy').length > 1) {
    optionError(
      PKG,
      `headers: ${out.join(', ')} write the same fields in different syntaxes; pick one draft (plus 'legacy').`,
    )
  }
  return Object.freeze(out)
}

function flag(value: unknown, what: string): boolean {
  if (value === undefined) return false
  if (typeof value !== 'boolean')
    optionError(PKG, `${what} must be true or false, got ${JSON.stringify(value)}.`)
  return value
}

type Fail = (pkg: string, message: string) => never

/** Builds a policy; `fail` throws at construction, or names the bad value per request. */
export function makePolicy(
  algorithm: Algorithm,
  limit: unknown,
  window: unknown,
  burst: number | undefined,
  fail: Fail,
): Policy {
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1) {
    fail(PKG, `limit must be a positive integer, got ${JSON.stringify(limit)}.`)
  }
  let windowMs = 0
  try {
    windowMs = parseDuration(window as number | string, 'window')
  } catch (error) {
    fail(PKG, (error as Error).message)
  }
  if (!Number.isInteger(windowMs) || windowMs < 1) {
    fail(PKG, `window must be a whole number of milliseconds, at least 1, got ${JSON.stringify(window)}.`)
  }
  return { algorithm, limit, windowMs, burst: burst ?? limit }
}

export function checkCount(value: unknown, what: string, min: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    optionError(PKG, `${what} must be an integer ≥ ${min}, got ${JSON.stringify(value)}.`)
  }
}

function checkFunction(value: unknown, what: string, shape: string): void {
  if (value !== undefined && typeof value !== 'function')
    optionError(PKG, `${what} must be a function ${shape}.`)
}

/** An express-rate-limit name gets this package's name for it; then any other unknown name is refused. */
export function checkNames(pkg: string, options: object | undefined, known: readonly string[]): void {
  for (const key of Object.keys(options ?? {})) {
    const renamed = RENAMED[key]
    if (renamed !== undefined && !known.includes(key)) {
      optionError(pkg, `unknown option "${key}" (express-rate-limit's name). Did you mean ${renamed}?`)
    }
  }
  rejectUnknownOptions(pkg, options, known)
}

export function checkTopLevel(options: Readonly<RateLimitOptions>): void {
  checkNames(PKG, options, KNOWN_OPTIONS)
  const failure = options.onStoreError ?? DEFAULTS.onStoreError
  if (!FAILURE_MODES.includes(failure)) {
    optionError(
      PKG,
      `onStoreError must be 'open', 'closed' or 'memory'.${didYouMean(String(failure), FAILURE_MODES)}`,
    )
  }
  const store = options.store as { consume?: unknown } | undefined
  if (
    store !== undefined &&
    (typeof store !== 'object' || store === null || typeof store.consume !== 'function')
  ) {
    optionError(
      PKG,
      'store must be a MemoryStore, a RedisStore or an object with consume(key, policy, cost).',
    )
  }
  checkFunction(options.now, 'now', '() => milliseconds')
  const registry = options.registry as { registerMetric?: unknown } | undefined
  if (registry !== undefined && typeof registry?.registerMetric !== 'function') {
    optionError(PKG, 'registry must be a prom-client Registry (new Registry()).')
  }
}
