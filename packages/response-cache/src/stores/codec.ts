import type { CacheEntry, HeaderValue, StoredValue } from '../types'

/**
 * The binary form of a stored value in Redis: a 7-byte head (magic `H`, version, kind,
 * metadata length), JSON metadata, then the raw body and each variant back to back. Bodies
 * never go through JSON or base64. Anything that does not decode exactly is `undefined`.
 */
const MAGIC = 0x48
const VERSION = 1
const KIND_ENTRY = 1
const KIND_VARY = 2
const HEAD = 7

interface EntryMeta {
  s: number
  h: Array<[string, HeaderValue]>
  t: number
  e: number
  w: number
  x: number
  g: string[]
  r: string
  f: boolean
  c: boolean
  b: number
  v: Array<[string, number]>
  /** initialAge (ms), when not 0. */
  a?: number
  /** mustRevalidate, when true. */
  m?: true
}

function frame(kind: number, meta: unknown, parts: readonly Buffer[]): Buffer {
  const json = Buffer.from(JSON.stringify(meta))
  const head = Buffer.allocUnsafe(HEAD)
  head[0] = MAGIC
  head[1] = VERSION
  head[2] = kind
  head.writeUInt32BE(json.length, 3)
  return Buffer.concat([head, json, ...parts])
}

export function encode(value: StoredValue): Buffer {
  if (value.kind === 'vary') return frame(KIND_VARY, { f: value.fields, e: value.expiresAt }, [])
  const names = Object.keys(value.variants)
  const meta: EntryMeta = {
    s: value.status,
    h: value.headers.map(([n, v]) => [n, v]),
    t: value.storedAt,
    e: value.expiresAt,
    w: value.staleUntil,
    x: value.errorUntil,
    g: [...value.tags],
    r: value.route,
    f: value.front,
    c: value.compress,
    b: value.body.length,
    v: names.map((n) => [n, (value.variants[n] as Buffer).length]),
  }
  if (value.initialAge) meta.a = value.initialAge
  if (value.mustRevalidate) meta.m = true
  return frame(KIND_ENTRY, meta, [value.body, ...names.map((n) => value.variants[n] as Buffer)])
}

const isHeaderValue = (v: unknown): v is HeaderValue =>
  typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))

function validEntryMeta(m: Partial<EntryMeta>): m is EntryMeta {
  return (
    Number.isInteger(m.s) &&
    Array.isArray(m.h) &&
    m.h.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && isHeaderValue(p[1])) &&
    [m.t, m.e, m.w, m.x, m.b].every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0) &&
    Array.isArray(m.g) &&
    typeof m.r === 'string' &&
    typeof m.f === 'boolean' &&
    typeof m.c === 'boolean' &&
    Array.isArray(m.v) &&
    m.v.every((p) => Array.isArray(p) && typeof p[0] === 'string' && Number.isInteger(p[1]) && p[1] >= 0)
  )
}

export function decode(buffer: Buffer | null | undefined): StoredValue | undefined {
  if (!buffer || buffer.length < HEAD || buffer[0] !== MAGIC || buffer[1] !== VERSION) return undefined
  const length = buffer.readUInt32BE(3)
  if (HEAD + length > buffer.length) return undefined
  let meta: unknown
  try {
    meta = JSON.parse(buffer.toString('utf8', HEAD, HEAD + length))
  } catch {
    return undefined
  }
  if (meta === null || typeof meta !== 'object') return undefined
  if (buffer[2] === KIND_VARY) {
    const m = meta as { f?: unknown; e?: unknown }
    if (!Array.isArray(m.f) || !m.f.every((x) => typeof x === 'string') || typeof m.e !== 'number')
      return undefined
    return { kind: 'vary', fields: m.f as string[], expiresAt: m.e }
  }
  if (buffer[2] !== KIND_ENTRY || !validEntryMeta(meta as Partial<EntryMeta>)) return undefined
  const m = meta as EntryMeta
  let at = HEAD + length
  const total = m.v.reduce((sum, [, n]) => sum + n, m.b)
  if (at + total !== buffer.length) return undefined
  // Copies, so an entry never pins the reply buffer it came in.
  const body = Buffer.from(buffer.subarray(at, at + m.b))
  at += m.b
  const variants: Record<string, Buffer> = {}
  for (const [name, n] of m.v) {
    variants[name] = Buffer.from(buffer.subarray(at, at + n))
    at += n
  }
  const entry: CacheEntry = {
    kind: 'entry',
    status: m.s,
    headers: m.h,
    body,
    variants,
    storedAt: m.t,
    expiresAt: m.e,
    staleUntil: m.w,
    errorUntil: m.x,
    tags: m.g,
    route: m.r,
    front: m.f,
    compress: m.c,
    initialAge: typeof m.a === 'number' && Number.isFinite(m.a) && m.a > 0 ? m.a : 0,
    mustRevalidate: m.m === true,
  }
  return entry
}
