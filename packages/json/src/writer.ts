/**
 * The run-time half of the compiled serializers (see compile.ts): the helpers passed to the
 * generated code as `$`, and the writer primitives each compiled serializer gets a copy of.
 */

/**
 * Bytes of scratch a serializer always keeps. A larger buffer is kept behind a WeakRef, so a
 * serializer of big bodies reuses it (a fresh 1 MB buffer per call costs its page faults)
 * while garbage collection may still take it back.
 */
export const KEEP = 16 * 1024
// biome-ignore lint/suspicious/noControlCharactersInRegex: the characters JSON must escape (RFC 8259 §7), and lone surrogates
const ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/

export const helpers = {
  alloc: (n: number): Buffer => Buffer.allocUnsafeSlow(n),
  /** JSON text of a string, escaped when it must be (well-formed: lone surrogates as \udXXX). */
  str: (v: string): string => (v.length < 5000 && !ESCAPE.test(v) ? `"${v}"` : JSON.stringify(v)),
  /** JSON text of a primitive or null; undefined for what JSON leaves out. */
  prim(v: unknown): string | undefined {
    switch (typeof v) {
      case 'string':
        return helpers.str(v)
      case 'number':
        return Number.isFinite(v) ? `${v}` : 'null'
      case 'boolean':
        return v ? 'true' : 'false'
      case 'object':
        return 'null'
      case 'bigint':
        return JSON.stringify(v) // throws as JSON.stringify does, unless BigInt has a toJSON
      default:
        return undefined
    }
  },
  /** JSON text of a value that missed the fast paths (`any`: a slot the schema leaves open). */
  val(v: unknown, k: unknown, any: boolean): string | undefined {
    if (typeof v !== 'object' || v === null) return helpers.prim(v)
    const o = v as { toJSON?: unknown }
    if (typeof o.toJSON === 'function') {
      const r: unknown = (o.toJSON as (key: string) => unknown).call(v, String(k))
      if (typeof r !== 'object' || r === null) return helpers.prim(r)
      if (any) return JSON.stringify(r)
      throw helpers.misfit(k)
    }
    if (any || v instanceof Number || v instanceof String || v instanceof Boolean) return JSON.stringify(v)
    throw helpers.misfit(k)
  },
  misfit: (k: unknown) =>
    new TypeError(`@hotpath/json: the value at ${JSON.stringify(String(k))} does not fit its schema`),
  required: (k: string) => new Error(`${JSON.stringify(k)} is required!`),
}

/**
 * The writer's state and primitives, per compiled serializer. The body is written as bytes
 * into a Buffer (ASCII bytes stored one by one, anything else through Buffer#write as UTF-8)
 * and read back once as a string: no intermediate strings for keys, integers or strings that
 * need no escaping, which is what let it beat JSON.stringify on Node 20 where string
 * concatenation did not (bench/results/json-inproc.md).
 */
export const RUNTIME = `
const small = $.alloc(${KEEP})
let b = small, p = 0, ascii = true, busy = false, last = 0, big
function grow(n) {
  let size = b.length * 2
  while (size < p + n) size *= 2
  const next = $.alloc(size)
  b.copy(next, 0, 0, p)
  b = next
}
function room(n) { if (p + n > b.length) grow(n) }
/** JSON text of any content: as UTF-8. */
function text(t) {
  room(t.length * 3)
  const n = b.write(t, p, 'utf8')
  if (n !== t.length) ascii = false
  p += n
}
/** A string: ASCII without anything to escape is copied byte by byte, anything else via JSON.stringify. */
function str(v) {
  const n = v.length
  room(n + 2)
  const B = b
  let q = p
  B[q++] = 34
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i)
    if (c < 32 || c === 34 || c === 92 || c > 126) return text(JSON.stringify(v))
    B[q++] = c
  }
  B[q++] = 34
  p = q
}
/** The digits of a non-negative int32 (int32 arithmetic: on a double, % would call fmod). */
function digits(u) {
  const d = u < 10 ? 1 : u < 100 ? 2 : u < 1000 ? 3 : u < 10000 ? 4 : u < 100000 ? 5 : u < 1000000 ? 6 : u < 10000000 ? 7 : u < 100000000 ? 8 : u < 1000000000 ? 9 : 10
  room(d)
  const B = b
  let q = p + d
  p = q
  do {
    const next = (u / 10) | 0
    B[--q] = 48 + u - next * 10
    u = next
  } while (u > 0)
}
/**
 * A finite number, as String(n) writes it. Integers and numbers of at most two decimals (prices)
 * are written digit by digit: when Math.round(v * 100) / 100 === v, v is the double nearest to
 * c/100, so "int.frac" (trailing zero dropped) is the shortest text that reads back as v, which
 * is what String(v) writes. Anything else (and |v| ≥ 2^31 / 100) goes through String(v).
 */
function num(v) {
  if (v >= 0 && v <= 2147483647 && (v | 0) === v) return digits(v | 0)
  const c = Math.round(v * 100)
  if (c / 100 === v && c > -2147483648 && c < 2147483648) {
    let u = c | 0
    if (u < 0) {
      room(1)
      b[p++] = 45
      u = -u
    }
    const int = (u / 100) | 0
    const frac = u - int * 100
    digits(int)
    if (frac === 0) return
    room(3)
    b[p++] = 46
    const tens = (frac / 10) | 0
    b[p++] = 48 + tens
    if (frac !== tens * 10) b[p++] = 48 + frac - tens * 10
    return
  }
  const t = '' + v
  const n = t.length
  room(n)
  const B = b, P = p
  for (let i = 0; i < n; i++) B[P + i] = t.charCodeAt(i)
  p = P + n
}
function gen(x, k, any) {
  const t = $.val(x, k, any)
  if (t === undefined) return false
  text(t)
  return true
}`
