import { type JsonSchema, OPAQUE, type Serializer } from './schema'
import { helpers, KEEP, RUNTIME } from './writer'

/**
 * A schema compiled to JavaScript (one `new Function` per schema, as fast-json-stringify does)
 * that sends what `JSON.stringify` would send of the value with every property the schema does
 * not declare left out: the schema is an allow-list, values are never coerced (NaN → null, a
 * Date → its toJSON(), toJSON honoured where JSON.stringify calls it, undefined and functions
 * left out, or null in an array). A value of another kind than declared is sent as JSON would
 * send it when it is a primitive; an object where a scalar is declared, or an array where an
 * object is, throws (the caller falls back, as for a missing `required` property).
 *
 * The generated code is built from the schema's structure only: every property name enters it
 * as a string literal written by JSON.stringify, function names are counters, so no schema key
 * can inject code (test: hostile property names).
 */

/**
 * Keywords that change what gets serialized in ways this compiler does not follow: those a
 * projection cannot follow either (schema.ts), and these others.
 */
const DECLINE = new Set<string>([
  ...OPAQUE,
  '$dynamicRef',
  'unevaluatedProperties',
  'unevaluatedItems',
  'prefixItems',
  'additionalItems',
  'default',
  'const',
])
const SCALARS = new Set(['string', 'number', 'integer', 'boolean', 'null'])
const MAX_DEPTH = 64

export type SchemaNode = Node
type Node =
  | { kind: 'any' }
  | { kind: 'scalar'; types: ReadonlySet<string> }
  | { kind: 'object'; props: Array<{ name: string; node: Node; required: boolean }> }
  | { kind: 'array'; items: Node }

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

/** The tree of a schema, or `undefined` where a keyword asks for what only fast-json-stringify does. */
function parse(schema: unknown, depth: number): Node | undefined {
  if (!isRecord(schema) || depth > MAX_DEPTH) return undefined
  for (const key of Object.keys(schema)) if (DECLINE.has(key)) return undefined
  const extra = schema.additionalProperties
  if (extra !== undefined && extra !== false) return undefined
  const raw = schema.type
  const types = new Set<string>()
  if (typeof raw === 'string') types.add(raw)
  else if (Array.isArray(raw)) for (const t of raw) types.add(String(t))
  else if (raw !== undefined) return undefined
  if (raw === undefined) {
    if (schema.properties !== undefined) types.add('object')
    else if (schema.items !== undefined) types.add('array')
    else return { kind: 'any' }
  }
  for (const t of types) if (t !== 'object' && t !== 'array' && !SCALARS.has(t)) return undefined
  if (types.has('object') && types.has('array')) return undefined
  if (types.has('object')) {
    const properties = schema.properties ?? {}
    if (!isRecord(properties)) return undefined
    const required = Array.isArray(schema.required) ? schema.required : []
    const props: Array<{ name: string; node: Node; required: boolean }> = []
    for (const name of Object.keys(properties)) {
      const node = parse(properties[name], depth + 1)
      if (node === undefined) return undefined
      props.push({ name, node, required: required.includes(name) })
    }
    return { kind: 'object', props }
  }
  if (types.has('array')) {
    if (schema.items === undefined) return { kind: 'array', items: { kind: 'any' } }
    const items = parse(schema.items, depth + 1)
    return items === undefined ? undefined : { kind: 'array', items }
  }
  return types.size === 0 ? { kind: 'any' } : { kind: 'scalar', types }
}

/** The tree the compiler follows, or `undefined` for a schema it leaves to fast-json-stringify. */
export function schemaTree(schema: JsonSchema): SchemaNode | undefined {
  return parse(schema, 0)
}

/** What JSON leaves out of an object (and writes as `null` in an array). */
const omitted = (v: unknown): boolean => v === undefined || typeof v === 'function' || typeof v === 'symbol'

/**
 * `value` with every property `node` does not declare left out, at every level, in schema order:
 * what the compiled serializer sends, as a value for `JSON.stringify`, for the bodies it does not
 * send itself (a mask not compiled yet, `json spaces` or `json replacer` set, a body that does not
 * fit). A missing required property is left missing; a primitive of another type than declared
 * is kept as JSON sends it; an object or array where the schema declares something else is sent
 * as `null`: nothing the schema does not declare is ever sent.
 */
export function prune(value: unknown, node: SchemaNode, key = ''): unknown {
  if (node.kind === 'any') return value
  let v = value
  if (typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON === 'function')
    v = (v as { toJSON(k: string): unknown }).toJSON(key)
  if (typeof v !== 'object' || v === null) return v
  if (node.kind === 'scalar') return null
  if (node.kind === 'array') {
    if (!Array.isArray(v)) return null
    const items = node.items
    return v.map((item: unknown, i) => {
      const kept = prune(item, items, String(i))
      return omitted(kept) ? null : kept
    })
  }
  if (Array.isArray(v)) return null
  const from = v as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const p of node.props) {
    // `__proto__` would read the prototype when it is not an own property.
    const x = p.name === '__proto__' ? (Object.hasOwn(from, p.name) ? from[p.name] : undefined) : from[p.name]
    const kept = prune(x, p.node, p.name)
    if (omitted(kept)) continue
    if (p.name === '__proto__')
      Object.defineProperty(out, p.name, { value: kept, enumerable: true, writable: true })
    else out[p.name] = kept
  }
  return out
}

/** A JavaScript string literal of `text` (JSON.stringify's output is one: ES2019 allows U+2028/9). */
const lit = (text: string): string => JSON.stringify(text)

/**
 * Statements that write the constant JSON text `text` at `p`: byte stores (numbers only, so
 * nothing of a schema key reaches the code as code), or, for text beyond ASCII, `text()`.
 */
function constant(text: string): string {
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length !== text.length) return `text(${lit(text)});`
  // Locals instead of the closure's b and p for each byte: one load of each, one store of p.
  const stores = Array.from(bytes, (byte, i) => `B[P${i === 0 ? '' : ` + ${i}`}] = ${byte};`).join(' ')
  return `room(${bytes.length}); { const B = b, P = p; ${stores} p = P + ${bytes.length} }`
}

/**
 * Code that writes the value `x` (its key expression `key`, for toJSON) behind `head` (the
 * statements that write `,"name":`), then runs `done`; or, where JSON leaves the value out
 * (undefined, a function), writes nothing and runs `skip`.
 */
function valueCode(
  node: Node,
  key: string,
  head: string,
  done: string,
  skip: string,
  fn: (n: Node) => string,
): string {
  // A slow path writes the key, then rolls back to `q` when nothing followed it.
  const slow = (call: string) => `{ q = p; ${head} if (${call}) { ${done} } else { p = q; ${skip} } }`
  if (node.kind === 'any') return slow(`gen(x, ${key}, true)`)
  if (node.kind === 'object' || node.kind === 'array') return slow(`${fn(node)}(x, ${key})`)
  const branches: string[] = []
  if (node.types.has('string')) branches.push(`if (typeof x === 'string') { ${head} str(x); ${done} }`)
  // Number.isFinite is false for every non-number: NaN and ±Infinity go to gen (→ null).
  if (node.types.has('number') || node.types.has('integer'))
    branches.push(`if (Number.isFinite(x)) { ${head} num(x); ${done} }`)
  if (node.types.has('boolean')) {
    branches.push(`if (x === true) { ${head} ${constant('true')} ${done} }`)
    branches.push(`if (x === false) { ${head} ${constant('false')} ${done} }`)
  }
  if (node.types.has('null')) branches.push(`if (x === null) { ${head} ${constant('null')} ${done} }`)
  branches.push(slow(`gen(x, ${key}, false)`))
  return branches.join(' else ')
}

/** The head of an object or array writer: primitives, toJSON (called once, as JSON.stringify does). */
const HEAD = `if (typeof v !== 'object' || v === null) return gen(v, k, false)
  if (typeof v.toJSON === 'function') { v = v.toJSON(String(k)); if (typeof v !== 'object' || v === null) return gen(v, k, false) }`

/** The writer functions of a schema tree; the name of the root's. */
function generate(root: Node & { kind: 'object' | 'array' }): { code: string; name: string } {
  const fns: string[] = []
  const names = new Map<Node, string>()
  const fn = (node: Node): string => {
    let name = names.get(node)
    if (name !== undefined) return name
    name = `${node.kind === 'object' ? 'o' : 'a'}${names.size}`
    names.set(node, name)
    fns.push(node.kind === 'object' ? objectFn(node, name) : arrayFn(node as Node & { kind: 'array' }, name))
    return name
  }
  const objectFn = (node: Node & { kind: 'object' }, name: string): string => {
    const body: string[] = []
    // Whether a property was written before this one: known at compile time once a required
    // property has gone (it is written or throws), otherwise held in `c` at run time.
    let sent = 'no' as 'no' | 'yes' | 'maybe'
    for (const p of node.props) {
      const key = lit(p.name)
      const text = `${JSON.stringify(p.name)}:`
      // `__proto__` would read the prototype when it is not an own property.
      body.push(
        `x = ${p.name === '__proto__' ? `Object.hasOwn(v, ${key}) ? v[${key}] : undefined` : `v[${key}]`}`,
      )
      if (p.required) body.push(`if (x === undefined) throw $.required(${key})`)
      const head =
        sent === 'yes'
          ? constant(`,${text}`)
          : sent === 'no'
            ? constant(text)
            : `if (c) { room(1); b[p++] = 44 } ${constant(text)}`
      const done = sent === 'yes' || p.required ? '' : 'c = true'
      const skip = p.required ? `throw $.required(${key})` : ''
      body.push(valueCode(p.node, key, head, done, skip, fn))
      sent = p.required || sent === 'yes' ? 'yes' : 'maybe'
    }
    return `function ${name}(v, k) {
  ${HEAD}
  if (Array.isArray(v)) throw $.misfit(k)
  let c = false, x, q
  room(1); b[p++] = 123
  ${body.join('\n  ')}
  room(1); b[p++] = 125
  return true
}`
  }
  const arrayFn = (node: Node & { kind: 'array' }, name: string): string => {
    // An item that JSON leaves out (undefined, a function) is null in an array.
    const item = valueCode(node.items, 'i', '', '', constant('null'), fn)
    return `function ${name}(v, k) {
  ${HEAD}
  if (!Array.isArray(v)) throw $.misfit(k)
  const n = v.length
  let x, q
  room(1); b[p++] = 91
  for (let i = 0; i < n; i++) {
    if (i !== 0) { room(1); b[p++] = 44 }
    x = v[i]
    ${item}
  }
  room(1); b[p++] = 93
  return true
}`
  }
  const name = fn(root)
  return { code: fns.join('\n'), name }
}

/** The compiled serializer of `schema`, or `undefined` when the schema needs fast-json-stringify. */
export function compileSchema(schema: JsonSchema): Serializer | undefined {
  const root = parse(schema, 0)
  if (root === undefined || (root.kind !== 'object' && root.kind !== 'array')) return undefined
  const { code, name } = generate(root)
  const factory = new Function(
    '$',
    `'use strict'
${RUNTIME}
${code}
return function serialize(doc) {
  // A toJSON that calls this serializer again gets a buffer of its own.
  const outer = busy, ob = b, op = p, oa = ascii
  if (outer) b = $.alloc(256)
  else if (last > b.length) b = (big !== undefined && big.deref()) || $.alloc(last)
  busy = true
  p = 0
  ascii = true
  try {
    if (!${name}(doc, '')) return 'null'
    last = p
    return b.toString(ascii ? 'latin1' : 'utf8', 0, p)
  } finally {
    if (outer) {
      b = ob
      p = op
      ascii = oa
    } else {
      busy = false
      if (b.length > ${KEEP}) {
        if (big === undefined || big.deref() !== b) big = new WeakRef(b)
        b = small
      }
    }
  }
}`,
  ) as (h: typeof helpers) => Serializer
  return factory(helpers)
}
