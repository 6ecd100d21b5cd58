import type { OutgoingHttpHeaders } from 'node:http'
import { parseCacheControl, parseHttpDate } from '@hotpath/core'

/** RFC 9111 §1.2.2: a delta-seconds too large to represent is 2^31. */
export const MAX_DELTA_SECONDS = 2 ** 31

/** What a response's own headers say about how long it may be reused (RFC 9111 §4.2). */
export interface Freshness {
  /** Explicit lifetime in ms (`s-maxage`, `max-age`, `Expires − Date`); `undefined` when none. */
  readonly explicit: number | undefined
  /** Heuristic lifetime in ms from `Last-Modified` (§4.2.2), when allowed; else `undefined`. */
  readonly heuristic: number | undefined
  /** `corrected_initial_age` in ms (§4.2.3): how old the response already was on arrival. */
  readonly initialAge: number
  /** `stale-while-revalidate` / `stale-if-error` directives in ms (RFC 5861), when given. */
  readonly swr: number | undefined
  readonly sie: number | undefined
  /** `must-revalidate`, `proxy-revalidate` or `s-maxage`: never served stale (§4.2.4, §5.2.2.10). */
  readonly mustRevalidate: boolean
  /** `no-cache` (without field names): stored, but revalidated on every use (§5.2.2.4). */
  readonly noCache: boolean
}

/**
 * `delta-seconds` (RFC 9111 §1.2.2): digits only, clamped to 2^31; `NaN` for anything else
 * (a sign, a fraction, quotes that are not the field's own). `undefined` when absent.
 */
export function deltaSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) return Number.NaN
  return value.length > 10 ? MAX_DELTA_SECONDS : Math.min(Number(value), MAX_DELTA_SECONDS)
}

/**
 * The `Age` a response arrived with, in seconds (RFC 9111 §5.1): the first value of the list;
 * a value that is not a non-negative integer is ignored (`0`).
 */
export function receivedAge(value: OutgoingHttpHeaders[string]): number {
  if (value === undefined) return 0
  const text = Array.isArray(value) ? String(value[0]) : String(value)
  const comma = text.indexOf(',')
  const first = (comma === -1 ? text : text.slice(0, comma)).trim()
  const seconds = deltaSeconds(first)
  return seconds === undefined || Number.isNaN(seconds) ? 0 : seconds
}

function one(value: OutgoingHttpHeaders[string]): string | undefined {
  if (value === undefined) return undefined
  // Two field lines of a singleton field (two Expires): invalid (RFC 9111 §4.2.1).
  if (Array.isArray(value)) return value.length === 1 ? String(value[0]) : undefined
  return String(value)
}

/** Statuses that are heuristically cacheable (RFC 9110 §15.1). */
const HEURISTIC = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501])
/** §4.2.2: 10% of the time since Last-Modified, a typical setting. */
const HEURISTIC_FRACTION = 0.1

export interface FreshnessOptions {
  /** Whether §4.2.2 heuristic freshness is computed (from `Last-Modified`). */
  readonly heuristic: boolean
}

/**
 * The freshness information of a response for a shared cache. `cc` is the cache directives
 * in force (the targeted field when one applies, else `Cache-Control`); `requestTime` and
 * `responseTime` bracket the exchange (§4.2.3).
 */
export function freshnessOf(
  status: number,
  headers: OutgoingHttpHeaders,
  cc: ReadonlyMap<string, string>,
  requestTime: number,
  responseTime: number,
  options: FreshnessOptions,
): Freshness {
  const dateValue = parseHttpDate(one(headers.date), { caseInsensitive: true })
  const date = dateValue ?? responseTime
  // §4.2.3: apparent_age, corrected_age_value, corrected_initial_age.
  const apparentAge = Math.max(0, responseTime - date)
  const correctedAgeValue = receivedAge(headers.age) * 1000 + Math.max(0, responseTime - requestTime)
  const initialAge = Math.max(apparentAge, correctedAgeValue)

  let explicit: number | undefined
  const sMaxAge = deltaSeconds(cc.get('s-maxage'))
  const maxAge = deltaSeconds(cc.get('max-age'))
  if (sMaxAge !== undefined) explicit = Number.isNaN(sMaxAge) ? 0 : sMaxAge * 1000
  else if (maxAge !== undefined) explicit = Number.isNaN(maxAge) ? 0 : maxAge * 1000
  else if (headers.expires !== undefined) {
    // §5.3: an invalid Expires (including several) means "already expired".
    const expires = parseHttpDate(one(headers.expires), { caseInsensitive: true })
    explicit = expires === undefined ? 0 : Math.max(0, expires - date)
  }

  let heuristic: number | undefined
  if (explicit === undefined && options.heuristic && (HEURISTIC.has(status) || cc.has('public'))) {
    const lastModified = parseHttpDate(one(headers['last-modified']), { caseInsensitive: true })
    if (lastModified !== undefined && lastModified < date) {
      heuristic = Math.floor((date - lastModified) * HEURISTIC_FRACTION)
    }
  }

  const swr = deltaSeconds(cc.get('stale-while-revalidate'))
  const sie = deltaSeconds(cc.get('stale-if-error'))
  return {
    explicit,
    heuristic,
    initialAge,
    swr: swr === undefined || Number.isNaN(swr) ? undefined : swr * 1000,
    sie: sie === undefined || Number.isNaN(sie) ? undefined : sie * 1000,
    mustRevalidate: cc.has('must-revalidate') || cc.has('proxy-revalidate') || sMaxAge !== undefined,
    noCache: cc.has('no-cache') && cc.get('no-cache') === '',
  }
}

/**
 * The cache directives this cache obeys (RFC 9213): the first of `targets` present with a
 * valid Dictionary value replaces `Cache-Control` entirely; an invalid one is ignored.
 */
export function directivesOf(headers: OutgoingHttpHeaders, targets: readonly string[]): Map<string, string> {
  for (const target of targets) {
    const value = headers[target]
    if (value === undefined) continue
    const parsed = parseTargeted(Array.isArray(value) ? value.join(', ') : String(value))
    if (parsed !== undefined) return parsed
  }
  return parseCacheControl(headers['cache-control'] as string | string[] | undefined)
}

const KEY = /^[a-z*][a-z0-9_.*-]*$/
const INTEGER = /^-?\d{1,15}$/
const BARE =
  /^(?:-?\d{1,12}\.\d{1,3}|"(?:[^"\\]|\\["\\])*"|[A-Za-z*][!#$%&'*+.^_`|~0-9A-Za-z:/-]*|:[A-Za-z0-9+/=]*:|\?[01])$/
/** Directives whose value must be an Integer. */
const INTEGERS = new Set(['max-age', 's-maxage', 'stale-while-revalidate', 'stale-if-error'])

/**
 * A targeted cache-control field as a Structured Field Dictionary (RFC 8941 §3.2, RFC 9213
 * §2.1), parameters dropped. `undefined` when it does not parse or a known directive has a
 * value of the wrong type, so the field is ignored.
 */
export function parseTargeted(text: string): Map<string, string> | undefined {
  const out = new Map<string, string>()
  if (text.length > 8192) return undefined
  const members = text.trim() === '' ? [] : text.split(',')
  for (const raw of members) {
    const member = raw.trim()
    if (member === '') return undefined
    const semi = member.indexOf(';')
    const item = semi === -1 ? member : member.slice(0, semi)
    const eq = item.indexOf('=')
    const key = eq === -1 ? item : item.slice(0, eq)
    if (!KEY.test(key)) return undefined
    if (eq === -1) {
      if (INTEGERS.has(key)) return undefined
      out.set(key, '')
      continue
    }
    const value = item.slice(eq + 1)
    if (INTEGER.test(value)) {
      // A negative integer is a valid Integer, but not a valid lifetime: treat it as stale.
      out.set(key, value.startsWith('-') ? 'invalid' : value)
    } else if (BARE.test(value) && !INTEGERS.has(key)) {
      out.set(key, value === '?1' ? '' : value)
      if (value === '?0') out.delete(key)
    } else return undefined
  }
  return out
}
