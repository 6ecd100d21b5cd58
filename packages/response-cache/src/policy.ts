import type { OutgoingHttpHeaders } from 'node:http'
import { type HOP_BY_HOP as HopByHop, parseCacheControl } from '@hotpath/core'

/** Why a response was not stored; also the `detail` of its Cache-Status. */
export type Verdict =
  | { readonly store: true; readonly maxAgeMs: number | undefined }
  | { readonly store: false; readonly reason: string }

const NOT_STORED_DIRECTIVES = ['no-store', 'private', 'no-cache'] as const

/**
 * Whether a response may be stored, decided when its headers go out (RFC 9111 §3, made
 * stricter): the status must be in the allowed set, and the response must not set a
 * cookie, say `private` / `no-store` / `no-cache` (in any case, with or without field
 * names), vary on `*`, or be partial content. `s-maxage`, then `max-age`, then `Expires`
 * bound the lifetime (§4.2.1).
 */
export function responseVerdict(
  status: number,
  headers: OutgoingHttpHeaders,
  statuses: ReadonlySet<number>,
  now: number,
): Verdict {
  if (!statuses.has(status)) return { store: false, reason: 'status' }
  if (headers['set-cookie'] !== undefined) return { store: false, reason: 'set-cookie' }
  if (headers['content-range'] !== undefined) return { store: false, reason: 'partial' }
  const cc = parseCacheControl(headers['cache-control'] as string | string[] | undefined)
  for (const directive of NOT_STORED_DIRECTIVES) {
    if (cc.has(directive)) return { store: false, reason: directive }
  }
  const vary = headers.vary
  if (vary !== undefined && /(?:^|,)\s*\*\s*(?:,|$)/.test(String(vary)))
    return { store: false, reason: 'vary-star' }
  const maxAge = seconds(cc.get('s-maxage')) ?? seconds(cc.get('max-age'))
  if (maxAge !== undefined) {
    return maxAge > 0 ? { store: true, maxAgeMs: maxAge * 1000 } : { store: false, reason: 'max-age=0' }
  }
  const expires = headers.expires
  if (expires !== undefined) {
    // §5.3: an invalid Expires means "already expired".
    const at = Date.parse(String(expires))
    const left = Number.isNaN(at) ? 0 : at - now
    return left > 0 ? { store: true, maxAgeMs: left } : { store: false, reason: 'expired' }
  }
  return { store: true, maxAgeMs: undefined }
}

function seconds(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d{1,10}$/.test(value)) return undefined
  return Number(value)
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

/** RFC 9110 §7.6.1 hop-by-hop fields, plus the ones the replay recomputes. */
export function isReplayable(name: string, hop: typeof HopByHop): boolean {
  return (
    !hop.has(name) &&
    name !== 'content-length' &&
    name !== 'age' &&
    name !== 'cache-status' &&
    name !== 'x-cache' &&
    name !== 'date'
  )
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
