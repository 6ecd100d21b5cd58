import type { JsonRouteStats, JsonStats, Logger, StatsSource } from '@hotpath/core'
import type { RequestHandler } from 'express'
import type { FieldMask } from './mask'
import type { Compile, JsonSchema } from './schema'

export type { FieldMask } from './mask'
export type { Compile, JsonSchema, Serializer } from './schema'
export type { JsonRouteStats, JsonStats }

export interface FieldsOptions {
  /** The query parameter that carries the mask. Default `'fields'`. */
  param?: string
  /** Longest mask accepted, in characters (after percent-decoding). Default `1024`. */
  maxLength?: number
  /** Deepest nesting accepted (`a/b/c` and `a(b(c))` are 3). Default `8`. */
  maxDepth?: number
  /**
   * Answer 400 `ERR_HOTPATH_FIELDS_UNKNOWN` for a name the response does not have: checked
   * against the route schema before the handler runs, else against the body `res.json` sends.
   * Default `false` (unknown names select nothing).
   */
  strict?: boolean
  /** JSON Schema of what `res.json` sends on the routes this instance serves (see `route()`). */
  schema?: JsonSchema
  /** Compiled serializers kept per schema (an LRU of masks). Default `256`. */
  cacheSize?: number
  /** Compiles a server schema into a serializer. Default: generated code (fast-json-stringify for what it does not follow). */
  compile?: Compile
  /**
   * One masked `res.json` in this many also serializes the unmasked body to measure the
   * bytes masking saves (`stats()`); the rest are estimated from those. `1` measures every
   * response. Default `64`.
   */
  measureEvery?: number
  /** `res.stream()` writes in chunks of about this many characters. Default `8192`. */
  chunkSize?: number
  /** Rewrite the mask in `req.url`/`req.originalUrl` to its canonical form. Default `true`. */
  normalizeUrl?: boolean
  logger?: Logger
}

export interface RouteOptions {
  /** JSON Schema of this route's `res.json` body. */
  schema?: JsonSchema
  strict?: boolean
}

export interface StreamOptions {
  /** `'json'` (an array, default) or `'ndjson'` (one JSON text per line). */
  format?: 'json' | 'ndjson'
  /** JSON Schema of ONE item: items are serialized by its compiled (and masked) form. */
  schema?: JsonSchema
  /** The mask applied to every item. Default through `res.stream`: `req.fields`. */
  fields?: FieldMask | string
  /** Status code of the response. Default: `res.statusCode` (200). */
  status?: number
  /** Chunk size in characters, over the instance's. */
  chunkSize?: number
}

export interface StreamResult {
  /** Items written. */
  items: number
  /** Body bytes written (before any compression). */
  bytes: number
  /** The whole body went out and the response was ended normally. */
  completed: boolean
  /** The client went away first; the source was closed. */
  aborted: boolean
  /** What failed, when the source or serialization threw. */
  error?: unknown
}

export type StreamFn = (source: unknown, options?: Readonly<StreamOptions>) => Promise<StreamResult>

export interface FieldsMiddleware extends RequestHandler, StatsSource<JsonStats> {
  readonly name: 'json'
  /** Per-route middleware with this route's schema (and strictness), over the instance's. */
  route(options: Readonly<RouteOptions>): RequestHandler
  /** `stream(res, source, options)` with this instance's serializer cache and stats. */
  stream(
    res: import('node:http').ServerResponse,
    source: unknown,
    options?: Readonly<StreamOptions>,
  ): Promise<StreamResult>
  stats(): JsonStats
  reset(): void
}

declare module 'express-serve-static-core' {
  interface Request {
    /** The parsed `?fields=` mask (`@hotpath/json`). */
    fields?: FieldMask
  }
  interface Response {
    /** Streams `source` as a JSON array or NDJSON (`@hotpath/json`). */
    stream?: StreamFn
  }
}
