import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { isFresh } from '@hotpath/core'
import type { CacheEntry, HeaderValue } from './types'
import { pickEncoding } from './variants'

type Flat = Array<string | HeaderValue>

/** Header lists of one entry, computed on its first hit and kept beside it. */
interface Wire {
  readonly identity: Flat
  readonly encoded: Readonly<Record<string, Flat>>
  readonly notModified: Flat
  readonly validators: OutgoingHttpHeaders
}

/** RFC 9110 §15.4.5: the fields a 304 carries. */
const NOT_MODIFIED_FIELDS = new Set([
  'cache-control',
  'content-location',
  'etag',
  'expires',
  'vary',
  'last-modified',
])

/** The wire form rides on the entry object itself (a symbol key is never serialised). */
const WIRE = Symbol('hotpath.responseCache.wire')
type Wired = CacheEntry & { [WIRE]?: Wire }

function weaken(etag: HeaderValue): HeaderValue {
  const value = String(etag)
  return value.startsWith('W/') ? value : `W/${value}`
}

/**
 * The stored fields, with `Accept-Encoding` in `Vary` when the entry has (or will have)
 * compressed variants: a body whose size was unknown as its miss went out did not get it then.
 */
function fieldsOf(entry: CacheEntry): ReadonlyArray<readonly [string, HeaderValue]> {
  if (!entry.compress && Object.keys(entry.variants).length === 0) return entry.headers
  let found = false
  const out = entry.headers.map(([name, value]): readonly [string, HeaderValue] => {
    if (name !== 'vary') return [name, value]
    found = true
    const text = Array.isArray(value) ? value.join(', ') : String(value)
    return /(?:^|,)\s*accept-encoding\s*(?:,|$)/i.test(text)
      ? [name, value]
      : [name, `${text}, Accept-Encoding`]
  })
  if (!found) out.push(['vary', 'Accept-Encoding'])
  return out
}

function wireOf(entry: CacheEntry): Wire {
  let wire = (entry as Wired)[WIRE]
  if (wire !== undefined) return wire
  const identity: Flat = []
  const notModified: Flat = []
  const validators: OutgoingHttpHeaders = {}
  const fields = fieldsOf(entry)
  for (const [name, value] of fields) {
    identity.push(name, value)
    if (NOT_MODIFIED_FIELDS.has(name)) notModified.push(name, value)
    if (name === 'etag' || name === 'last-modified') validators[name] = String(value)
  }
  const encoded: Record<string, Flat> = {}
  for (const encoding of Object.keys(entry.variants)) {
    // A different encoding is a different representation: its strong ETag is weakened
    // (RFC 9110 §8.8.3), the way compression middleware does it.
    const list: Flat = []
    for (const [name, value] of fields) list.push(name, name === 'etag' ? weaken(value) : value)
    list.push('content-encoding', encoding)
    encoded[encoding] = list
  }
  wire = { identity, encoded, notModified, validators }
  // Not enumerable: a copy of the entry (`{ ...entry, variants }`) must not inherit it.
  Object.defineProperty(entry, WIRE, { value: wire, enumerable: false })
  return wire
}

/**
 * One byte range of a `Range: bytes=…` header (RFC 9110 §14.1.2): `[first, last]`,
 * `'unsatisfiable'` when it starts past the end, or `undefined` (not bytes, several ranges,
 * malformed) — then the whole body is sent, which a server may always do.
 */
export function singleRange(value: string, length: number): [number, number] | 'unsatisfiable' | undefined {
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value)
  if (match === null || value.length > 64) return undefined
  const [, from, to] = match as unknown as [string, string, string]
  if (from === '' && to === '') return undefined
  if (from === '') {
    const suffix = Number(to)
    if (suffix === 0) return 'unsatisfiable'
    return length === 0 ? 'unsatisfiable' : [Math.max(0, length - suffix), length - 1]
  }
  const first = Number(from)
  const last = to === '' ? length - 1 : Math.min(Number(to), length - 1)
  if (to !== '' && Number(to) < first) return undefined
  return first >= length ? 'unsatisfiable' : [first, last]
}

/** RFC 9110 §13.1.5: a range is served only when `If-Range` names the stored representation. */
function ifRangeHolds(value: string | string[] | undefined, validators: OutgoingHttpHeaders): boolean {
  if (value === undefined) return true
  const v = (Array.isArray(value) ? String(value[0]) : value).trim()
  if (v.startsWith('"') || v.startsWith('W/')) {
    const etag = validators.etag
    return typeof etag === 'string' && !etag.startsWith('W/') && etag === v
  }
  return typeof validators['last-modified'] === 'string' && validators['last-modified'] === v
}

/** `current_age` in whole seconds (RFC 9111 §4.2.3, §5.1): the age it arrived with plus its time here. */
export function ageOf(entry: CacheEntry, now: number): number {
  const resident = now <= entry.storedAt ? 0 : now - entry.storedAt
  return Math.floor(((entry.initialAge ?? 0) + resident) / 1000)
}

/**
 * Answers from a stored entry: status, headers and body exactly as stored, plus `Age` and
 * `Cache-Status`; a 304 when the request's validators match (RFC 9110 §13.2.2); headers
 * only for HEAD; the stored gzip/br bytes when the client accepts them — the response then
 * carries `Content-Encoding`, so compression middleware leaves it alone.
 */
export function replay(
  entry: CacheEntry,
  req: IncomingMessage,
  res: ServerResponse,
  now: number,
  cacheStatus: string,
  xCache: string | undefined,
): void {
  const wire = wireOf(entry)
  const age = String(ageOf(entry, now))
  const headers = req.headers
  if (
    (headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined) &&
    isFresh(headers, wire.validators)
  ) {
    const out = wire.notModified.slice()
    out.push('age', age, 'cache-status', cacheStatus)
    if (xCache !== undefined) out.push('x-cache', xCache)
    res.writeHead(304, out as string[])
    res.end()
    return
  }
  if (headers.range !== undefined && req.method === 'GET' && entry.status === 200) {
    const range = singleRange(headers.range, entry.body.length)
    if (range !== undefined && ifRangeHolds(headers['if-range'], wire.validators)) {
      const out = wire.identity.slice()
      const total = entry.body.length
      if (range === 'unsatisfiable') {
        out.push(
          'content-range',
          `bytes */${total}`,
          'content-length',
          '0',
          'age',
          age,
          'cache-status',
          cacheStatus,
        )
        if (xCache !== undefined) out.push('x-cache', xCache)
        res.writeHead(416, out as string[])
        res.end()
        return
      }
      const [start, end] = range
      out.push('content-range', `bytes ${start}-${end}/${total}`, 'content-length', String(end - start + 1))
      out.push('age', age, 'cache-status', cacheStatus)
      if (xCache !== undefined) out.push('x-cache', xCache)
      res.writeHead(206, out as string[])
      res.end(entry.body.subarray(start, end + 1))
      return
    }
  }
  const encoding = pickEncoding(headers['accept-encoding'], entry.variants)
  const body = encoding === undefined ? entry.body : (entry.variants[encoding] as Buffer)
  const out = (encoding === undefined ? wire.identity : (wire.encoded[encoding] as Flat)).slice()
  if (entry.status !== 204) out.push('content-length', String(body.length))
  out.push('age', age, 'cache-status', cacheStatus)
  if (xCache !== undefined) out.push('x-cache', xCache)
  res.writeHead(entry.status, out as string[])
  if (req.method === 'HEAD' || entry.status === 204) res.end()
  else res.end(body)
}
