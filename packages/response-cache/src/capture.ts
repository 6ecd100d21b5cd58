import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { createResponseHook, writableFinished } from '@hotpath/core'

/** A response body as it went out, with the status and headers it had. */
export interface Captured {
  readonly status: number
  readonly headers: OutgoingHttpHeaders
  readonly body: Buffer
}

type Chunk = string | Uint8Array

export function toBuffer(chunk: Chunk, encoding: unknown): Buffer {
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
}

/**
 * The chunks as one buffer. With `retained` (the default), one unpooled buffer: a small
 * `Buffer` is a slice of an 8 KB pool slab, and keeping the slice would keep the whole slab
 * alive for the life of the entry. Without it (a store that copies what it keeps), the bytes
 * are handed over with as few copies as possible.
 */
export function joinChunks(chunks: readonly Buffer[], size: number, retained = true): Buffer {
  const only = chunks.length === 1 ? chunks[0] : undefined
  if (!retained) return only ?? Buffer.concat(chunks, size)
  // A single chunk that owns its whole memory (not a pool slice) is kept as it is.
  if (only !== undefined && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength) return only
  const out = Buffer.allocUnsafeSlow(size)
  let at = 0
  for (const chunk of chunks) at += chunk.copy(out, at)
  return out
}

/** One captured response's state, kept in the capture's WeakMap (never on `res`). */
interface Tee {
  chunks: Buffer[] | null
  size: number
  fired: boolean
  status: number
  headers: OutgoingHttpHeaders
  /** The Content-Encoding of the bytes copied here (see `readSource`). */
  sourceEncoding: ReturnType<ServerResponse['getHeader']>
  sourceRead: boolean
  readonly limit: number
  readonly onHeaders: () => boolean
  readonly onDone: (captured: Captured | null) => void
}

export type CaptureResponse = (
  res: ServerResponse,
  limit: number,
  onHeaders: () => boolean,
  onDone: (captured: Captured | null) => void,
) => void

// biome-ignore lint/suspicious/noExplicitAny: the hooked methods take Node's overloads.
type Prev = (this: ServerResponse, ...args: any[]) => any

/**
 * The Content-Encoding of the bytes copied here, read when the handler's first write, end or
 * writeHead reaches this layer — before a compression middleware mounted in front of the
 * cache (whose hooks run inside these) encodes the body and sets its own Content-Encoding.
 */
function readSource(res: ServerResponse, tee: Tee): void {
  if (tee.sourceRead) return
  tee.sourceRead = true
  tee.sourceEncoding = res.getHeader('content-encoding')
}

function keep(tee: Tee, chunk: unknown, encoding: unknown): void {
  if (tee.chunks === null || chunk === undefined || chunk === null || typeof chunk === 'function') return
  const buffer = toBuffer(chunk as Chunk, encoding)
  tee.size += buffer.length
  if (tee.size > tee.limit) tee.chunks = null
  else if (buffer.length > 0) tee.chunks.push(buffer)
}

function writeHeadHook(res: ServerResponse, tee: Tee, prev: Prev, args: unknown[]): unknown {
  if (tee.fired) return prev.apply(res, args)
  tee.fired = true
  // Headers passed to writeHead are moved into the header store so the policy sees them.
  const last = args.length > 1 ? args[args.length - 1] : undefined
  if (last !== null && typeof last === 'object' && !Array.isArray(last)) {
    for (const [name, value] of Object.entries(last as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value)
    }
    args.pop()
  } else if (Array.isArray(last)) {
    tee.chunks = null
  }
  // Written only when it changes: each write to an Express response costs (core's response-hooks).
  if (res.statusCode !== args[0]) res.statusCode = args[0] as number
  readSource(res, tee)
  if (tee.chunks !== null && !tee.onHeaders()) tee.chunks = null
  args[0] = res.statusCode
  const encoding = tee.sourceEncoding
  const out = prev.apply(res, args)
  // Read back after the head went out: header hooks of middleware mounted before the
  // cache (cache-control, compression) have run by now, and what they set is stored —
  // except a Content-Encoding added out there: the bytes copied here are the ones before it.
  tee.status = res.statusCode
  const headers = res.getHeaders()
  if (headers['content-encoding'] !== encoding) {
    if (encoding === undefined) delete headers['content-encoding']
    else headers['content-encoding'] = String(encoding)
  }
  tee.headers = headers
  return out
}

function writeHook(res: ServerResponse, tee: Tee, prev: Prev, args: unknown[]): unknown {
  readSource(res, tee)
  keep(tee, args[0], typeof args[1] === 'string' ? args[1] : undefined)
  return prev.apply(res, args)
}

/**
 * `captureResponse(res, limit, onHeaders, onDone)` tees the body of a response while it
 * streams to the client. `onHeaders` runs just before the head goes out (after the handler
 * set its headers) and says whether to keep copying; copying also stops once the body passes
 * `limit`. `onDone` receives the copy when the response finished completely, and `null` when
 * it was aborted or torn down after an error — so a half-sent response is never stored.
 * One capture per cache instance: its hooks live on the app's response prototype.
 */
export function createCapture(retained = true): CaptureResponse {
  const hook = createResponseHook<Tee>({ writeHead: writeHeadHook, write: writeHook, end: writeHook })

  // Node emits 'close' after 'finish' for a response that went out completely, and 'close'
  // alone for one that was aborted or torn down: one shared listener tells them apart.
  function onClose(this: ServerResponse): void {
    const tee = hook.stateOf(this)
    if (tee === undefined) return
    hook.release(this)
    tee.onDone(
      writableFinished(this) && tee.fired && tee.chunks !== null
        ? { status: tee.status, headers: tee.headers, body: joinChunks(tee.chunks, tee.size, retained) }
        : null,
    )
  }

  return function captureResponse(res, limit, onHeaders, onDone) {
    hook.attach(res, {
      chunks: [],
      size: 0,
      fired: false,
      status: 0,
      headers: {},
      sourceEncoding: undefined,
      sourceRead: false,
      limit,
      onHeaders,
      onDone,
    })
    res.on('close', onClose)
  }
}
