import { promisify } from 'node:util'
import { brotliCompress, constants, gzip } from 'node:zlib'
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

const MAX_ACCEPT_ENCODING = 1024

/**
 * Picks the stored encoding for an `Accept-Encoding` value (RFC 9110 §12.5.3), in one
 * linear pass: the highest q-value wins, `br` before `gzip` on a tie; `undefined` means identity.
 */
export function pickEncoding(
  accept: string | undefined,
  variants: Readonly<Record<string, Buffer>>,
): string | undefined {
  if (accept === undefined || accept.length > MAX_ACCEPT_ENCODING) return undefined
  let br = -1
  let gz = -1
  let star = -1
  for (const part of accept.split(',')) {
    const semi = part.indexOf(';')
    const name = (semi === -1 ? part : part.slice(0, semi)).trim().toLowerCase()
    let q = 1
    if (semi !== -1) {
      const match = /q\s*=\s*([01](?:\.\d{0,3})?)/i.exec(part.slice(semi + 1))
      q = match ? Number(match[1]) : 1
    }
    if (name === 'br') br = q
    else if (name === 'gzip' || name === 'x-gzip') gz = Math.max(gz, q)
    else if (name === '*') star = q
  }
  if (br === -1) br = star
  if (gz === -1) gz = star
  const hasBr = variants.br !== undefined && br > 0
  const hasGz = variants.gzip !== undefined && gz > 0
  if (hasBr && (!hasGz || br >= gz)) return 'br'
  return hasGz ? 'gzip' : undefined
}
