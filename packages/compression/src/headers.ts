import type { OutgoingHttpHeader, ServerResponse } from 'node:http'
import { getHeader, hasHeader, setHeader } from '@hotpath/core'
import compressible from 'compressible'
import type { Request, Response } from 'express'

/** A response method as this package calls it: arguments forwarded untouched. */
export type Fn = (this: ServerResponse, ...args: unknown[]) => unknown

/** The response methods this package replaces for the life of one response. */
export interface Methods {
  write: Fn
  end: Fn
  writeHead: Fn
  flush?: () => void
}

/** The replaceable methods of `res` (their declared overloads would not accept a forwarding wrapper). */
export function methodsOf(res: ServerResponse): Methods {
  return res as unknown as Methods
}

/** Content types seen by one instance are memoised; an app serves a handful of them. */
const TYPE_MEMO_ENTRIES = 64

/** RFC 9111 §5.2.2.6: a response marked `no-transform` must not be re-encoded. */
const NO_TRANSFORM = /(?:^|,)\s*no-transform\s*(?:,|$)/i

/**
 * The default filter: compress when the response's `Content-Type` is compressible according
 * to the `compressible` database (text, JSON, XML, JavaScript, SVG, …). Exported so a custom
 * filter can wrap it.
 */
export function filter(_req: Request, res: Response): boolean {
  const type = getHeader(res, 'Content-Type')
  return type !== undefined && compressible(String(type)) === true
}

/** A per-instance memo of `compressible(type)`, so the common types cost one map lookup. */
export function createTypeCheck(): (type: OutgoingHttpHeader | undefined) => boolean {
  const memo = new Map<string, boolean>()
  return function isCompressibleType(type) {
    if (type === undefined) return false
    const key = typeof type === 'string' ? type : String(type)
    let known = memo.get(key)
    if (known === undefined) {
      known = compressible(key) === true
      if (memo.size >= TYPE_MEMO_ENTRIES) memo.clear()
      memo.set(key, known)
    }
    return known
  }
}

export function hasNoTransform(res: ServerResponse): boolean {
  const value = getHeader(res, 'Cache-Control')
  if (value === undefined) return false
  const text = Array.isArray(value) ? value.join(',') : String(value)
  return text.length <= 8192 && NO_TRANSFORM.test(text)
}

/**
 * Responses without a body to transform or whose body is a byte range of the identity
 * representation: 1xx, 204 and 304 carry no content (RFC 9110 §6.4.1); a 206 or any
 * `Content-Range` addresses the unencoded bytes (RFC 9110 §14.4), so encoding it would
 * corrupt the range.
 */
export function isUntouchableStatus(res: ServerResponse): boolean {
  const status = res.statusCode
  return status < 200 || status === 204 || status === 206 || status === 304 || hasHeader(res, 'Content-Range')
}

/** Set a `Content-Encoding` other than identity, e.g. a stored compressed variant. */
export function isAlreadyEncoded(res: ServerResponse): boolean {
  const value = getHeader(res, 'Content-Encoding')
  return value !== undefined && String(value).toLowerCase() !== 'identity'
}

/**
 * RFC 9110 §8.8.1: a strong validator promises byte-identical content; the compressed
 * bytes differ from the identity ones, so the tag is weakened (`"x"` → `W/"x"`).
 */
export function weakenETag(res: ServerResponse): void {
  const etag = getHeader(res, 'ETag')
  if (typeof etag === 'string' && etag.startsWith('"')) setHeader(res, 'ETag', `W/${etag}`)
}

/** The length announced by `Content-Length`, or `undefined` when absent or unparsable. */
export function declaredLength(res: ServerResponse): number | undefined {
  const value = getHeader(res, 'Content-Length')
  if (value === undefined) return undefined
  const n = Number(value)
  return Number.isFinite(n) && n >= 0 ? n : undefined
}

/**
 * Applies the headers given to `writeHead(status, [message], [headers])` to the response
 * so the decision sees them, and returns the arguments left for the real `writeHead`.
 */
export function applyWriteHeadArgs(res: ServerResponse, args: ArrayLike<unknown>): unknown[] {
  const index = args.length > 1 && typeof args[1] === 'string' ? 2 : 1
  const headers = args.length > index ? args[index] : undefined
  res.statusCode = args[0] as number
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const pair of headers as unknown[][]) res.appendHeader(String(pair[0]), pair[1] as string)
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) res.appendHeader(String(headers[i]), headers[i + 1])
    }
  } else if (headers !== null && typeof headers === 'object') {
    const fields = headers as Record<string, OutgoingHttpHeader>
    for (const key of Object.keys(fields)) if (key) setHeader(res, key, fields[key] as OutgoingHttpHeader)
  }
  return index === 2 ? [args[0], args[1]] : [args[0]]
}

/** Byte length of a `write`/`end` chunk without copying it. */
export function chunkLength(chunk: unknown, encoding: unknown): number {
  if (chunk === undefined || chunk === null || typeof chunk === 'function') return 0
  if (typeof chunk === 'string') {
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  }
  return (chunk as ArrayBufferView).byteLength ?? 0
}

export function isEventStream(res: ServerResponse): boolean {
  const type = getHeader(res, 'Content-Type')
  return type !== undefined && /^\s*text\/event-stream\s*(?:;|$)/i.test(String(type))
}
