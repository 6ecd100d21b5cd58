import type { OutgoingHttpHeaders } from 'node:http'
import type { HOP_BY_HOP as HopByHop } from '@hotpath/core'
import { directivesOf, type Freshness, freshnessOf } from './freshness'

/** The route settings a verdict depends on. */
export interface PolicyRoute {
  readonly statuses: ReadonlySet<number>
  /** Targeted cache-control fields, lower case, first present wins (RFC 9213). */
  readonly targets: readonly string[]
  readonly heuristic: boolean
}

/** Why a response was not stored; also the `detail` of its Cache-Status. */
export type Verdict =
  | {
      readonly store: true
      /** The cache directives in force (a targeted field, else Cache-Control). */
      readonly cc: ReadonlyMap<string, string>
      readonly fresh: Freshness
      /** The response carries `ETag` or `Last-Modified`, so a stale copy can be revalidated. */
      readonly validators: boolean
    }
  | { readonly store: false; readonly reason: string }

const NOT_STORED_DIRECTIVES = ['no-store', 'private'] as const

/**
 * Whether a response may be stored, decided when its headers go out (RFC 9111 §3, made
 * stricter): the status must be in the allowed set, and the response must not set a
 * cookie, say `private` / `no-store` (in any case, with or without field names), vary on
 * `*`, or be partial content. `no-cache` and a zero lifetime are stored only when the
 * response has a validator, to be revalidated on use (§4.3); else they are not stored.
 */
export function responseVerdict(
  status: number,
  headers: OutgoingHttpHeaders,
  route: PolicyRoute,
  now: number,
): Verdict {
  if (!route.statuses.has(status)) return { store: false, reason: 'status' }
  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' }
  if (headers['content-range'] !== undefined) return { store: false, reason: 'partial' }
  const cc = directivesOf(headers, route.targets)
  for (const directive of NOT_STORED_DIRECTIVES) {
    if (cc.has(directive)) return { store: false, reason: directive }
  }
  // `no-cache="field"` (with field names) is read as plain no-cache, the stricter reading.
  const noCache = cc.has('no-cache')
  const vary = headers.vary
  if (vary !== undefined && /(?:^|,)\s*\*\s*(?:,|$)/.test(String(vary)))
    return { store: false, reason: 'vary-star' }
  const validators = headers.etag !== undefined || headers['last-modified'] !== undefined
  const fresh = freshnessOf(status, headers, cc, now, now, route)
  if (!validators) {
    if (noCache) return { store: false, reason: 'no-cache' }
    if (fresh.explicit !== undefined && fresh.explicit <= 0) return { store: false, reason: 'max-age=0' }
    if (fresh.explicit !== undefined && fresh.explicit <= fresh.initialAge)
      return { store: false, reason: 'expired' }
  }
  return { store: true, cc, fresh: noCache ? { ...fresh, noCache: true } : fresh, validators }
}

/** Request headers the stored response varies on, lower case, without duplicates. */
export function varyFields(vary: OutgoingHttpHeaders[string], extra: readonly string[]): string[] {
  const fields: string[] = []
  const text = vary === undefined ? '' : Array.isArray(vary) ? vary.join(',') : String(vary)
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase()
    if (name && !fields.includes(name)) fields.push(name)
  }
  for (const name of extra) if (!fields.includes(name)) fields.push(name)
  return fields
}

/**
 * Response fields that describe one request, never stored: a hit gets the values the
 * middlewares before the cache set for it (rate limits, timings, ids, cookies).
 */
export const PER_REQUEST = new Set([
  'ratelimit',
  'ratelimit-policy',
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
  'retry-after',
  'server-timing',
  'x-request-id',
  'set-cookie',
])

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the ones the replay recomputes. */
export function isReplayable(name: string, hop: typeof HopByHop): boolean {
  return (
    !hop.has(name) &&
    name !== 'content-length' &&
    name !== 'age' &&
    name !== 'cache-status' &&
    name !== 'x-cache' &&
    !PER_REQUEST.has(name)
  )
}

/** The fields a `Connection` header lists (RFC 9110 §7.6.1): connection-specific, never stored. */
export function connectionFields(value: OutgoingHttpHeaders[string]): Set<string> {
  const out = new Set<string>()
  if (value === undefined) return out
  const text = Array.isArray(value) ? value.join(',') : String(value)
  for (const part of text.split(',')) {
    const name = part.trim().toLowerCase()
    if (name) out.add(name)
  }
  return out
}

/** `Surrogate-Key: a b c` (space separated) as tags. */
export function surrogateKeys(value: OutgoingHttpHeaders[string]): string[] {
  if (value === undefined) return []
  const text = Array.isArray(value) ? value.join(' ') : String(value)
  return text
    .split(/\s+/)
    .filter((t) => t.length > 0 && t.length <= 256)
    .slice(0, 64)
}
