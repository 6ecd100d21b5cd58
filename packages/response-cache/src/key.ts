import * as crypto from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'

type TrustFn = (address: string | undefined, hop: number) => boolean

function firstValue(raw: string | string[] | undefined): string | undefined {
  const value = Array.isArray(raw) ? raw[0] : raw
  if (!value) return undefined
  const comma = value.indexOf(',')
  return (comma === -1 ? value : value.slice(0, comma)).trim()
}

/**
 * The origin the key is built on, `scheme://host`, after `trust proxy` — the same rules as
 * Express's `req.protocol` and `req.hostname`: `X-Forwarded-Proto` / `X-Forwarded-Host` only
 * when the peer is trusted, else the socket's TLS state and `Host`. The scheme is part of it
 * (RFC 9111 §2: the target URI): an http visitor's `301 → https://…` must never reach an
 * https visitor. Both the middleware and `front()` use this function, so their keys agree.
 */
export function originOf(req: IncomingMessage, trust: TrustFn | undefined): string {
  const headers = req.headers
  const socket = req.socket as (IncomingMessage['socket'] & { encrypted?: boolean }) | undefined
  let scheme = socket?.encrypted === true ? 'https' : 'http'
  let host = headers.host
  const proto = headers['x-forwarded-proto']
  const forwardedHost = headers['x-forwarded-host']
  if ((proto !== undefined || forwardedHost !== undefined) && trust?.(socket?.remoteAddress, 0)) {
    scheme = firstValue(proto)?.toLowerCase() || scheme
    host = firstValue(forwardedHost) || host
  }
  return host ? `${scheme}://${host.toLowerCase()}` : `${scheme}://`
}

type OneShot = (algorithm: string, data: string, encoding: 'base64url') => string
/** `crypto.hash` (Node ≥ 20.12) skips the Hash object: a third of the cost on short keys. */
const oneShot = (crypto as unknown as { hash?: OneShot }).hash

function digest(text: string): string {
  return oneShot !== undefined
    ? oneShot('sha1', text, 'base64url')
    : crypto.createHash('sha1').update(text).digest('base64url')
}

/**
 * Keys up to this length are their text itself; longer ones are hashed, so a long URL cannot
 * blow up key sizes. Hashing (sha1) was a few µs of every miss on short keys, for nothing.
 */
const RAW_KEY_MAX = 256

/**
 * The primary key: method class (GET and HEAD share entries), origin (scheme and host),
 * path and query, and the route's custom parts, one per line. None of them can hold a line
 * break (Node refuses one in a request target or header, the parts are JSON), so two
 * requests share a key only when all of them agree; a hashed key has no line break, so it
 * never equals a raw one.
 */
export function primaryKey(origin: string, url: string, parts: readonly string[] | undefined): string {
  const text = parts === undefined ? `G\n${origin}\n${url}` : `G\n${origin}\n${url}\n${JSON.stringify(parts)}`
  return text.length <= RAW_KEY_MAX ? text : digest(text)
}

const MEMO_LIMIT = 10_000

/**
 * `primaryKey` with a bounded per-instance memo for the long keys without custom parts: a hot
 * URL is hashed once, and the memo is dropped whole when it fills (no per-key bookkeeping).
 */
export function createPrimaryKey(): typeof primaryKey {
  let memo = new Map<string, string>()
  return (origin, url, parts) => {
    // `G\n` and the line break between origin and URL: the raw key's length.
    if (parts !== undefined || origin.length + url.length + 3 <= RAW_KEY_MAX)
      return primaryKey(origin, url, parts)
    const text = `${origin}\n${url}`
    let key = memo.get(text)
    if (key === undefined) {
      key = primaryKey(origin, url, undefined)
      if (memo.size >= MEMO_LIMIT) memo = new Map()
      memo.set(text, key)
    }
    return key
  }
}

/**
 * RFC 9111 §4.1: the secondary key holds the values of the request headers the stored
 * response varies on, normalised (see `normalise`) so equivalent requests share it. It is the
 * primary key and one more line, so it never equals a primary key: a raw one has three lines
 * (four with custom parts, the fourth a JSON array), a hashed one a single line.
 */
export function secondaryKey(
  primary: string,
  fields: readonly string[],
  headers: IncomingHttpHeaders,
): string {
  let text = ''
  for (const field of fields) {
    const value = headers[field]
    const joined = value === undefined ? '' : Array.isArray(value) ? value.join(',') : value
    text += `${field}:${normalise(field, joined)}\n`
  }
  return `${primary}\n#${digest(text)}`
}

/** Longer values are keyed as they are (whitespace collapsed), not parsed. */
const MAX_PARSED = 1024

/**
 * A request header value in the form equivalent requests share (RFC 9111 §4.1: "normalizing
 * both header field values in a way that is known to have identical semantics"): list members
 * trimmed, so `a,b`, `a, b` and two field lines are one; `Accept-Language` and
 * `Accept-Encoding` parsed as weighted lists — case, order of equal weights, spaces and
 * `q=1` no longer matter (RFC 9110 §12.4.2, §12.5.3, §12.5.4).
 */
export function normalise(field: string, value: string): string {
  if (value.length > MAX_PARSED) return value.replace(/\s+/g, ' ').trim()
  const members: string[] = []
  for (const part of value.split(',')) {
    const member = part.trim()
    if (member !== '') members.push(member)
  }
  if (field !== 'accept-language' && field !== 'accept-encoding') return members.join(',')
  const weighted: Array<[string, number]> = []
  for (const member of members) {
    const semi = member.indexOf(';')
    const name = (semi === -1 ? member : member.slice(0, semi)).trim().toLowerCase()
    let q = 1
    if (semi !== -1) {
      const match = /(?:^|;)\s*q\s*=\s*([0-9.]+)\s*(?:;|$)/i.exec(member.slice(semi))
      q = match ? Number(match[1]) : 1
      if (!Number.isFinite(q) || q < 0 || q > 1) q = 1
    }
    weighted.push([name, Math.round(q * 1000) / 1000])
  }
  weighted.sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  return weighted.map(([name, q]) => (q === 1 ? name : `${name};q=${q}`)).join(',')
}

/** Implicit tags: the exact URL (`invalidate({ key })`) and each path prefix (`invalidate({ prefix })`). */
export const URL_TAG = 'u:'
export const PREFIX_TAG = 'p:'
const MAX_PREFIX_DEPTH = 8

export function implicitTags(url: string): string[] {
  const tags = [URL_TAG + url]
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  let from = 1
  for (let depth = 0; depth < MAX_PREFIX_DEPTH; depth++) {
    const slash = path.indexOf('/', from)
    const end = slash === -1 ? path.length : slash
    if (end > from) tags.push(PREFIX_TAG + path.slice(0, end))
    if (slash === -1) break
    from = slash + 1
  }
  return tags
}

/** A prefix as `invalidate({ prefix })` takes it: leading slash, no trailing slash. */
export function prefixTag(prefix: string): string {
  let p = prefix.startsWith('/') ? prefix : `/${prefix}`
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1)
  return PREFIX_TAG + p
}
