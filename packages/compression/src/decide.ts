import type { ServerResponse } from 'node:http'
import zlib from 'node:zlib'
import { appendVary, getHeader, type OnceLogger, requestHeaders } from '@hotpath/core'
import type { Request, Response } from 'express'
import { createTypeCheck, hasNoTransform, isAlreadyEncoded, isUntouchableStatus } from './headers'
import { createNegotiator } from './negotiate'
import type { Config } from './options'
import type { Encoding, SkipReason } from './types'

export type Outcome = Encoding | SkipReason

/** Output chunk sizes for the synchronous path: 1 KB up to zlib's default 16 KB. */
const CHUNK_SIZES = [1024, 2048, 4096, 8192, 16384]

/** The smallest chunk size at least `length` (capped at the last). */
function chunkSizeIndex(length: number): number {
  let index = 0
  while (index < CHUNK_SIZES.length - 1 && (CHUNK_SIZES[index] as number) < length) index++
  return index
}

/**
 * The smallest deflate window that still reaches every byte of a body of at most `maxLength`
 * bytes. zlib matches at most `2^windowBits - 262` bytes back (MAX_DIST: the window less its
 * lookahead), so with this window every match a full 32 KB window would find is found, and the
 * gzip bytes are the same (a gzip header does not record the window; `whole.test.ts` checks the
 * bytes against zlib's defaults). A smaller window is much cheaper to set up: a
 * 1 KB body compresses in about 13 µs instead of 23 µs here.
 */
export function windowBitsFor(maxLength: number): number {
  let bits = 9
  while (bits < 15 && 2 ** bits - 262 < maxLength) bits++
  return bits
}

export function isEncoding(outcome: Outcome): outcome is Encoding {
  return outcome === 'gzip' || outcome === 'br' || outcome === 'deflate'
}

export interface Decider {
  /** What to do with this response; sets `Vary` when the response could have been compressed. */
  classify(req: Request, res: ServerResponse, length: number | undefined): Outcome
  /** Large, compressible, yet sent as is: the dashboard's "served uncompressed" finding. */
  missedSaving(reason: SkipReason, res: ServerResponse): boolean
  /** One synchronous zlib call over a whole body of `length` bytes (the small-body fast path). */
  compressSync(encoding: Encoding, chunk: unknown, enc: unknown, length: number): Buffer
}

export function createDecider(config: Readonly<Config>, log: OnceLogger): Decider {
  const negotiateEncoding = createNegotiator(config.encodings)
  const isCompressibleType = createTypeCheck()
  const { threshold, filter: userFilter } = config
  const enforced: Outcome = config.enforceEncoding
  // zlib's default output chunk is 16 KB, allocated per call; a small body's output fits in
  // a chunk its own size, which spares the allocation (the bytes produced are the same).
  // The app's own zlib options (chunkSize, windowBits, memLevel, strategy) win over these.
  const own = config.zlib
  const gzipOptions = CHUNK_SIZES.map(
    (chunkSize): zlib.ZlibOptions => ({
      level: config.level,
      chunkSize,
      windowBits: windowBitsFor(chunkSize),
      ...own,
    }),
  )
  // zlib's default window: deflate's zlib header records the window size, so deflate always
  // uses it, and so does gzip for a body longer than the last size class.
  const fullWindowOptions = CHUNK_SIZES.map(
    (chunkSize): zlib.ZlibOptions => ({ level: config.level, chunkSize, ...own }),
  )
  const brotliOptions = CHUNK_SIZES.map((chunkSize): zlib.BrotliOptions => ({ chunkSize, ...config.brotli }))

  /** Runs the user's filter; a throwing filter means "do not compress", logged once. */
  const passesUserFilter = (req: Request, res: ServerResponse): boolean => {
    try {
      return (userFilter as NonNullable<typeof userFilter>)(req, res as Response) === true
    } catch (err) {
      log.errorOnce(
        'ERR_HOTPATH_COMPRESSION_FILTER',
        'the compression filter threw; the response was sent uncompressed. Make filter(req, res) return a boolean.',
        err,
      )
      return false
    }
  }

  return {
    classify(req, res, length) {
      // Cheapest and most final first; nothing is touched before the type is known to qualify.
      if (isAlreadyEncoded(res)) return 'already-encoded'
      if (isUntouchableStatus(res)) return 'head-or-status'
      if (hasNoTransform(res)) return 'no-transform'
      const typeOk = isCompressibleType(getHeader(res, 'Content-Type'))
      if (userFilter === undefined ? !typeOk : !passesUserFilter(req, res)) {
        return typeOk ? 'filtered' : 'not-compressible'
      }
      // RFC 9110 §12.5.5: the representation depends on Accept-Encoding from here on, even
      // when this particular body is small or the client takes identity.
      appendVary(res, 'Accept-Encoding')
      if (req.method === 'HEAD') return 'head-or-status'
      if (length !== undefined && length < threshold) return 'below-threshold'
      const header = requestHeaders(req)['accept-encoding']
      // As the `compression` package: a request without the header gets `enforceEncoding`.
      if (header === undefined) return enforced
      return negotiateEncoding(typeof header === 'string' ? header : undefined) ?? 'identity'
    },

    missedSaving(reason, res) {
      return (
        (reason === 'identity' || reason === 'no-transform' || reason === 'filtered') &&
        isCompressibleType(getHeader(res, 'Content-Type'))
      )
    },

    compressSync(encoding, chunk, enc, length) {
      const input =
        typeof chunk === 'string' && typeof enc === 'string' && enc !== 'utf8' && enc !== 'utf-8'
          ? Buffer.from(chunk, enc as BufferEncoding)
          : (chunk as string | Buffer)
      const size = chunkSizeIndex(length)
      if (encoding === 'br') return zlib.brotliCompressSync(input, brotliOptions[size])
      if (encoding === 'deflate') return zlib.deflateSync(input, fullWindowOptions[size])
      // A body longer than the last size class gets zlib's full window.
      return zlib.gzipSync(
        input,
        length <= (CHUNK_SIZES[size] as number) ? gzipOptions[size] : fullWindowOptions[size],
      )
    },
  }
}
