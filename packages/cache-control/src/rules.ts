import { compileMatcher, didYouMean, HotpathError, rejectUnknownOptions } from '@hotpath/core'
import type { Request } from 'express'
import {
  DEFAULT_FINGERPRINT,
  DIRECTIVE_KEYS,
  mergeOverPreset,
  PRESET_NAMES,
  PRESETS,
  pickDirectives,
  serialize,
  validateDirectives,
} from './directives'
import type { Directives, ETagMode, Rule } from './types'

/** What a rule may carry besides its directives. */
const META_KEYS = [
  'match',
  'name',
  'methods',
  'status',
  'preset',
  'cdn',
  'surrogate',
  'override',
  'vary',
  'etag',
  'fingerprint',
  'cookies',
] as const
const RULE_KEYS: readonly string[] = [...META_KEYS, ...DIRECTIVE_KEYS]

/** The header values one rule sends, all serialised at construction. */
export interface HeaderSet {
  cacheControl: string
  cdn: string | undefined
  surrogate: string | undefined
  /** What goes out instead when the response sets a cookie (`cookies: 'private'`); none when equal. */
  cookie: { cacheControl: string; cdn: string | undefined; surrogate: string | undefined } | undefined
}

export interface CompiledRule {
  name: string
  test(req: Request, path: string): boolean
  methods: ReadonlySet<string>
  cacheable(status: number): boolean
  headers: HeaderSet
  /** For the `static` preset: the set for fingerprinted file names. */
  fingerprinted: HeaderSet | undefined
  fingerprint: RegExp
  override: boolean
  vary: readonly string[]
  etag: ETagMode | undefined
  /** Responses this rule gave its policy to (rules are compiled per middleware instance). */
  hits: number
}

const defaultCacheable = (status: number) => (status >= 200 && status < 300) || status === 304

function headerSet(policy: Directives, rule: Rule, where: string): HeaderSet {
  const extra = (option: boolean | Directives | undefined, label: string) => {
    if (option === undefined || option === false) return undefined
    if (option === true) return serialize(policy)
    rejectUnknownOptions(`cacheControl ${where}.${label}`, option, DIRECTIVE_KEYS)
    validateDirectives(option, `${where}.${label}`)
    return serialize(option)
  }
  const cdn = extra(rule.cdn, 'cdn')
  const surrogate = extra(rule.surrogate, 'surrogate')
  return {
    cacheControl: serialize(policy),
    cdn,
    surrogate,
    cookie: rule.cookies === 'public-ok' ? undefined : cookiePolicy(policy, cdn, surrogate),
  }
}

/**
 * A response that sets a cookie is one user's: it never gets `public` or `s-maxage` from a
 * rule (a shared cache would hand the cookie to everyone, RFC 9111 §3 / §5.2.2.7), and the
 * targeted fields of shared caches say `private` too. The browser keeps the rule's `max-age`.
 */
function cookiePolicy(policy: Directives, cdn: string | undefined, surrogate: string | undefined) {
  if (policy.noStore || (policy.private && policy.sMaxage === undefined && !cdn && !surrogate))
    return undefined
  const own: Directives = { ...policy, private: true }
  delete own.public
  delete own.sMaxage
  delete own.proxyRevalidate
  return {
    cacheControl: serialize(own),
    cdn: cdn === undefined ? undefined : 'private',
    surrogate: surrogate === undefined ? undefined : 'no-store',
  }
}

export function compileRule(rule: Rule, index: number): CompiledRule {
  const where = `rules[${index}]`
  if (!rule || typeof rule !== 'object') {
    throw new HotpathError('ERR_HOTPATH_CACHE_CONTROL', `cacheControl: ${where} must be an object.`)
  }
  rejectUnknownOptions(`cacheControl ${where}`, rule, RULE_KEYS)
  if (rule.match === undefined) {
    throw new HotpathError(
      'ERR_HOTPATH_CACHE_CONTROL',
      `cacheControl: ${where} needs "match" (a path glob like "/static/**", a RegExp or (req) => boolean).`,
    )
  }
  if (rule.preset !== undefined && !PRESET_NAMES.includes(rule.preset)) {
    throw new HotpathError(
      'ERR_HOTPATH_CACHE_CONTROL',
      `cacheControl: ${where}.preset "${String(rule.preset)}" is not one of ${PRESET_NAMES.join(', ')}.${didYouMean(String(rule.preset), PRESET_NAMES)}`,
    )
  }
  const own = pickDirectives(rule)
  validateDirectives(own, `cacheControl ${where}`)
  const policy = rule.preset ? mergeOverPreset(PRESETS[rule.preset], own) : own
  validateDirectives(policy, `cacheControl ${where}`)
  if (!rule.preset && Object.keys(own).length === 0) {
    throw new HotpathError(
      'ERR_HOTPATH_CACHE_CONTROL',
      `cacheControl: ${where} sets no policy; give a preset (${PRESET_NAMES.join(', ')}) or directives such as maxAge.`,
    )
  }
  const status = rule.status
  let cacheable = defaultCacheable
  if (typeof status === 'function') cacheable = (code) => status(code) === true
  else if (Array.isArray(status)) {
    const allowed = new Set(status)
    cacheable = (code) => allowed.has(code)
  } else if (status !== undefined) {
    throw new HotpathError(
      'ERR_HOTPATH_CACHE_CONTROL',
      `cacheControl: ${where}.status must be an array of codes or a function.`,
    )
  }
  if (rule.cookies !== undefined && rule.cookies !== 'private' && rule.cookies !== 'public-ok') {
    throw new HotpathError(
      'ERR_HOTPATH_CACHE_CONTROL',
      `cacheControl: ${where}.cookies must be 'private' (the default: a response that sets a cookie is sent private) or 'public-ok'.`,
    )
  }
  const methods = new Set((rule.methods ?? ['GET', 'HEAD']).map((method) => method.toUpperCase()))
  const fingerprinted =
    rule.preset === 'static' ? headerSet(mergeOverPreset(PRESETS.immutable, own), rule, where) : undefined
  return {
    name: rule.name ?? (typeof rule.match === 'function' ? `rule ${index}` : String(rule.match)),
    test: compileMatcher(rule.match, `cacheControl ${where}.match`),
    methods,
    cacheable,
    headers: headerSet(policy, rule, where),
    fingerprinted,
    fingerprint: rule.fingerprint ?? DEFAULT_FINGERPRINT,
    override: rule.override === true,
    vary: rule.vary ?? [],
    etag: rule.etag,
    hits: 0,
  }
}
