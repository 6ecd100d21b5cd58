import type { BrotliOptions } from 'node:zlib'
import type { CompressionStats, Logger, StatsSource } from '@hotpath/core'
import type { Request, RequestHandler, Response } from 'express'
import type { MetricsRegistry } from './metrics'

/** The content codings this package produces, RFC 9110 §8.4.1. */
export type Encoding = 'br' | 'gzip' | 'deflate'

/** Decides per response whether compression may apply; called just before headers go out. */
export type CompressionFilter = (req: Request, res: Response) => boolean

/** Why a response was sent without this middleware compressing it. */
export type SkipReason =
  | 'below-threshold'
  | 'not-compressible'
  | 'filtered'
  | 'no-transform'
  | 'already-encoded'
  | 'identity'
  | 'head-or-status'

export interface CompressionOptions {
  /** Bodies smaller than this many bytes are sent as they are. A number or `'1kb'`. Default `500`. */
  threshold?: number | string
  /** The codings offered, in server preference order (used when the client's q-values tie). Default `['br', 'gzip', 'deflate']`. */
  encodings?: readonly Encoding[]
  /** zlib level for gzip and deflate, `-1` (zlib default, 6) to `9`. Default `6`. */
  level?: number
  /** Brotli quality for dynamic bodies, `0`–`11`. Default `4`. */
  brotliQuality?: number
  /**
   * Whether a response may be compressed. Default {@link filter}: the `Content-Type` is
   * compressible according to the `compressible` database. Wrap it to exclude routes.
   */
  filter?: CompressionFilter
  /**
   * A body that arrives in one `res.end`/`res.send` call and is smaller than this is compressed
   * with one synchronous zlib call instead of a stream. A number or `'32kb'`. Default `32768`.
   * `0` turns the fast path off.
   */
  syncThreshold?: number | string
  /** Flush the compressor after every `res.write` of a `text/event-stream` response. Default `true`. */
  flushEventStream?: boolean
  /** Where coded warnings go (`warn`, `error`). Default `console`. */
  logger?: Logger
  /**
   * zlib Brotli options for br bodies, as in the `compression` package. `params` is merged over
   * `{ [BROTLI_PARAM_QUALITY]: brotliQuality }`, so a quality set here wins. Default none.
   */
  brotli?: BrotliOptions
  /**
   * The coding used when a request has no `Accept-Encoding` header at all, as in the
   * `compression` package. Default `'identity'` (sent as is).
   */
  enforceEncoding?: Encoding | 'identity'
  /** zlib output chunk size for gzip/deflate streams. Default zlib's (16 KB); the small-body path sizes its own. */
  chunkSize?: number
  /** Deflate window, `9`–`15`. Default `15` (the small-body gzip path picks a smaller window giving the same bytes). */
  windowBits?: number
  /** zlib memLevel, `1`–`9`. Default zlib's (`8`). */
  memLevel?: number
  /** zlib strategy, `zlib.constants.Z_DEFAULT_STRATEGY` (0) … `Z_FIXED` (4). Default `0`. */
  strategy?: number
  /**
   * A prom-client `Registry` (e.g. the profiler's `.registry`, which the dashboard's `/metrics`
   * serves) to register this instance's counters on, read at scrape time. Default: none.
   */
  registry?: MetricsRegistry
  /** Prefix of the metric names. Default `'hotpath_compression_'`. */
  metricsPrefix?: string
}

/** The middleware returned by `compression()`, with its statistics attached. */
export interface CompressionMiddleware extends RequestHandler, StatsSource<CompressionReport> {
  readonly name: 'compression'
  stats(): CompressionReport
  /** Sets every counter back to zero. */
  reset(): void
}

/** {@link CompressionStats} plus counters that only this package has. */
export interface CompressionReport extends CompressionStats {
  /** Compressed responses whose client went away before the last byte. */
  aborted: number
}
