import type { WindowName } from '@hotpath/core'
import { HotpathError, optionError, parseDuration, rejectUnknownOptions, WINDOWS } from '@hotpath/core'
import type {
  Authorize,
  DashboardOptions,
  DashboardSources,
  InsightThresholds,
  LimitPolicyOptions,
  MetricsRegistry,
} from './types'

const PKG = '@hotpath/dashboard'

const KNOWN = [
  'auth',
  'sources',
  'fleet',
  'history',
  'registry',
  'rateLimit',
  'session',
  'insights',
  'window',
  'pollInterval',
  'allowedOrigins',
  'logger',
  'now',
] as const

const DEFAULTS = {
  read: { limit: 600, window: '1m' },
  write: { limit: 10, window: '1m' },
  session: { ttl: '12h', max: 1000, cookieName: 'hotpath_dashboard' },
  insights: {
    slowMs: 200,
    minRequests: 20,
    lowHitRatio: 0.5,
    minLookups: 100,
    limitedRatio: 0.1,
    eventLoopWarnMs: 100,
    eventLoopCriticalMs: 500,
    errorRateWarn: 0.01,
    errorRateCritical: 0.05,
  } satisfies InsightThresholds,
  window: '5m' as WindowName,
  pollInterval: '2s',
} as const

/** A token shorter than this can be guessed through the sign-in form's rate limit. */
const MIN_TOKEN_LENGTH = 16

export const AUTH_HELP =
  "Choose one: auth: { token: process.env.HOTPATH_TOKEN } (Bearer header or the sign-in form; at least 16 characters, e.g. require('node:crypto').randomBytes(24).toString('base64url')), " +
  "auth: { authorize: (req, action) => boolean | Promise<boolean> } (action is 'read' or 'write'), " +
  "or auth: 'none' to leave it open on a network you trust."

export type ResolvedAuth =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'authorize'; readonly authorize: Authorize }
  | { readonly kind: 'none' }

export interface LimitPolicy {
  readonly limit: number
  readonly windowMs: number
}

export interface Config {
  readonly auth: ResolvedAuth
  readonly sources: DashboardSources
  readonly registry: MetricsRegistry | undefined
  readonly limits: { readonly read: LimitPolicy; readonly write: LimitPolicy } | false
  readonly session: {
    readonly ttlMs: number
    readonly max: number
    readonly cookieName: string
    readonly cookiePath: string | undefined
  }
  readonly thresholds: InsightThresholds
  readonly window: WindowName
  readonly pollMs: number
  readonly allowedOrigins: ReadonlySet<string>
}

/** Validates the caller's options once, at construction, and never mutates them. */
export function resolveOptions(options: DashboardOptions | undefined): Config {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new HotpathError(
      'ERR_HOTPATH_DASHBOARD_AUTH',
      `${PKG}: dashboard() needs options with an auth decision. ${AUTH_HELP}`,
    )
  }
  rejectUnknownOptions(PKG, options, KNOWN)
  return {
    auth: resolveAuth(options.auth),
    sources: resolveSources(options.sources),
    registry: resolveRegistry(options.registry),
    limits: resolveLimits(options.rateLimit),
    session: resolveSession(options.session),
    thresholds: resolveThresholds(options.insights),
    window: resolveWindow(options.window),
    pollMs: positiveDuration(options.pollInterval ?? DEFAULTS.pollInterval, 'pollInterval'),
    allowedOrigins: resolveOrigins(options.allowedOrigins),
  }
}

function resolveAuth(auth: unknown): ResolvedAuth {
  if (auth === 'none') return { kind: 'none' }
  if (auth === undefined || auth === null) {
    throw new HotpathError(
      'ERR_HOTPATH_DASHBOARD_AUTH',
      `${PKG}: refusing to build without an auth decision. ${AUTH_HELP}`,
    )
  }
  if (typeof auth !== 'object') {
    throw new HotpathError(
      'ERR_HOTPATH_DASHBOARD_AUTH',
      `${PKG}: auth must be an object or 'none', got ${JSON.stringify(auth)}. ${AUTH_HELP}`,
    )
  }
  const keys = Object.keys(auth)
  const known = ['token', 'authorize']
  const unknown = keys.find((key) => !known.includes(key))
  if (unknown !== undefined || keys.length !== 1) {
    throw new HotpathError(
      'ERR_HOTPATH_DASHBOARD_AUTH',
      `${PKG}: auth takes exactly one of "token" or "authorize"${unknown ? `, not "${unknown}"` : ''}. ${AUTH_HELP}`,
    )
  }
  const { token, authorize } = auth as { token?: unknown; authorize?: unknown }
  if ('authorize' in auth) {
    if (typeof authorize !== 'function') {
      throw new HotpathError(
        'ERR_HOTPATH_DASHBOARD_AUTH',
        `${PKG}: auth.authorize must be a function (req, action) => boolean | Promise<boolean>.`,
      )
    }
    return { kind: 'authorize', authorize: authorize as Authorize }
  }
  if (typeof token !== 'string' || token.length === 0) {
    throw new HotpathError(
      'ERR_HOTPATH_DASHBOARD_TOKEN',
      `${PKG}: auth.token is ${token === undefined ? 'undefined (is the environment variable set?)' : 'empty or not a string'}. ${AUTH_HELP}`,
    )
  }
  if (token.length < MIN_TOKEN_LENGTH) {
    throw new HotpathError(
      'ERR_HOTPATH_DASHBOARD_TOKEN',
      `${PKG}: auth.token has ${token.length} characters; use at least ${MIN_TOKEN_LENGTH}, e.g. require('node:crypto').randomBytes(24).toString('base64url').`,
    )
  }
  return { kind: 'token', token }
}

const SOURCE_MEMBERS: Record<keyof DashboardSources, readonly string[]> = {
  cache: ['stats', 'invalidate', 'clear'],
  compression: ['stats'],
  profiler: ['stats', 'overview', 'routes', 'slowest', 'insights', 'queries'],
  rateLimit: ['stats'],
  tasks: ['stats', 'get', 'list', 'cancel', 'retry', 'on'],
  dataCache: ['stats', 'deleteByTag', 'clear'],
  overload: ['stats'],
  json: ['stats'],
}

function resolveSources(sources: DashboardSources | undefined): DashboardSources {
  if (sources === undefined) return {}
  if (sources === null || typeof sources !== 'object')
    optionError(PKG, 'sources must be an object such as { cache, profiler }.')
  const names = Object.keys(SOURCE_MEMBERS) as Array<keyof DashboardSources>
  rejectUnknownOptions(`${PKG} sources`, sources, names)
  const out: Record<string, unknown> = {}
  for (const name of names) {
    const source = sources[name] as unknown
    if (source === undefined) continue
    for (const member of SOURCE_MEMBERS[name]) {
      if (typeof (source as Record<string, unknown> | null)?.[member] !== 'function') {
        optionError(
          PKG,
          `sources.${name} has no ${member}() method; pass the instance returned by the @hotpath factory.`,
        )
      }
    }
    out[name] = source
  }
  return Object.freeze(out) as DashboardSources
}

function resolveRegistry(registry: MetricsRegistry | undefined): MetricsRegistry | undefined {
  if (registry === undefined) return undefined
  if (typeof registry?.metrics !== 'function' || typeof registry.contentType !== 'string') {
    optionError(PKG, 'registry must be a prom-client Registry (with metrics() and contentType).')
  }
  return registry
}

function resolveLimits(option: DashboardOptions['rateLimit']): Config['limits'] {
  if (option === false) return false
  if (option !== undefined && (option === null || typeof option !== 'object')) {
    optionError(PKG, 'rateLimit must be { read?, write? } or false.')
  }
  rejectUnknownOptions(`${PKG} rateLimit`, option, ['read', 'write'])
  return {
    read: resolvePolicy(option?.read, DEFAULTS.read, 'read'),
    write: resolvePolicy(option?.write, DEFAULTS.write, 'write'),
  }
}

function resolvePolicy(
  policy: LimitPolicyOptions | undefined,
  defaults: { limit: number; window: string },
  name: string,
): LimitPolicy {
  rejectUnknownOptions(`${PKG} rateLimit.${name}`, policy, ['limit', 'window'])
  const limit = policy?.limit ?? defaults.limit
  if (!Number.isInteger(limit) || limit < 1)
    optionError(PKG, `rateLimit.${name}.limit must be a positive integer, got ${limit}.`)
  return { limit, windowMs: positiveDuration(policy?.window ?? defaults.window, `rateLimit.${name}.window`) }
}

function resolveSession(session: DashboardOptions['session']): Config['session'] {
  rejectUnknownOptions(`${PKG} session`, session, ['ttl', 'max', 'cookieName', 'cookiePath'])
  const max = session?.max ?? DEFAULTS.session.max
  if (!Number.isInteger(max) || max < 1)
    optionError(PKG, `session.max must be a positive integer, got ${max}.`)
  const cookieName = session?.cookieName ?? DEFAULTS.session.cookieName
  if (typeof cookieName !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(cookieName)) {
    optionError(PKG, 'session.cookieName must be 1-64 letters, digits, "_" or "-".')
  }
  const cookiePath = session?.cookiePath
  if (cookiePath !== undefined && !isCookiePath(cookiePath)) {
    optionError(
      PKG,
      `session.cookiePath must be an absolute path such as '/performance', got ${JSON.stringify(cookiePath)}.`,
    )
  }
  return {
    ttlMs: positiveDuration(session?.ttl ?? DEFAULTS.session.ttl, 'session.ttl'),
    max,
    cookieName,
    cookiePath,
  }
}

/** RFC 6265 §4.1.1: a path-value is any CHAR except CTLs or ";". Kept stricter here. */
export function isCookiePath(path: unknown): path is string {
  return typeof path === 'string' && /^\/[A-Za-z0-9/._~%!$&'()*+,=:@-]{0,255}$/.test(path)
}

function resolveThresholds(insights: Partial<InsightThresholds> | undefined): InsightThresholds {
  const known = Object.keys(DEFAULTS.insights)
  rejectUnknownOptions(`${PKG} insights`, insights, known)
  const out: Record<string, number> = { ...DEFAULTS.insights }
  for (const key of known) {
    const value = (insights as Record<string, unknown> | undefined)?.[key]
    if (value === undefined) continue
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      optionError(PKG, `insights.${key} must be a non-negative number, got ${JSON.stringify(value)}.`)
    }
    out[key] = value
  }
  return Object.freeze(out) as unknown as InsightThresholds
}

function resolveWindow(window: unknown): WindowName {
  if (window === undefined) return DEFAULTS.window
  if (!WINDOWS.includes(window as WindowName)) {
    optionError(PKG, `window must be one of ${WINDOWS.join(', ')}, got ${JSON.stringify(window)}.`)
  }
  return window as WindowName
}

function resolveOrigins(origins: readonly string[] | undefined): ReadonlySet<string> {
  if (origins === undefined) return new Set()
  if (!Array.isArray(origins))
    optionError(PKG, "allowedOrigins must be an array such as ['https://admin.example.com'].")
  const out = new Set<string>()
  for (const origin of origins) {
    let parsed: URL | undefined
    try {
      parsed = new URL(String(origin))
    } catch {
      parsed = undefined
    }
    if (!parsed || parsed.origin === 'null' || parsed.origin !== String(origin).replace(/\/$/, '')) {
      optionError(
        PKG,
        `allowedOrigins entries must be origins such as 'https://admin.example.com', got ${JSON.stringify(origin)}.`,
      )
    }
    out.add(parsed.origin)
  }
  return out
}

function positiveDuration(input: unknown, what: string): number {
  const ms = parseDuration(input as number | string, what)
  if (ms <= 0) optionError(PKG, `${what} must be greater than zero.`)
  return ms
}
