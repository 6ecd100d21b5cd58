import zlib from 'node:zlib'
import type { Logger } from '@hotpath/core'
import { didYouMean, optionError, parseBytes, rejectUnknownOptions } from '@hotpath/core'
import type { MetricsRegistry } from './metrics'
import type { CompressionFilter, CompressionOptions, Encoding } from './types'

const PKG = '@hotpath/compression'
const CODINGS: readonly Encoding[] = ['br', 'gzip', 'deflate']

const KNOWN: readonly string[] = [
  'threshold',
  'encodings',
  'level',
  'brotliQuality',
  'filter',
  'syncThreshold',
  'flushEventStream',
  'logger',
  'brotli',
  'enforceEncoding',
  'chunkSize',
  'windowBits',
  'memLevel',
  'strategy',
  'registry',
  'metricsPrefix',
]

/** Names a migrating app may pass that mean one of this package's options. */
const RENAMED: Readonly<Record<string, string>> = {
  quality: 'brotliQuality',
  params: 'brotli',
  zlib: 'level',
  encoding: 'encodings',
  defaultEncoding: 'enforceEncoding',
}

const DEFAULTS = {
  threshold: 500,
  encodings: CODINGS,
  level: 6,
  brotliQuality: 4,
  syncThreshold: 32 * 1024,
  flushEventStream: true,
} as const

/** The resolved configuration of one instance; never shared with the caller. */
export interface Config {
  readonly threshold: number
  readonly encodings: readonly Encoding[]
  readonly level: number
  readonly brotliQuality: number
  readonly filter: CompressionFilter | undefined
  readonly syncThreshold: number
  readonly flushEventStream: boolean
  readonly logger: Logger | undefined
  /** Brotli options for every br body (the quality from `brotliQuality` unless `brotli.params` sets it). */
  readonly brotli: zlib.BrotliOptions
  /** The coding for a request without `Accept-Encoding`; `identity` sends it as is. */
  readonly enforceEncoding: Encoding | 'identity'
  /** zlib options the app chose for gzip and deflate (chunkSize, windowBits, memLevel, strategy). */
  readonly zlib: Readonly<Pick<zlib.ZlibOptions, 'chunkSize' | 'windowBits' | 'memLevel' | 'strategy'>>
  readonly registry: MetricsRegistry | undefined
  readonly metricsPrefix: string
}

/** Validates `options` at construction and resolves them over the defaults. */
export function resolveOptions(options: Readonly<CompressionOptions> | undefined): Config {
  for (const key of Object.keys(options ?? {})) {
    const renamed = RENAMED[key]
    if (renamed !== undefined && !KNOWN.includes(key)) {
      optionError(PKG, `unknown option "${key}". Did you mean "${renamed}"?`)
    }
  }
  rejectUnknownOptions(PKG, options, KNOWN)
  const merged = { ...DEFAULTS, ...definedOnly(options ?? {}) }
  const brotliQuality = integerIn(
    merged.brotliQuality,
    'brotliQuality',
    0,
    11,
    'a Brotli quality from 0 to 11',
  )
  const offered = encodings(merged.encodings)
  const enforceEncoding = enforced(options?.enforceEncoding)
  if (enforceEncoding !== 'identity' && !offered.includes(enforceEncoding)) {
    optionError(
      PKG,
      `enforceEncoding '${enforceEncoding}' is not in encodings; add it there or pick one of ${offered.join(', ')}.`,
    )
  }
  return {
    threshold: bytes(merged.threshold, 'threshold'),
    encodings: offered,
    level: integerIn(merged.level, 'level', -1, 9, 'a zlib level from -1 (default) to 9'),
    brotliQuality,
    filter: fn(options?.filter),
    syncThreshold: bytes(merged.syncThreshold, 'syncThreshold'),
    flushEventStream: bool(merged.flushEventStream, 'flushEventStream'),
    logger: logger(options?.logger),
    brotli: brotli(options?.brotli, brotliQuality),
    enforceEncoding,
    zlib: zlibOptions(options ?? {}),
    registry: registry(options?.registry),
    metricsPrefix: prefix(options?.metricsPrefix),
  }
}

function registry(value: unknown): MetricsRegistry | undefined {
  if (value === undefined) return undefined
  const candidate = value as Partial<MetricsRegistry> | null
  if (
    !candidate ||
    typeof candidate.registerMetric !== 'function' ||
    typeof candidate.getSingleMetric !== 'function'
  ) {
    optionError(PKG, "registry must be a prom-client Registry (new Registry(), or the profiler's .registry).")
  }
  return value as MetricsRegistry
}

function prefix(value: unknown): string {
  if (value === undefined) return 'hotpath_compression_'
  if (typeof value !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(value)) {
    optionError(
      PKG,
      `metricsPrefix must be a Prometheus metric name prefix such as 'api_compression_', got ${JSON.stringify(value)}.`,
    )
  }
  return value as string
}

/** As the `compression` package: the app's brotli options, the quality defaulting to ours. */
function brotli(value: unknown, quality: number): zlib.BrotliOptions {
  if (value === undefined) return { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality } }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    optionError(PKG, 'brotli must be a zlib BrotliOptions object such as { params: { … } }.')
  }
  const given = value as zlib.BrotliOptions
  const params = given.params ?? {}
  if (typeof params !== 'object')
    optionError(PKG, 'brotli.params must be an object of zlib BROTLI_PARAM_* keys.')
  return { ...given, params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality, ...params } }
}

function enforced(value: unknown): Encoding | 'identity' {
  if (value === undefined) return 'identity'
  if (value !== 'identity' && !CODINGS.includes(value as Encoding)) {
    const hint = typeof value === 'string' ? didYouMean(value, [...CODINGS, 'identity']) : ''
    optionError(PKG, `enforceEncoding must be one of ${[...CODINGS, 'identity'].join(', ')}.${hint}`)
  }
  return value as Encoding | 'identity'
}

/** zlib's own bounds (zlib.h): an out-of-range value would throw on the first response instead. */
function zlibOptions(options: Readonly<CompressionOptions>): Config['zlib'] {
  const out: Record<string, number> = {}
  const { chunkSize, windowBits, memLevel, strategy } = options
  if (chunkSize !== undefined)
    out.chunkSize = integerIn(chunkSize, 'chunkSize', 64, 2 ** 30, 'a byte count of at least 64')
  if (windowBits !== undefined)
    out.windowBits = integerIn(windowBits, 'windowBits', 9, 15, 'a deflate window from 9 to 15')
  if (memLevel !== undefined)
    out.memLevel = integerIn(memLevel, 'memLevel', 1, 9, 'a zlib memLevel from 1 to 9')
  if (strategy !== undefined) {
    out.strategy = integerIn(
      strategy,
      'strategy',
      0,
      4,
      'a zlib strategy (zlib.constants.Z_DEFAULT_STRATEGY … Z_FIXED)',
    )
  }
  return Object.freeze(out)
}

/** `{ threshold: undefined }` means "use the default", as if the key were absent. */
function definedOnly(options: Readonly<CompressionOptions>): Partial<CompressionOptions> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(options)) if (value !== undefined) out[key] = value
  return out as Partial<CompressionOptions>
}

function bytes(value: unknown, name: string): number {
  if (typeof value !== 'number' && typeof value !== 'string') {
    optionError(PKG, `${name} must be a byte count such as 1024 or '1kb', got ${typeof value}.`)
  }
  try {
    return parseBytes(value, name)
  } catch (err) {
    return optionError(PKG, `${(err as Error).message}`, 'ERR_HOTPATH_BYTES')
  }
}

function encodings(value: unknown): readonly Encoding[] {
  if (!Array.isArray(value) || value.length === 0) {
    optionError(PKG, `encodings must be a non-empty array of ${CODINGS.map((c) => `'${c}'`).join(', ')}.`)
  }
  const seen = new Set<Encoding>()
  for (const item of value as unknown[]) {
    if (typeof item !== 'string' || !CODINGS.includes(item as Encoding)) {
      const hint = typeof item === 'string' ? didYouMean(item, CODINGS) : ''
      optionError(
        PKG,
        `encodings: unsupported coding ${JSON.stringify(item)}; use ${CODINGS.join(', ')}.${hint}`,
      )
    }
    if (seen.has(item as Encoding)) optionError(PKG, `encodings lists '${item}' twice; list each once.`)
    seen.add(item as Encoding)
  }
  return Object.freeze([...seen])
}

function integerIn(value: unknown, name: string, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    optionError(PKG, `${name} must be ${what}, got ${JSON.stringify(value)}.`)
  }
  return value as number
}

function fn(value: unknown): CompressionFilter | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') {
    optionError(PKG, `filter must be a function (req, res) => boolean, got ${typeof value}.`)
  }
  return value as CompressionFilter
}

function bool(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') optionError(PKG, `${name} must be true or false, got ${typeof value}.`)
  return value as boolean
}

function logger(value: unknown): Logger | undefined {
  if (value === undefined) return undefined
  const candidate = value as Partial<Logger> | null
  if (!candidate || typeof candidate.warn !== 'function' || typeof candidate.error !== 'function') {
    optionError(PKG, 'logger must have warn() and error() methods (console fits).')
  }
  return value as Logger
}
