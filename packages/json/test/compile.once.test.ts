import { compileSchema } from '../src/compile'
import { defaultCompile } from '../src/options'
import type { JsonSchema } from '../src/schema'

const compile = (schema: JsonSchema) => {
  const fn = compileSchema(schema)
  if (fn === undefined) throw new Error('schema not compiled')
  return fn
}
const str = { type: 'string' }
const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}): JsonSchema => ({
  type: 'object',
  properties,
  ...extra,
})

describe('compiled serializer: the bytes JSON.stringify sends of the declared properties', () => {
  it('escapes quotes, backslashes and control characters as JSON.stringify does', () => {
    const s = compile(obj({ a: str }))
    for (const a of ['say "hi"', 'back\\slash', 'tab\tnew\nline\u0000\u001f', '\u007f', 'x"'.repeat(3000)])
      expect(s({ a })).toBe(JSON.stringify({ a }))
  })

  it('escapes lone surrogates (well-formed JSON.stringify) and keeps pairs and non-ASCII text', () => {
    const s = compile({ type: 'array', items: str })
    const items = ['\ud800', '\udc00', 'a\ud83dz', '😀 é ü 中文', '\u2028\u2029', 'é'.repeat(5001)]
    expect(s(items)).toBe(JSON.stringify(items))
  })

  it('escapes a high and a low surrogate in two neighbouring strings each on its own', () => {
    const s = compile(obj({ a: str, b: str }))
    expect(s({ a: 'x\ud83d', b: '\ude00y' })).toBe('{"a":"x\\ud83d","b":"\\ude00y"}')
  })

  it('sends the same bytes as JSON.stringify for 10^4 rows that match the schema', () => {
    const row = obj({
      id: { type: 'integer' },
      name: str,
      price: { type: 'number' },
      ok: { type: 'boolean' },
    })
    const rows = Array.from({ length: 10_000 }, (_, i) => ({
      id: i * 7919 - 5000,
      name: i % 1000 === 999 ? `row "${i}"\n` : `row ${i}`,
      price: i / 3,
      ok: i % 2 === 0,
    }))
    expect(compile({ type: 'array', items: row })(rows)).toBe(JSON.stringify(rows))
  })

  it('writes numbers as JSON.stringify does: NaN and Infinity as null, -0 as 0, no rounding of integers', () => {
    const s = compile({ type: 'array', items: { type: 'integer' } })
    const xs = [0, -0, 9, 10, 2147483647, 2147483648, -1, 1.5, 1e21, 5e-7, Number.NaN, Infinity, -Infinity]
    expect(s(xs)).toBe(JSON.stringify(xs))
  })

  it('writes numbers of up to two decimals (prices) as String(n) does, and every other number too', () => {
    const s = compile({ type: 'array', items: { type: 'number' } })
    const xs: number[] = []
    for (let c = -30_000; c <= 30_000; c++) xs.push(c / 100, c / 10)
    for (let i = 0; i < 20_000; i++)
      xs.push((i * 7.3) ** 1.7 / 1e3, -(i ** 3) / 1e7, Math.round(i * 1e5 + 0.4) / 100)
    xs.push(
      21_474_836.47,
      21_474_836.48,
      -21_474_836.48,
      0.01,
      0.1 + 0.2,
      1e-7,
      0.005,
      1.005,
      4.35,
      8.675,
      2 ** 53,
    )
    expect(s(xs)).toBe(JSON.stringify(xs))
  })

  it('sends a Date through its toJSON', () => {
    const when = new Date(Date.UTC(2026, 11, 3, 10, 11, 12))
    expect(compile(obj({ at: str }))({ at: when })).toBe(JSON.stringify({ at: when }))
  })

  it('calls toJSON with the property name or the array index, once', () => {
    const keys: string[] = []
    const value = {
      toJSON(key: string) {
        keys.push(key)
        return key
      },
    }
    const s = compile(obj({ a: str, list: { type: 'array', items: str } }))
    expect(s({ a: value, list: [value, value] })).toBe('{"a":"a","list":["0","1"]}')
    expect(keys).toEqual(['a', '0', '1'])
  })

  it('applies the schema to what a toJSON returns (undeclared properties stay out)', () => {
    const s = compile(obj({ inner: obj({ x: { type: 'integer' } }) }))
    expect(s({ inner: { toJSON: () => ({ x: 1, secret: 2 }) } })).toBe('{"inner":{"x":1}}')
  })

  it('leaves out undeclared properties at every level, in schema order', () => {
    const s = compile(
      obj({ b: { type: 'integer' }, a: obj({ y: str }), list: { type: 'array', items: obj({ z: str }) } }),
    )
    const doc = { secret: 1, a: { y: 'y', no: 2 }, list: [{ z: 'z', hidden: 3 }], b: 2 }
    expect(s(doc)).toBe('{"b":2,"a":{"y":"y"},"list":[{"z":"z"}]}')
  })

  it('leaves out a missing optional property, undefined and functions; null in an array', () => {
    const s = compile(obj({ a: str, b: { type: 'integer' }, c: str, d: { type: 'array', items: str } }))
    expect(s({ b: 1, c: () => 1, d: [undefined, () => 1, 'x'] })).toBe('{"b":1,"d":[null,null,"x"]}')
    expect(s({})).toBe('{}')
  })

  it('sends null for a nullable property', () => {
    const s = compile(
      obj({ a: { type: ['string', 'null'] }, b: { type: 'object', nullable: true, properties: {} } }),
    )
    expect(s({ a: null, b: null })).toBe('{"a":null,"b":null}')
  })

  it('throws for a missing required property (the caller falls back)', () => {
    const s = compile(obj({ id: { type: 'integer' }, name: str }, { required: ['id'] }))
    expect(s({ id: 1 })).toBe('{"id":1}')
    expect(() => s({ name: 'x' })).toThrow('"id" is required')
  })

  it('throws for an object where a scalar is declared, and sends a primitive of another type as JSON would', () => {
    const s = compile(obj({ a: str }))
    expect(() => s({ a: { nested: 'secret' } })).toThrow(TypeError)
    expect(s({ a: 5 })).toBe('{"a":5}')
  })

  it('serializes nested arrays of arrays', () => {
    const s = compile({ type: 'array', items: { type: 'array', items: obj({ v: { type: 'number' } }) } })
    const doc = [[{ v: 1, w: 2 }], [], [{ v: 3 }, { v: 4 }]]
    expect(s(doc)).toBe('[[{"v":1}],[],[{"v":3},{"v":4}]]')
  })

  it('sends an unconstrained property ({}) as JSON.stringify does', () => {
    const s = compile(obj({ any: {} }))
    expect(s({ any: { x: [1, { y: 'z' }] } })).toBe('{"any":{"x":[1,{"y":"z"}]}}')
  })

  it('gives a toJSON that calls the same serializer a buffer of its own', () => {
    const schema = obj({ a: str, b: str })
    const s = compile(schema)
    const inner = { toJSON: () => s({ a: 'in', b: 'ner' }) }
    expect(s({ a: inner, b: 'after' })).toBe(JSON.stringify({ a: '{"a":"in","b":"ner"}', b: 'after' }))
  })

  it('serializes bodies larger than its scratch buffer, then small ones again', () => {
    const s = compile({ type: 'array', items: str })
    const big = Array.from({ length: 50_000 }, (_, i) => `item ${i}`)
    expect(s(big)).toBe(JSON.stringify(big))
    expect(s(['a'])).toBe('["a"]')
    expect(s(big)).toBe(JSON.stringify(big))
  })
})

describe('compiled serializer: hostile property names', () => {
  const names = [
    '"+(globalThis.__pwned=1)+"',
    "'+(globalThis.__pwned=1)+'",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a key that would run as a template literal
    '`${globalThis.__pwned=1}`',
    '\\',
    '"]; globalThis.__pwned = 1; //',
    '*/ globalThis.__pwned = 1 /*',
    '\n globalThis.__pwned = 1 \n',
    '\u2028globalThis.__pwned=1\u2029',
    '</script><script>1</script>',
    '\ud800',
    'é',
    'constructor',
    'toString',
    '__proto__',
    '',
  ]

  it('runs no code a schema key holds and sends each name quoted as JSON.stringify does', () => {
    const properties: Record<string, unknown> = {}
    for (const name of names) Object.defineProperty(properties, name, { value: str, enumerable: true })
    const s = compile({ type: 'object', properties })
    const doc: Record<string, unknown> = {}
    for (const [i, name] of names.entries())
      Object.defineProperty(doc, name, { value: `v${i}`, enumerable: true })
    const out = s(doc)
    expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined()
    expect(out).toBe(JSON.stringify(doc))
    expect(Object.keys(JSON.parse(out))).toEqual(Object.keys(doc))
  })

  it('reads __proto__ only as an own property, and sends no inherited method', () => {
    const properties = { constructor: str, toString: str }
    Object.defineProperty(properties, '__proto__', { value: obj({ a: str }), enumerable: true })
    const s = compile({ type: 'object', properties })
    expect(s({})).toBe('{}')
    const own = {}
    Object.defineProperty(own, '__proto__', { value: { a: 'x', b: 'y' }, enumerable: true })
    expect(s(own)).toBe('{"__proto__":{"a":"x"}}')
  })
})

describe('schemas the compiler leaves to the former path', () => {
  it.each([
    ['$ref', { type: 'object', properties: { a: { $ref: '#/definitions/a' } } }],
    ['anyOf', { type: 'object', properties: { a: { anyOf: [str] } } }],
    ['default', { type: 'object', properties: { a: { type: 'string', default: 'd' } } }],
    ['additionalProperties: true', { type: 'object', properties: {}, additionalProperties: true }],
    ['a tuple', { type: 'array', items: [str] }],
  ])('declines %s', (_name, schema) => {
    expect(compileSchema(schema)).toBeUndefined()
  })

  it('keeps fast-json-stringify for what it declines (a default is sent)', () => {
    expect(
      defaultCompile({ type: 'object', properties: { a: { type: 'string', default: 'd' }, b: obj({}) } })({}),
    ).toBe('{"a":"d"}')
  })
})
