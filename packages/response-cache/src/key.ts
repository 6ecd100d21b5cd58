import * as crypto from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'

type TrustFn = (address: string | undefined, hop: number) => boolean

/**
 * The host the key is built on, after `trust proxy`: `X-Forwarded-Host` only when the
 * peer is trusted (the same rule as Express's `req.hostname`), else `Host`. Both the
 * middleware and `front()` use this function, so their keys are identical.
 */
export function hostOf(req: IncomingMessage, trust: TrustFn | undefined): string {
  const raw = req.headers['x-forwarded-host']
  const forwarded = Array.isArray(raw) ? raw[0] : raw
  let host: string | undefined
  if (forwarded && trust?.(req.socket?.remoteAddress, 0)) {
    const comma = forwarded.indexOf(',')
    host = (comma === -1 ? forwarded : forwarded.slice(0, comma)).trim()
  } else {
    host = req.headers.host
  }
  return host ? host.toLowerCase() : ''
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
 * The primary key: method class (GET and HEAD share entries), host, path and query, and
 * the route's custom parts — joined with separators no URL or header can contain, then
 * hashed so a long URL cannot blow up key sizes.
 */
export function primaryKey(host: string, url: string, parts: readonly string[] | undefined): string {
  const text = parts === undefined ? `G\n${host}\n${url}` : `G\n${host}\n${url}\n${JSON.stringify(parts)}`
  return digest(text)
}

const MEMO_LIMIT = 10_000

/**
 * `primaryKey` with a bounded per-instance memo for keys without custom parts: a hot URL is
 * hashed once, and the memo is dropped whole when it fills (no per-key bookkeeping).
 */
export function createPrimaryKey(): typeof primaryKey {
  let memo = new Map<string, string>()
  return (host, url, parts) => {
    if (parts !== undefined) return primaryKey(host, url, parts)
    const text = `${host}\n${url}`
    let key = memo.get(text)
    if (key === undefined) {
      key = primaryKey(host, url, undefined)
      if (memo.size >= MEMO_LIMIT) memo = new Map()
      memo.set(text, key)
    }
    return key
  }
}

/**
 * RFC 9111 §4.1: the secondary key holds the values of the request headers the stored
 * response varies on, normalised (whitespace collapsed) so equivalent requests share it.
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
    text += `${field}:${joined.replace(/\s+/g, ' ').trim()}\n`
  }
  return `${primary}:${digest(text)}`
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
