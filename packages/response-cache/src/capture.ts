import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'

/** A response body as it went out, with the status and headers it had. */
export interface Captured {
  readonly status: number
  readonly headers: OutgoingHttpHeaders
  readonly body: Buffer
}

type Chunk = string | Uint8Array
type Callback = (error?: Error | null) => void

export function toBuffer(chunk: Chunk, encoding: unknown): Buffer {
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

/**
 * Copies chunks into one unpooled buffer: a small `Buffer` is a slice of an 8 KB pool slab,
 * and keeping the slice would keep the whole slab alive for the life of the entry.
 */
export function joinChunks(chunks: readonly Buffer[], size: number): Buffer {
  // A single chunk that owns its whole memory (not a pool slice) is kept as it is.
  const only = chunks.length === 1 ? chunks[0] : undefined
  if (only !== undefined && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) return only
  const out = Buffer.allocUnsafeSlow(size)
  let at = 0
  for (const chunk of chunks) at += chunk.copy(out, at)
  return out
}

/**
 * Tees the body of a response while it streams to the client. `onHeaders` runs just before
 * the head goes out (after the handler set its headers) and says whether to keep copying;
 * copying also stops once the body passes `limit`. `onDone` receives the copy when the
 * response finished completely, and `null` when it was aborted or torn down after an
 * error — so a half-sent response is never stored.
 */
export function captureResponse(
  res: ServerResponse,
  limit: number,
  onHeaders: () => boolean,
  onDone: (captured: Captured | null) => void,
): void {
  let chunks: Buffer[] | null = []
  let size = 0
  let fired = false
  let status = 0
  let headers: OutgoingHttpHeaders = {}
  const writeHead = res.writeHead
  const write = res.write
  const end = res.end
  // The Content-Encoding of the bytes copied here, read when the handler's first write, end
  // or writeHead reaches this layer — before a compression middleware mounted in front of the
  // cache (whose hooks run inside these) encodes the body and sets its own Content-Encoding.
  let sourceEncoding: ReturnType<ServerResponse['getHeader']>
  let sourceRead = false
  const readSourceEncoding = (target: ServerResponse) => {
    if (sourceRead) return
    sourceRead = true
    sourceEncoding = target.getHeader('content-encoding')
  }

  const keep = (chunk: Chunk | undefined, encoding: unknown) => {
    if (chunks === null || chunk === undefined || chunk === null || typeof chunk === 'function') return
    const buffer = toBuffer(chunk, encoding)
    size += buffer.length
    if (size > limit) chunks = null
    else if (buffer.length > 0) chunks.push(buffer)
  }

  res.writeHead = function writeHeadCapture(this: ServerResponse, code: number, ...rest: unknown[]) {
    if (!fired) {
      fired = true
      // Headers passed to writeHead are moved into the header store so the policy sees them.
      const last = rest[rest.length - 1]
      if (last !== null && typeof last === 'object' && !Array.isArray(last)) {
        for (const [name, value] of Object.entries(last as OutgoingHttpHeaders)) {
          if (value !== undefined) this.setHeader(name, value)
        }
        rest.pop()
      } else if (Array.isArray(last)) {
        chunks = null
      }
      this.statusCode = code
      readSourceEncoding(this)
      if (chunks !== null && !onHeaders()) chunks = null
      code = this.statusCode
      const encoding = sourceEncoding
      const out = (writeHead as (...args: unknown[]) => ServerResponse).call(this, code, ...rest)
      // Read back after the head went out: header hooks of middleware mounted before the
      // cache (cache-control, compression) have run by now, and what they set is stored —
      // except a Content-Encoding added out there: the bytes copied here are the ones before it.
      status = this.statusCode
      headers = this.getHeaders()
      if (headers['content-encoding'] !== encoding) {
        if (encoding === undefined) delete headers['content-encoding']
        else headers['content-encoding'] = String(encoding)
      }
      return out
    }
    return (writeHead as (...args: unknown[]) => ServerResponse).call(this, code, ...rest)
  } as ServerResponse['writeHead']

  res.write = function writeCapture(this: ServerResponse, chunk: Chunk, encoding?: unknown, cb?: Callback) {
    readSourceEncoding(this)
    keep(chunk, encoding)
    return (write as (...args: unknown[]) => boolean).call(this, chunk, encoding, cb)
  } as ServerResponse['write']

  res.end = function endCapture(this: ServerResponse, chunk?: unknown, encoding?: unknown, cb?: unknown) {
    readSourceEncoding(this)
    keep(chunk as Chunk | undefined, encoding)
    return (end as (...args: unknown[]) => ServerResponse).call(this, chunk, encoding, cb)
  } as ServerResponse['end']

  // Node emits 'close' after 'finish' for a response that went out completely, and 'close'
  // alone for one that was aborted or torn down: one listener tells them apart.
  res.once('close', () => {
    onDone(
      res.writableFinished && fired && chunks !== null
        ? { status, headers, body: joinChunks(chunks, size) }
        : null,
    )
  })
}
