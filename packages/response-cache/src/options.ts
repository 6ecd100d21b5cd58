import {
  compileMatcher,
  type Dynamic,
  optionError,
  parseBytes,
  parseDuration,
  rejectUnknownOptions,
} from '@hotpath/core'
import type { Request, Response } from 'express'
import { MemoryStore } from './stores/memory'
import type { CacheStore, ResponseCacheOptions, RouteOptions, Rule } from './types'

export const PKG = '@hotpath/response-cache'

/** The one defaults object; user options are spread over it, never mutated. */
export const DEFAULTS = {
  ttl: '1m',
  freshness: 'ttl',
  maxTtl: '365d',
  defaultTtl: 0,
  heuristic: false,
  targets: ['CDN-Cache-Control'],
  staleWhileRevalidate: 0,
  staleIfError: 0,
  statuses: [200, 203, 204, 300, 301, 404, 410],
  maxEntryBytes: '1mb',
  cookies: false,
  authorization: false,
  xCache: false,
  cacheName: 'hotpath',
  encodings: ['br', 'gzip'],
  variantMinBytes: 1024,
  coalesce: true,
  lockTtl: '10s',
} as const

const ROUTE_KEYS = [
  'ttl',
  'freshness',
  'maxTtl',
  'defaultTtl',
  'heuristic',
  'targets',
  'omitHeaders',
  'staleWhileRevalidate',
  'staleIfError',
  'tags',
  'key',
  'vary',
  'statuses',
  'maxEntryBytes',
  'cookies',
  'authorization',
] as const
const TOP_KEYS = [
  ...ROUTE_KEYS,
  'store',
  'rules',
  'headers',
  'variants',
  'coalesce',
  'lockTtl',
  'onError',
  'logger',
  'now',
  'registry',
  'metricsPrefix',
] as const

type Resolver<T> = (req: Request, res: Response) => T | Promise<T>

/** A route's options, resolved once: static values are parsed here, functions per request. */
export interface RouteConfig {
  readonly ttl: Resolver<number> | number
  /** `'ttl'`: `ttl` is the default lifetime and its cap; `'origin'`: the response's headers decide. */
  readonly freshness: 'ttl' | 'origin'
  readonly maxTtl: number
  readonly defaultTtl: number
  readonly heuristic: boolean
  /** Targeted cache-control fields (RFC 9213), lower case. */
  readonly targets: readonly string[]
  /** Response fields never stored (lower case), on top of the per-request ones. */
  readonly omit: ReadonlySet<string>
  readonly swr: Resolver<number> | number
  readonly sie: Resolver<number> | number
  readonly tags: RouteOptions['tags']
  readonly key: RouteOptions['key']
  readonly vary: readonly string[]
  readonly statuses: ReadonlySet<number>
  readonly maxEntryBytes: number
  readonly cookies: Dynamic<boolean>
  readonly authorization: Dynamic<boolean>
}

export interface CompiledRule {
  readonly test: (req: Request, path: string) => boolean
  readonly config: RouteConfig | null
}

export interface Config {
  readonly store: CacheStore
  readonly base: RouteConfig
  readonly rules: readonly CompiledRule[] | null
  readonly xCache: boolean
  readonly cacheName: string
  readonly encodings: readonly string[]
  readonly variantMinBytes: number
  readonly coalesce: boolean
  readonly lockTtl: number
  readonly onError: ResponseCacheOptions['onError']
  readonly now: () => number
}

function duration(value: Dynamic<number | string>, what: string): Resolver<number> | number {
  if (typeof value !== 'function') return parseDuration(value, `${PKG}: ${what}`)
  return (req, res) => {
    const out = value(req, res)
    return out instanceof Promise
      ? out.then((v) => parseDuration(v, `${PKG}: ${what}`))
      : parseDuration(out, `${PKG}: ${what}`)
  }
}

function headerList(value: unknown, where: string): string[] {
  if (value === undefined) return []
  if (
    !Array.isArray(value) ||
    value.some((v) => typeof v !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(v))
  ) {
    const kind = where.endsWith('vary') ? 'request header names' : 'header names'
    optionError(PKG, `${where} must be an array of ${kind}, e.g. ['accept-language'].`)
  }
  return value.map((v: string) => v.toLowerCase())
}

/** Validates one set of route options over `parent` (the instance defaults). */
export function routeConfig(options: RouteOptions, parent: RouteConfig | null, where: string): RouteConfig {
  if (where !== 'options') rejectUnknownOptions(`${PKG}: ${where}`, options, ROUTE_KEYS)
  const o: RouteOptions = { ...options }
  if (o.tags !== undefined && typeof o.tags !== 'function' && !Array.isArray(o.tags)) {
    optionError(PKG, `${where}.tags must be an array of strings or a function (req, res) => string[].`)
  }
  if (o.key !== undefined && typeof o.key !== 'function') {
    optionError(PKG, `${where}.key must be a function (req) => string | string[].`)
  }
  if (
    o.statuses !== undefined &&
    (!Array.isArray(o.statuses) || o.statuses.some((s) => !Number.isInteger(s)))
  ) {
    optionError(PKG, `${where}.statuses must be an array of status codes, e.g. [200, 404].`)
  }
  if (o.statuses?.includes(206))
    optionError(PKG, `${where}.statuses: 206 partial content is never stored; remove it.`)
  // A stored 304 or 1xx would be replayed to clients that did not ask for it (RFC 9111 §3).
  for (const s of o.statuses ?? []) {
    if (s === 304 || s < 200 || s > 599)
      optionError(
        PKG,
        `${where}.statuses: ${s} is never stored (only final statuses, and not 304: a stored 304 would reach unconditional requests); remove it.`,
      )
  }
  if (o.freshness !== undefined && o.freshness !== 'ttl' && o.freshness !== 'origin') {
    optionError(
      PKG,
      `${where}.freshness must be 'ttl' (ttl is the lifetime and its cap) or 'origin' (the response's Cache-Control / Expires decide).`,
    )
  }
  if (o.heuristic !== undefined && typeof o.heuristic !== 'boolean') {
    optionError(
      PKG,
      `${where}.heuristic must be true or false (RFC 9111 §4.2.2 freshness from Last-Modified).`,
    )
  }
  return {
    ttl: o.ttl === undefined && parent ? parent.ttl : duration(o.ttl ?? DEFAULTS.ttl, `${where}.ttl`),
    freshness: o.freshness ?? parent?.freshness ?? (DEFAULTS.freshness as 'ttl'),
    maxTtl:
      o.maxTtl === undefined && parent
        ? parent.maxTtl
        : parseDuration(o.maxTtl ?? DEFAULTS.maxTtl, `${PKG}: ${where}.maxTtl`),
    defaultTtl:
      o.defaultTtl === undefined && parent
        ? parent.defaultTtl
        : parseDuration(o.defaultTtl ?? DEFAULTS.defaultTtl, `${PKG}: ${where}.defaultTtl`),
    heuristic: o.heuristic ?? parent?.heuristic ?? DEFAULTS.heuristic,
    targets:
      o.targets === undefined && parent
        ? parent.targets
        : headerList(o.targets ?? DEFAULTS.targets, `${where}.targets`),
    omit:
      o.omitHeaders === undefined && parent
        ? parent.omit
        : new Set(headerList(o.omitHeaders, `${where}.omitHeaders`)),
    swr:
      o.staleWhileRevalidate === undefined && parent
        ? parent.swr
        : duration(o.staleWhileRevalidate ?? DEFAULTS.staleWhileRevalidate, `${where}.staleWhileRevalidate`),
    sie:
      o.staleIfError === undefined && parent
        ? parent.sie
        : duration(o.staleIfError ?? DEFAULTS.staleIfError, `${where}.staleIfError`),
    tags: o.tags ?? parent?.tags,
    key: o.key ?? parent?.key,
    vary: o.vary === undefined && parent ? parent.vary : headerList(o.vary, `${where}.vary`),
    statuses: o.statuses ? new Set(o.statuses) : (parent?.statuses ?? new Set(DEFAULTS.statuses)),
    maxEntryBytes:
      o.maxEntryBytes === undefined && parent
        ? parent.maxEntryBytes
        : parseBytes(o.maxEntryBytes ?? DEFAULTS.maxEntryBytes, `${PKG}: ${where}.maxEntryBytes`),
    cookies: o.cookies ?? parent?.cookies ?? DEFAULTS.cookies,
    authorization: o.authorization ?? parent?.authorization ?? DEFAULTS.authorization,
  }
}

function compileRules(rules: readonly Rule[], base: RouteConfig): CompiledRule[] {
  if (!Array.isArray(rules)) optionError(PKG, 'rules must be an array of { match, ...routeOptions }.')
  return rules.map((rule, i) => {
    if (rule === null || typeof rule !== 'object' || rule.match === undefined) {
      optionError(PKG, `rules[${i}] needs a "match" (a path glob, a RegExp or a function).`)
    }
    const { match, cache, ...route } = rule
    return {
      test: compileMatcher(match, `${PKG}: rules[${i}].match`),
      config: cache === false ? null : routeConfig(route, base, `rules[${i}]`),
    }
  })
}

export function resolveOptions(input: Readonly<ResponseCacheOptions> = {}): Config {
  rejectUnknownOptions(PKG, input, TOP_KEYS)
  const options: ResponseCacheOptions = { ...input }
  const base = routeConfig(options, null, 'options')
  const variants = options.variants === undefined ? {} : options.variants
  if (variants !== false && (variants === null || typeof variants !== 'object')) {
    optionError(PKG, "variants must be false or { encodings: ['br', 'gzip'], minBytes: 1024 }.")
  }
  const encodings = variants === false ? [] : [...(variants.encodings ?? DEFAULTS.encodings)]
  for (const e of encodings) {
    if (e !== 'br' && e !== 'gzip')
      optionError(PKG, `variants.encodings: "${e}" is not supported; use 'br' and/or 'gzip'.`)
  }
  const store = options.store ?? new MemoryStore()
  if (
    typeof store.get !== 'function' ||
    typeof store.set !== 'function' ||
    typeof store.deleteTag !== 'function'
  ) {
    optionError(PKG, 'store must be a MemoryStore, a RedisStore or an object with the CacheStore methods.')
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    optionError(PKG, 'onError must be a function (error, req) => void.')
  }
  const headers = { ...options.headers }
  // RFC 9211 §2: the cache identifier is an sf-token (or sf-string); a token keeps parsing simple.
  if (
    headers.cacheName !== undefined &&
    !/^[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,63}$/.test(headers.cacheName)
  ) {
    optionError(
      PKG,
      `headers.cacheName must be a token such as "hotpath" or "api-cache", got ${JSON.stringify(headers.cacheName)}.`,
    )
  }
  return {
    store,
    base,
    rules: options.rules ? compileRules(options.rules, base) : null,
    xCache: headers.xCache ?? DEFAULTS.xCache,
    cacheName: headers.cacheName ?? DEFAULTS.cacheName,
    encodings,
    variantMinBytes:
      variants === false
        ? 0
        : parseBytes(variants.minBytes ?? DEFAULTS.variantMinBytes, `${PKG}: variants.minBytes`),
    coalesce: options.coalesce ?? DEFAULTS.coalesce,
    lockTtl: parseDuration(options.lockTtl ?? DEFAULTS.lockTtl, `${PKG}: lockTtl`),
    onError: options.onError,
    now: options.now ?? Date.now,
  }
}

/** Resolves a duration option for one request (ms). */
export function msOf(
  value: Resolver<number> | number,
  req: Request,
  res: Response,
): number | Promise<number> {
  return typeof value === 'number' ? value : value(req, res)
}
