import { canonical, FieldsError, type MaskNode, selects } from './grammar'

/** What `req.fields` is: the parsed `?fields=` of one request. */
export interface FieldMask {
  /** `true` when the request asked for a subset; `false` when `?fields=` was absent or empty. */
  readonly active: boolean
  /** The canonical mask (names sorted, removals last); `''` when inactive. */
  readonly text: string
  /**
   * Whether the response will carry `path` (dots between levels: `'author.name'`), wholly or
   * in part. Always `true` when the mask is inactive.
   */
  has(path: string): boolean
  /**
   * The top-level names to load, for an SQL column list or knex `select(...)`. Pass the
   * columns the table has (`known`): the answer is then a subset of them, in their order, with
   * `*` and removals resolved. Without `known`, `['*']` stands for "all", and names that are
   * not plain identifiers are dropped, so client text never reaches SQL unquoted.
   */
  toColumns(known?: readonly string[]): string[]
  /** The value with the mask applied (arrays element by element; scalars as they are). */
  apply(value: unknown): unknown
  toString(): string
}

const NODE = Symbol('hotpath.json.mask')
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

export function nodeOf(mask: FieldMask): MaskNode | undefined {
  return (mask as unknown as { [NODE]?: MaskNode })[NODE]
}

/** Keys seen per level while masking, for `strict` checks without a schema. */
export type Seen = Map<MaskNode, Set<string>>

function set(out: Record<string, unknown>, key: string, value: unknown): void {
  // A body parsed from JSON may own a `__proto__` key: copy it as data, never as a prototype.
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true })
  else out[key] = value
}

/** Applies `node` to `value`; `seen` (strict mode) records the keys each level met. */
export function applyNode(node: MaskNode, value: unknown, seen?: Seen): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    const out = new Array(value.length)
    for (let i = 0; i < value.length; i++) out[i] = applyNode(node, value[i], seen)
    return out
  }
  const toJSON = (value as { toJSON?: unknown }).toJSON
  if (typeof toJSON === 'function') return applyNode(node, toJSON.call(value), seen)
  const source = value as Record<string, unknown>
  const out: Record<string, unknown> = {}
  const picking = selects(node)
  const removing = node.minus.size > 0
  if (seen !== undefined) {
    let keys = seen.get(node)
    if (keys === undefined) seen.set(node, (keys = new Set()))
    for (const key of Object.keys(source)) keys.add(key)
  }
  for (const key of Object.keys(source)) {
    let pick: MaskNode | null | undefined = null
    if (picking) {
      pick = node.keys.get(key)
      if (pick === undefined && !node.keys.has(key)) pick = node.star
      if (pick === undefined) continue
    }
    const drop = removing ? node.minus.get(key) : undefined
    if (drop === null) continue
    let v = pick === null ? source[key] : applyNode(pick, source[key], seen)
    if (drop !== undefined) v = applyNode(drop, v, seen)
    set(out, key, v)
  }
  return out
}

/** The first name of the mask that no object it was applied to had, if any. */
export function unknownIn(node: MaskNode, seen: Seen): { name: string; at: number } | undefined {
  const keys = seen.get(node)
  if (keys !== undefined) {
    for (const map of [node.keys, node.minus]) {
      for (const name of map.keys()) {
        if (!keys.has(name)) return { name, at: node.at.get(name) ?? 0 }
      }
    }
  }
  for (const map of [node.keys, node.minus]) {
    for (const child of map.values()) {
      const found = child === null ? undefined : unknownIn(child, seen)
      if (found !== undefined) return found
    }
  }
  return node.star ? unknownIn(node.star, seen) : undefined
}

export function unknownFieldError(found: { name: string; at: number }): FieldsError {
  return new FieldsError(
    'ERR_HOTPATH_FIELDS_UNKNOWN',
    `fields: unknown field "${found.name}" at position ${found.at}.`,
    found.name,
    found.at,
  )
}

function includes(node: MaskNode | null, segments: readonly string[], i: number): boolean {
  if (node === null || i === segments.length) return true
  const segment = segments[i] as string
  const drop = node.minus.get(segment)
  if (drop === null) return false
  let pick: MaskNode | null | undefined = null
  if (selects(node)) {
    pick = node.keys.get(segment)
    if (pick === undefined && !node.keys.has(segment)) pick = node.star
    if (pick === undefined) return false
  }
  if (!includes(pick, segments, i + 1)) return false
  return drop === undefined || includes(drop, segments, i + 1)
}

function columns(node: MaskNode, known: readonly string[] | undefined): string[] {
  let names: string[]
  if (!selects(node) || node.star !== undefined) names = known ? [...known] : ['*']
  else if (known) names = known.filter((name) => node.keys.has(name))
  else names = [...node.keys.keys()]
  if (names.length === 1 && names[0] === '*' && known === undefined) return names
  names = names.filter((name) => node.minus.get(name) !== null)
  return known ? names : names.filter((name) => IDENTIFIER.test(name))
}

/** The mask of a request that asked for everything: masks nothing. */
export function allFields(): FieldMask {
  return Object.freeze({
    active: false,
    text: '',
    has: () => true,
    toColumns: (known?: readonly string[]) => (known ? [...known] : ['*']),
    apply: (value: unknown) => value,
    toString: () => '',
  })
}

/** Wraps a parsed mask as `req.fields`. */
export function toFieldMask(node: MaskNode, text = canonical(node)): FieldMask {
  const mask = {
    active: true,
    text,
    has: (path: string) => includes(node, String(path).split('.'), 0),
    toColumns: (known?: readonly string[]) => columns(node, known),
    apply: (value: unknown) => applyNode(node, value),
    toString: () => text,
  }
  Object.defineProperty(mask, NODE, { value: node })
  return Object.freeze(mask)
}
