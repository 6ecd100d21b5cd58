import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { parseHttpDate as parseDate } from './http-date'
import { getHeader, setHeader } from './node-response'

/** RFC 9110 §7.6.1: connection-specific fields that a stored response must not replay. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
])

/** Header values longer than this are treated as malformed rather than parsed. */
const MAX_VALIDATOR_LENGTH = 8192

/**
 * Splits an `If-None-Match` / `If-Match` list into entity tags in one linear pass.
 * Returns `'*'` for the wildcard, or `null` when the value is malformed or oversized.
 */
export function parseETagList(value: string | undefined): string[] | '*' | null {
  if (value === undefined) return null
  if (value.length > MAX_VALIDATOR_LENGTH) return null
  const trimmed = value.trim()
  if (trimmed === '*') return '*'
  const tags: string[] = []
  let i = 0
  const n = value.length
  while (i < n) {
    const c = value.charCodeAt(i)
    if (c === 0x20 || c === 0x09 || c === 0x2c) {
      i++
      continue
    }
    let start = i
    if (c === 0x57 && value.charCodeAt(i + 1) === 0x2f) i += 2 // W/
    if (value.charCodeAt(i) !== 0x22) return null
    const close = value.indexOf('"', i + 1)
    if (close === -1) return null
    tags.push(value.slice(start, close + 1))
    i = close + 1
    start = i
  }
  return tags
}

function opaque(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag
}

/** RFC 9110 §8.8.3.2 weak comparison: opaque tags equal, weakness ignored. */
export function weakMatch(list: string[] | '*', etag: string | undefined): boolean {
  if (list === '*') return etag !== undefined
  if (etag === undefined) return false
  const target = opaque(etag)
  for (const tag of list) if (opaque(tag) === target) return true
  return false
}

/** RFC 9110 §8.8.3.2 strong comparison: both strong and identical. */
export function strongMatch(list: string[] | '*', etag: string | undefined): boolean {
  if (list === '*') return etag !== undefined
  if (etag === undefined || etag.startsWith('W/')) return false
  for (const tag of list) if (tag === etag) return true
  return false
}

/** RFC 9110 §5.6.7 through the strict parser; names in any case (RFC 9111 §4.2). `NaN` when invalid. */
function parseHttpDate(value: string | undefined): number {
  return parseDate(value, { caseInsensitive: true }) ?? Number.NaN
}

function headerString(value: OutgoingHttpHeaders[string]): string | undefined {
  if (value === undefined) return undefined
  if (Array.isArray(value)) return value.join(', ')
  return String(value)
}

/**
 * Whether a GET/HEAD request's cached copy is still good, so a 304 may be sent.
 * RFC 9110 §13.2.2: `If-None-Match` wins over `If-Modified-Since`; a request that says
 * `Cache-Control: no-cache` asks for the full response.
 */
export function isFresh(reqHeaders: IncomingHttpHeaders, resHeaders: OutgoingHttpHeaders): boolean {
  const ifNoneMatch = reqHeaders['if-none-match']
  const ifModifiedSince = reqHeaders['if-modified-since']
  if (ifNoneMatch === undefined && ifModifiedSince === undefined) return false
  const cacheControl = reqHeaders['cache-control']
  if (cacheControl && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(cacheControl)) return false
  if (ifNoneMatch !== undefined) {
    const list = parseETagList(ifNoneMatch)
    return list !== null && weakMatch(list, headerString(resHeaders.etag))
  }
  const since = parseHttpDate(ifModifiedSince)
  const lastModified = parseHttpDate(headerString(resHeaders['last-modified']))
  return !Number.isNaN(since) && !Number.isNaN(lastModified) && lastModified <= since
}

/**
 * RFC 9110 §13.2.2 steps 1–2 for state-changing or range requests: `false` when an
 * `If-Match` / `If-Unmodified-Since` precondition fails and the answer must be 412.
 */
export function preconditionHolds(
  reqHeaders: IncomingHttpHeaders,
  currentETag: string | undefined,
  lastModified?: string,
): boolean {
  const ifMatch = reqHeaders['if-match']
  if (ifMatch !== undefined) {
    const list = parseETagList(ifMatch)
    return list !== null && strongMatch(list, currentETag)
  }
  const ifUnmodifiedSince = reqHeaders['if-unmodified-since']
  if (ifUnmodifiedSince !== undefined && lastModified !== undefined) {
    const since = parseHttpDate(ifUnmodifiedSince)
    const modified = parseHttpDate(lastModified)
    if (!Number.isNaN(since) && !Number.isNaN(modified)) return modified <= since
  }
  return true
}

/** Adds `field` to the response's `Vary` without replacing or duplicating what is there. */
export function appendVary(res: ServerResponse, field: string): void {
  const current = headerString(getHeader(res, 'vary'))
  if (!current) {
    setHeader(res, 'Vary', field)
    return
  }
  if (current.trim() === '*') return
  const wanted = field.toLowerCase()
  for (const part of current.split(',')) {
    const name = part.trim().toLowerCase()
    if (name === '*' || name === wanted) return
  }
  setHeader(res, 'Vary', `${current}, ${field}`)
}

/** Lower-cased directive names and values of a `Cache-Control` header, parsed linearly. */
export function parseCacheControl(value: string | string[] | number | undefined): Map<string, string> {
  const directives = new Map<string, string>()
  if (value === undefined) return directives
  const text = Array.isArray(value) ? value.join(',') : String(value)
  if (text.length > MAX_VALIDATOR_LENGTH) return directives
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase()
    if (!name) continue
    const raw = eq === -1 ? '' : part.slice(eq + 1).trim()
    directives.set(name, raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw)
  }
  return directives
}
