import { deserialize, serialize } from 'node:v8'
import { HotpathError, optionError } from '@hotpath/core'
import type { Serializer } from './types'

const PKG = '@hotpath/cache'

export const jsonSerializer: Serializer = {
  name: 'json',
  encode: (value) => Buffer.from(JSON.stringify(value) ?? 'null'),
  decode: (buffer) => JSON.parse(buffer.toString('utf8')),
}

export const v8Serializer: Serializer = {
  name: 'v8',
  encode: (value) => serialize(value),
  decode: (buffer) => deserialize(buffer),
}

/**
 * msgpackr without its record extension: records would keep shared structures in one
 * process's encoder, and a value written by one instance must decode in every other.
 */
export function msgpackSerializer(): Serializer {
  let Packr: new (options: object) => { pack(value: unknown): Buffer; unpack(buffer: Buffer): unknown }
  try {
    Packr = (require('msgpackr') as { Packr: typeof Packr }).Packr
  } catch {
    optionError(PKG, "the default serializer needs msgpackr: npm install msgpackr, or pass serializer: 'v8'.")
  }
  const packr = new Packr({ useRecords: false, moreTypes: true })
  return {
    name: 'msgpack',
    encode: (value) => {
      assertPlain(value)
      return packr.pack(value)
    },
    decode: (buffer) => packr.unpack(buffer),
  }
}

export function resolveSerializer(option: unknown): Serializer {
  if (option === undefined || option === 'msgpack') return msgpackSerializer()
  if (option === 'v8') return v8Serializer
  if (option === 'json') return jsonSerializer
  const custom = option as Serializer
  if (custom && typeof custom.encode === 'function' && typeof custom.decode === 'function') return custom
  return optionError(
    PKG,
    "serializer must be 'msgpack', 'v8', 'json' or { name, encode(value): Buffer, decode(buffer) }.",
  )
}

/** What a value that cannot be stored (a function, a socket, a cycle for JSON) gets. */
export function serializeError(serializer: Serializer, error: unknown): HotpathError {
  const reason = error instanceof Error ? error.message : String(error)
  return new HotpathError(
    'ERR_HOTPATH_CACHE_SERIALIZE',
    `${PKG}: the value cannot be serialized with '${serializer.name}' (${reason}); return plain data (no functions, class instances with hidden state or sockets), or pass another serializer.`,
  )
}

/**
 * msgpack writes a function or a symbol as nil without a word; the cache refuses them
 * instead, so a value never comes back different from what the factory returned.
 */
function assertPlain(root: unknown): void {
  const stack: unknown[] = [root]
  let budget = 100_000
  while (stack.length > 0 && budget-- > 0) {
    const value = stack.pop()
    const kind = typeof value
    if (kind === 'function' || kind === 'symbol') throw new TypeError(`a ${kind} cannot be stored`)
    if (kind !== 'object' || value === null || ArrayBuffer.isView(value)) continue
    if (value instanceof Map || value instanceof Set) {
      for (const item of value as Iterable<unknown>) stack.push(item)
      continue
    }
    for (const name in value as object) stack.push((value as Record<string, unknown>)[name])
  }
}
