import { createHash } from 'node:crypto'
import { HotpathError } from '@hotpath/core'
import type { CacheKey } from './types'

/** Keys longer than this are hashed (Redis keys stay short, memory stays bounded). */
const MAX_KEY_LENGTH = 200
const PLAIN = /^[\w.@/-]*$/

function keyError(message: string): never {
  throw new HotpathError('ERR_HOTPATH_CACHE_KEY', `@hotpath/cache: ${message}`)
}

/** Stable JSON: object keys sorted, so `{ a, b }` and `{ b, a }` give one key. */
function stable(value: unknown, seen: Set<object>): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      return Number.isFinite(value) ? String(value) : keyError(`a key part is ${value}; use a finite number.`)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'bigint':
      return `${value}n`
    case 'undefined':
      return 'undefined'
    case 'object': {
      if (seen.has(value)) keyError('a key part is circular; pass the fields that identify the value.')
      if (value instanceof Date) return `D${value.getTime()}`
      seen.add(value)
      let out: string
      if (Array.isArray(value)) out = `[${value.map((item) => stable(item, seen)).join(',')}]`
      else {
        const record = value as Record<string, unknown>
        out = `{${Object.keys(record)
          .sort()
          .filter((name) => record[name] !== undefined)
          .map((name) => `${JSON.stringify(name)}:${stable(record[name], seen)}`)
          .join(',')}}`
      }
      seen.delete(value)
      return out
    }
    default:
      return keyError(`a key part is a ${typeof value}; use strings, numbers or plain objects.`)
  }
}

function part(value: unknown): string {
  if (typeof value === 'string') return PLAIN.test(value) ? value : JSON.stringify(value)
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  return stable(value, new Set())
}

/**
 * The string of a key: a string stays itself; parts are joined by `:` (a part with other
 * characters is quoted, an object is stable JSON); anything over 200 characters becomes
 * a readable head plus a SHA-1 of the whole, so two different keys never share a string.
 */
export function deriveKey(key: CacheKey): string {
  let text: string
  if (typeof key === 'string') text = key
  else if (Array.isArray(key)) {
    if (key.length === 0) keyError('a key array is empty; pass at least one part.')
    text = key.length === 1 ? part(key[0]) : key.map(part).join(':')
  } else keyError(`a key is a ${typeof key}; pass a string or an array of parts.`)
  if (text.length === 0) keyError('a key is empty.')
  if (text.length <= MAX_KEY_LENGTH) return text
  return `${text.slice(0, 64)}#${createHash('sha1').update(text).digest('base64url')}`
}
