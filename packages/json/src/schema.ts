import type { OnceLogger } from '@hotpath/core'
import { type MaskNode, selects } from './grammar'

/** A JSON Schema the server owns (fast-json-stringify's dialect). */
export type JsonSchema = Readonly<Record<string, unknown>>
export type Serializer = (doc: unknown) => string
export type Compile = (schema: JsonSchema) => Serializer

/** Keywords a projection cannot follow: a masked level using them is serialized without a schema. */
export const OPAQUE = [
  '$ref',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'patternProperties',
  'dependentSchemas',
] as const
const UNSUPPORTED = Symbol('unsupported')
type Projected = JsonSchema | typeof UNSUPPORTED

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function opaque(schema: Record<string, unknown>): boolean {
  for (const keyword of OPAQUE) if (schema[keyword] !== undefined) return true
  const extra = schema.additionalProperties
  return extra !== undefined && extra !== false
}

function assign(out: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true })
  else out[key] = value
}

/**
 * The part of `schema` that `node` selects. Property names are read from the schema and only
 * looked up in the mask, so nothing a client wrote is ever copied into what gets compiled.
 */
export function project(schema: unknown, node: MaskNode | null): Projected {
  if (node === null || !isObject(schema)) return schema as JsonSchema
  const items = schema.items
  if (items !== undefined) {
    if (!isObject(items) || opaque(schema)) return UNSUPPORTED
    const projected = project(items, node)
    return projected === UNSUPPORTED ? UNSUPPORTED : { ...schema, items: projected }
  }
  const properties = schema.properties
  if (!isObject(properties)) return opaque(schema) ? UNSUPPORTED : schema
  if (opaque(schema)) return UNSUPPORTED
  const picking = selects(node)
  const kept: Record<string, unknown> = {}
  for (const key of Object.keys(properties)) {
    let pick: MaskNode | null | undefined = null
    if (picking) {
      pick = node.keys.get(key)
      if (pick === undefined && !node.keys.has(key)) pick = node.star
      if (pick === undefined) continue
    }
    const drop = node.minus.get(key)
    if (drop === null) continue
    let sub: Projected = project(properties[key], pick)
    if (sub !== UNSUPPORTED && drop !== undefined) sub = project(sub, drop)
    if (sub === UNSUPPORTED) return UNSUPPORTED
    assign(kept, key, sub)
  }
  const out: Record<string, unknown> = { ...schema, properties: kept }
  if (Array.isArray(schema.required)) {
    out.required = (schema.required as unknown[]).filter(
      (name) => typeof name === 'string' && Object.hasOwn(kept, name),
    )
  }
  return out
}

const SCALARS = new Set(['string', 'number', 'integer', 'boolean', 'null'])

function scalar(schema: unknown): boolean {
  if (!isObject(schema) || opaque(schema) || schema.properties !== undefined || schema.items !== undefined)
    return false
  const type = schema.type
  if (typeof type === 'string') return SCALARS.has(type)
  return Array.isArray(type) && type.length > 0 && type.every((t) => typeof t === 'string' && SCALARS.has(t))
}

/**
 * The property names of a schema with one object level (an object, or an array of objects,
 * whose properties are all scalars), or `undefined`: then `JSON.stringify(value, names)` keeps
 * exactly what the schema declares.
 */
export function flatNames(schema: unknown): string[] | undefined {
  if (!isObject(schema) || opaque(schema)) return undefined
  const target = schema.items !== undefined ? schema.items : schema
  if (!isObject(target) || opaque(target) || target.items !== undefined) return undefined
  if (schema.items !== undefined && schema.properties !== undefined) return undefined
  const properties = target.properties
  if (!isObject(properties)) return undefined
  const names = Object.keys(properties)
  for (const name of names) if (!scalar(properties[name])) return undefined
  return names
}

/** The first name of the mask that the schema does not declare (for `strict`). */
export function unknownInSchema(schema: unknown, node: MaskNode): { name: string; at: number } | undefined {
  if (!isObject(schema)) return undefined
  if (isObject(schema.items)) return unknownInSchema(schema.items, node)
  const properties = schema.properties
  if (!isObject(properties) || opaque(schema)) return undefined
  for (const map of [node.keys, node.minus]) {
    for (const [name, child] of map) {
      if (!Object.hasOwn(properties, name)) return { name, at: node.at.get(name) ?? 0 }
      const found = child === null ? undefined : unknownInSchema(properties[name], child)
      if (found !== undefined) return found
    }
  }
  return undefined
}

export interface SchemaSerializers {
  /** The whole schema, compiled at construction. */
  readonly full: Serializer
  /**
   * The serializer of a mask, or `undefined` to mask the value and use `JSON.stringify`:
   * on a mask's first sighting (so a client cycling random masks compiles nothing), when the
   * projection meets a keyword it cannot follow, or when compiling failed. `eager` compiles
   * on the first sighting (a stream pays one compile for many items).
   */
  forMask(node: MaskNode, text: string, eager?: boolean): Serializer | undefined
  /** How many masks are held (≤ the cache size). */
  size(): number
}

/** One route schema's compiled serializers: an LRU of at most `max` masks. */
export function createSerializers(
  schema: JsonSchema,
  compile: Compile,
  max: number,
  log: OnceLogger,
  onCompile?: (ok: boolean) => void,
): SchemaSerializers {
  const full = compile(schema)
  // Map order is recency: a hit is moved to the end, the first key is the least recent.
  // 0 = seen once, not compiled; null = served without a schema.
  const lru = new Map<string, Serializer | null | 0>()
  const put = (text: string, value: Serializer | null | 0) => {
    if (lru.size >= max && !lru.has(text)) lru.delete(lru.keys().next().value as string)
    lru.delete(text)
    lru.set(text, value)
  }
  return {
    full,
    forMask(node, text, eager = false) {
      const held = lru.get(text)
      if (held === undefined && !eager) {
        put(text, 0)
        return undefined
      }
      if (held !== 0 && held !== undefined) {
        put(text, held)
        return held ?? undefined
      }
      const projected = project(schema, node)
      let fn: Serializer | null = null
      if (projected !== UNSUPPORTED) {
        try {
          fn = compile(projected)
        } catch (error) {
          log.warnOnce(
            'ERR_HOTPATH_JSON_COMPILE',
            `@hotpath/json: a projected schema did not compile (${(error as Error).message}); such masks are serialized with JSON.stringify.`,
          )
        }
      }
      put(text, fn)
      onCompile?.(fn !== null)
      return fn ?? undefined
    },
    size: () => lru.size,
  }
}
