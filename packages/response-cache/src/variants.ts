import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'
import { negotiateEncoding } from '@hotpath/core'
import type { CacheEntry, HeaderValue } from './types'

const gzipAsync = promisify(gzip)
const brotliAsync = promisify(brotliCompress)

/** Media types worth compressing (text, JSON, XML, JavaScript, SVG and their `+json`/`+xml` kin). */
const COMPRESSIBLE =
  /^(?:text\/|application\/(?:json|javascript|ecmascript|xml|x-javascript|graphql-response\+json|[\w.+-]*\+(?:json|xml))|image\/svg\+xml)/i

function header(entry: CacheEntry, name: string): HeaderValue | undefined {
  for (const [key, value] of entry.headers) if (key === name) return value
  return undefined
}

/** Whether `Content-Type` names a compressible media type. */
export function compressibleType(type: unknown): boolean {
  return typeof type === 'string' && COMPRESSIBLE.test(type)
}

/**
 * Whether an entry gets stored encodings: an identity body of a compressible type, big
 * enough to gain, that the handler did not mark `no-transform` (RFC 9111 §5.2.2.6).
 */
export function wantsVariants(entry: CacheEntry, minBytes: number): boolean {
  if (entry.body.length < minBytes || entry.status === 204) return false
  if (header(entry, 'content-encoding') !== undefined) return false
  const cc = header(entry, 'cache-control')
  if (cc !== undefined && /no-transform/i.test(String(cc))) return false
  return compressibleType(header(entry, 'content-type'))
}

/** Makes the encodings on the libuv thread pool, so the event loop keeps serving. */
export async function makeVariants(
  body: Buffer,
  encodings: readonly string[],
): Promise<Record<string, Buffer>> {
  const out: Record<string, Buffer> = {}
  for (const encoding of encodings) {
    if (encoding === 'gzip') out.gzip = await gzipAsync(body, { level: 9 })
    else if (encoding === 'br') {
      out.br = await brotliAsync(body, {
        params: {
          [constants.BROTLI_PARAM_QUALITY]: body.length > 262_144 ? 9 : 11,
          [constants.BROTLI_PARAM_SIZE_HINT]: body.length,
        },
      })
    }
  }
  // A variant that does not save bytes is not worth a `Vary` split.
  for (const encoding of Object.keys(out))
    if ((out[encoding] as Buffer).length >= body.length) delete out[encoding]
  return out
}

const BOTH = ['br', 'gzip'] as const
const BR_ONLY = ['br'] as const
const GZIP_ONLY = ['gzip'] as const
const NONE: readonly ('br' | 'gzip')[] = []

/**
 * Picks the stored encoding for an `Accept-Encoding` value with the same negotiation as
 * `@hotpath/compression` (RFC 9110 §12.5.3; br before gzip on a tie); `undefined` means identity.
 */
export function pickEncoding(
  accept: string | undefined,
  variants: Readonly<Record<string, Buffer>>,
): string | undefined {
  const offered =
    variants.br !== undefined
      ? variants.gzip !== undefined
        ? BOTH
        : BR_ONLY
      : variants.gzip !== undefined
        ? GZIP_ONLY
        : NONE
  return negotiateEncoding(accept, offered) ?? undefined
}
