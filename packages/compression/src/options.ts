import type { Logger } from '@hotpath/core'
import { didYouMean, optionError, parseBytes, rejectUnknownOptions } from '@hotpath/core'
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
]

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
}

/** Validates `options` at construction and resolves them over the defaults. */
export function resolveOptions(options: Readonly<CompressionOptions> | undefined): Config {
  rejectUnknownOptions(PKG, options, KNOWN)
  const merged = { ...DEFAULTS, ...definedOnly(options ?? {}) }
  return {
    threshold: bytes(merged.threshold, 'threshold'),
    encodings: encodings(merged.encodings),
    level: integerIn(merged.level, 'level', -1, 9, 'a zlib level from -1 (default) to 9'),
    brotliQuality: integerIn(merged.brotliQuality, 'brotliQuality', 0, 11, 'a Brotli quality from 0 to 11'),
    filter: fn(options?.filter),
    syncThreshold: bytes(merged.syncThreshold, 'syncThreshold'),
    flushEventStream: bool(merged.flushEventStream, 'flushEventStream'),
    logger: logger(options?.logger),
  }
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
