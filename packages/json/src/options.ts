import { createLogger, type OnceLogger, optionError, rejectUnknownOptions } from '@hotpath/core'
import fastJson from 'fast-json-stringify'
import { compileSchema } from './compile'
import type { Limits } from './grammar'
import { type Compile, flatNames, type JsonSchema } from './schema'
import type { FieldsOptions, RouteOptions } from './types'

export const PKG = '@hotpath/json'

const KNOWN: readonly string[] = [
  'param',
  'maxLength',
  'maxDepth',
  'strict',
  'schema',
  'cacheSize',
  'compile',
  'measureEvery',
  'chunkSize',
  'normalizeUrl',
  'logger',
]
const KNOWN_ROUTE: readonly string[] = ['schema', 'strict']

/** The one defaults object; user options are spread over it, never mutated. */
export const DEFAULTS = {
  param: 'fields',
  maxLength: 1024,
  maxDepth: 8,
  strict: false,
  cacheSize: 256,
  measureEvery: 64,
  // Below the socket's 16 KB highWaterMark: a chunk at or above it always reports backpressure,
  // so every chunk waits for 'drain' and the chunk being built survives into the old
  // generation; at 3×10^5 SQLite rows that doubled peak RSS growth (34 MB against 17 MB).
  chunkSize: 8192,
  normalizeUrl: true,
} as const

/**
 * The default compiler, given only schemas the server wrote: `compileSchema` (generated code
 * that sends what JSON.stringify would send of the declared properties; on Node 20 it beats
 * JSON.stringify itself on a 10^4-row array, bench/results/json-inproc.md). A schema it does
 * not follow (`default`, `const`, `additionalProperties` other than false, …) keeps the former
 * path: one object level through `JSON.stringify` with the declared names as its allowlist,
 * anything deeper through fast-json-stringify.
 */
export const defaultCompile: Compile = (schema) => {
  const compiled = compileSchema(schema)
  if (compiled !== undefined) return compiled
  const names = flatNames(schema)
  if (names !== undefined) return (doc: unknown) => JSON.stringify(doc, names) ?? 'null'
  return fastJson(schema as unknown as Parameters<typeof fastJson>[0]) as (doc: unknown) => string
}

export interface Config {
  readonly param: string
  readonly limits: Limits
  readonly strict: boolean
  readonly schema: JsonSchema | undefined
  readonly cacheSize: number
  readonly compile: Compile
  readonly measureEvery: number
  readonly chunkSize: number
  readonly normalizeUrl: boolean
  readonly log: OnceLogger
}

function integer(name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    optionError(PKG, `${name} must be an integer from ${min} to ${max}, got ${String(value)}.`)
  }
  return value
}

function checkSchema(schema: unknown, where: string): JsonSchema | undefined {
  if (schema === undefined) return undefined
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    optionError(
      PKG,
      `${where}schema must be a JSON Schema object (e.g. { type: 'object', properties: { … } }).`,
    )
  }
  return schema as JsonSchema
}

export function resolveOptions(options: Readonly<FieldsOptions>): Config {
  rejectUnknownOptions(PKG, options, KNOWN)
  const o = { ...DEFAULTS, ...options }
  if (typeof o.param !== 'string' || !/^[A-Za-z0-9_.-]+$/.test(o.param)) {
    optionError(PKG, `param must be a query parameter name such as 'fields', got ${String(o.param)}.`)
  }
  if (typeof o.strict !== 'boolean') optionError(PKG, `strict must be true or false.`)
  if (typeof o.normalizeUrl !== 'boolean') optionError(PKG, `normalizeUrl must be true or false.`)
  if (o.compile !== undefined && typeof o.compile !== 'function') {
    optionError(PKG, 'compile must be a function (schema) => (value) => string.')
  }
  return {
    param: o.param,
    limits: {
      maxLength: integer('maxLength', o.maxLength, 1, 65_536),
      maxDepth: integer('maxDepth', o.maxDepth, 1, 64),
    },
    strict: o.strict,
    schema: checkSchema(o.schema, ''),
    cacheSize: integer('cacheSize', o.cacheSize, 1, 65_536),
    compile: o.compile ?? defaultCompile,
    measureEvery: integer('measureEvery', o.measureEvery, 1),
    chunkSize: integer('chunkSize', o.chunkSize, 1, 16 * 1024 * 1024),
    normalizeUrl: o.normalizeUrl,
    log: createLogger(o.logger),
  }
}

export function resolveRoute(
  options: Readonly<RouteOptions>,
  base: Config,
): { schema: JsonSchema | undefined; strict: boolean } {
  rejectUnknownOptions(`${PKG} route()`, options, KNOWN_ROUTE)
  if (options.strict !== undefined && typeof options.strict !== 'boolean') {
    optionError(PKG, 'route(): strict must be true or false.')
  }
  return {
    schema: checkSchema(options.schema, 'route(): ') ?? base.schema,
    strict: options.strict ?? base.strict,
  }
}
