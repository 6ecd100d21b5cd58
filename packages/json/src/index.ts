import type { ServerResponse } from 'node:http'
import { createLogger } from '@hotpath/core'
import { parseMask } from './grammar'
import { nodeOf, toFieldMask } from './mask'
import { DEFAULTS, defaultCompile } from './options'
import { createSerializers } from './schema'
import { runStream } from './stream'
import type { FieldMask, JsonSchema, Serializer, StreamOptions, StreamResult } from './types'

export { FieldsError, type FieldsErrorCode } from './grammar'
export { allFields } from './mask'
export { fields } from './middleware'
export type {
  Compile,
  FieldMask,
  FieldsMiddleware,
  FieldsOptions,
  JsonRouteStats,
  JsonSchema,
  JsonStats,
  RouteOptions,
  Serializer,
  StreamFn,
  StreamOptions,
  StreamResult,
} from './types'

/**
 * Parses a mask the server wrote (`'id,name,author(name)'`) into a {@link FieldMask}, with the
 * default limits. Throws `FieldsError` on a bad mask.
 */
export function parseFields(text: string): FieldMask {
  return toFieldMask(parseMask(text, { maxLength: DEFAULTS.maxLength, maxDepth: DEFAULTS.maxDepth }))
}

/**
 * A serializer for values of `schema` (a server-owned JSON Schema) with `fields` applied:
 * the schema projected by the mask and compiled once (see `defaultCompile`). For bodies sent
 * outside `res.json` (a WebSocket, a queue). A level the projection cannot follow (`$ref`,
 * `anyOf`, …) is masked and serialized with `JSON.stringify`.
 */
export function serializer(schema: JsonSchema, fields?: FieldMask | string): Serializer {
  const mask = typeof fields === 'string' ? parseFields(fields) : fields
  const s = createSerializers(schema, defaultCompile, 1, createLogger())
  const node = mask?.active ? nodeOf(mask) : undefined
  if (mask === undefined || node === undefined) return s.full
  const compiled = s.forMask(node, mask.text, true)
  if (compiled !== undefined) return compiled
  return (value) => JSON.stringify(mask.apply(value))
}

/**
 * `stream(res, source, options)` without a `fields()` instance: the same body, backpressure and
 * error handling as `res.stream`, logging to `console`, no stats, and an item `schema` compiled
 * on every call (mount `fields()` and use `res.stream` to keep compiled serializers).
 */
export function stream(
  res: ServerResponse,
  source: unknown,
  options: Readonly<StreamOptions> = {},
): Promise<StreamResult> {
  const log = createLogger()
  const mask = typeof options.fields === 'string' ? parseFields(options.fields) : options.fields
  return runStream(
    res,
    source,
    { ...options, fields: mask },
    {
      log,
      chunkSize: DEFAULTS.chunkSize,
      serializerFor(o) {
        if (o.schema === undefined) return undefined
        const s = createSerializers(o.schema, defaultCompile, 1, log)
        const m = o.fields as FieldMask | undefined
        const node = m?.active ? nodeOf(m) : undefined
        return node === undefined ? s.full : s.forMask(node, m?.text ?? '', true)
      },
      record() {},
    },
  )
}
