/**
 * The `?fields=` grammar of Google APIs' partial responses and json-mask, plus exclusion:
 *
 *   list  = item *( "," item )
 *   item  = [ "-" ] path [ "(" list ")" ]
 *   path  = name *( "/" name )
 *   name  = "*" / 1*( ALPHA / DIGIT / "_" / "$" / "@" / "-" )   ; "-" not first
 *
 * `a/b` selects `b` inside `a`, `a(b,c)` selects both, `*` every key of its level, `-a`
 * removes `a` (everything else at that level is kept unless the level also selects names).
 * Inside an excluded group every name is removed: `-a(b,c)` drops `a.b` and `a.c`.
 * The parser is a single left-to-right pass: linear in the length, which is bounded first.
 */

/** One level of a parsed mask. `null` as a value means "the whole value". */
export interface MaskNode {
  /** Selected keys: `null` keeps the whole value, a node selects inside it. */
  readonly keys: Map<string, MaskNode | null>
  /** `*`: what every key not in `keys` gets; `undefined` when the level has no `*`. */
  star: MaskNode | null | undefined
  /** Removed keys: `null` drops the key, a node removes inside it. */
  readonly minus: Map<string, MaskNode | null>
  /** Where each name was first written (0-based), for error messages. */
  readonly at: Map<string, number>
}

export type FieldsErrorCode =
  | 'ERR_HOTPATH_FIELDS_SYNTAX'
  | 'ERR_HOTPATH_FIELDS_TOO_LONG'
  | 'ERR_HOTPATH_FIELDS_DEPTH'
  | 'ERR_HOTPATH_FIELDS_UNKNOWN'

/** A mask the client got wrong: answered with a 400 that names the token and its position. */
export class FieldsError extends Error {
  readonly code: FieldsErrorCode
  readonly token: string
  readonly position: number
  readonly status = 400

  constructor(code: FieldsErrorCode, message: string, token: string, position: number) {
    super(message)
    this.name = 'FieldsError'
    this.code = code
    this.token = token
    this.position = position
  }

  /** The JSON body of the 400 response. */
  toJSON(): { error: { code: string; message: string; token: string; position: number } } {
    return { error: { code: this.code, message: this.message, token: this.token, position: this.position } }
  }
}

export interface Limits {
  readonly maxLength: number
  readonly maxDepth: number
}

export function emptyNode(): MaskNode {
  return { keys: new Map(), star: undefined, minus: new Map(), at: new Map() }
}

/** Whether a level selects names (`a`, `*`) rather than only removing them. */
export function selects(node: MaskNode): boolean {
  return node.keys.size > 0 || node.star !== undefined
}

const NAME_CHAR = /[A-Za-z0-9_$@-]/

function describe(ch: string | undefined): string {
  return ch === undefined ? 'end of input' : JSON.stringify(ch)
}

/** Parses `text` (already percent-decoded). Throws {@link FieldsError}. */
export function parseMask(text: string, limits: Limits): MaskNode {
  if (text.length > limits.maxLength) {
    throw new FieldsError(
      'ERR_HOTPATH_FIELDS_TOO_LONG',
      `fields: the mask is ${text.length} characters long; the limit is ${limits.maxLength}.`,
      text.slice(limits.maxLength, limits.maxLength + 16),
      limits.maxLength,
    )
  }
  let pos = 0
  const fail = (message: string, token = text[pos] ?? ''): never => {
    throw new FieldsError('ERR_HOTPATH_FIELDS_SYNTAX', `fields: ${message} at position ${pos}.`, token, pos)
  }
  const skipSpaces = () => {
    while (text[pos] === ' ') pos++
  }

  const readName = (): string => {
    skipSpaces()
    if (text[pos] === '*') {
      pos++
      return '*'
    }
    if (text[pos] === '-') fail('"-" may only start an item (an exclusion)', '-')
    const start = pos
    while (pos < text.length && NAME_CHAR.test(text[pos] as string)) pos++
    if (pos === start) fail(`expected a field name, found ${describe(text[pos])}`)
    return text.slice(start, pos)
  }

  const list = (node: MaskNode, depth: number, negated: boolean): void => {
    for (;;) {
      item(node, depth, negated)
      skipSpaces()
      if (text[pos] !== ',') return
      pos++
    }
  }

  const item = (node: MaskNode, depth: number, negated: boolean): void => {
    skipSpaces()
    let negative = negated
    if (text[pos] === '-') {
      if (negated) fail('an exclusion inside an excluded group is not allowed', '-')
      negative = true
      pos++
    }
    const path: Array<{ name: string; at: number }> = []
    for (;;) {
      skipSpaces()
      const at = pos
      const name = readName()
      if (depth + path.length + 1 > limits.maxDepth) {
        throw new FieldsError(
          'ERR_HOTPATH_FIELDS_DEPTH',
          `fields: "${name}" at position ${at} nests deeper than ${limits.maxDepth} levels.`,
          name,
          at,
        )
      }
      if (negative && name === '*') {
        pos = at
        fail('"*" cannot be excluded; name the fields to remove', '*')
      }
      path.push({ name, at })
      skipSpaces()
      if (text[pos] !== '/') break
      pos++
    }
    let sub: MaskNode | null = null
    if (text[pos] === '(') {
      const open = pos
      pos++
      sub = emptyNode()
      list(sub, depth + path.length, negative)
      skipSpaces()
      if (text[pos] !== ')') {
        if (pos >= text.length) {
          pos = open
          fail('"(" is never closed', '(')
        }
        fail(`expected "," or ")", found ${describe(text[pos])}`)
      }
      pos++
    }
    insert(node, path, sub, negative)
  }

  const root = emptyNode()
  skipSpaces()
  if (pos >= text.length) return root
  list(root, 0, false)
  skipSpaces()
  if (pos < text.length) {
    fail(text[pos] === ')' ? 'unbalanced ")"' : `expected "," found ${describe(text[pos])}`)
  }
  return root
}

/** Unions two selections of the same key; "whole" (`null`) absorbs any sub-selection. */
function merge(a: MaskNode | null | undefined, b: MaskNode | null): MaskNode | null {
  if (a === undefined) return b
  if (a === null || b === null) return null
  for (const [k, v] of b.keys) a.keys.set(k, merge(a.keys.get(k), v))
  if (b.star !== undefined) a.star = merge(a.star, b.star)
  for (const [k, v] of b.minus) a.minus.set(k, mergeMinus(a.minus.get(k), v))
  for (const [k, v] of b.at) if (!a.at.has(k)) a.at.set(k, v)
  return a
}

/** Unions two removals of the same key; removing the whole key absorbs a partial removal. */
function mergeMinus(a: MaskNode | null | undefined, b: MaskNode | null): MaskNode | null {
  if (a === undefined) return b
  if (a === null || b === null) return null
  return merge(a, b)
}

function insert(
  node: MaskNode,
  path: ReadonlyArray<{ name: string; at: number }>,
  sub: MaskNode | null,
  negative: boolean,
): void {
  let level = node
  for (let i = 0; i < path.length; i++) {
    const { name, at } = path[i] as { name: string; at: number }
    if (!level.at.has(name)) level.at.set(name, at)
    const isLast = i === path.length - 1
    const value = isLast ? sub : emptyNode()
    if (negative) {
      const merged = mergeMinus(level.minus.get(name), value)
      level.minus.set(name, merged)
      if (merged === null) return
      level = merged
    } else {
      const current = name === '*' ? level.star : level.keys.get(name)
      const merged = merge(current, value)
      if (name === '*') level.star = merged
      else level.keys.set(name, merged)
      if (merged === null) return
      level = merged
    }
  }
}

/**
 * The canonical text of a mask: names sorted, `*` after them, removals last. Two masks that
 * select the same fields (`a,b` and `b,a`, `a/b,a/c` and `a(b,c)`) get the same text, which
 * is what the response cache keys on.
 */
export function canonical(node: MaskNode): string {
  const parts: string[] = []
  for (const name of [...node.keys.keys()].sort()) {
    const child = node.keys.get(name) as MaskNode | null
    parts.push(child === null ? name : `${name}(${canonical(child)})`)
  }
  if (node.star !== undefined) parts.push(node.star === null ? '*' : `*(${canonical(node.star)})`)
  for (const name of [...node.minus.keys()].sort()) {
    const child = node.minus.get(name) as MaskNode | null
    parts.push(child === null ? `-${name}` : `-${name}(${canonicalRemoval(child)})`)
  }
  return parts.join(',')
}

/** Inside an excluded group names are written without their `-`. */
function canonicalRemoval(node: MaskNode): string {
  const parts: string[] = []
  for (const name of [...node.minus.keys()].sort()) {
    const child = node.minus.get(name) as MaskNode | null
    parts.push(child === null ? name : `${name}(${canonicalRemoval(child)})`)
  }
  return parts.join(',')
}
