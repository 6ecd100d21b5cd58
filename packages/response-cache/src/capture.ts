import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import {
  createResponseHook,
  getHeader,
  getHeaders,
  onResponse,
  setHeader,
  writableFinished,
} from '@hotpath/core'

/** A response body as it went out, with the status and headers it had. */
export interface Captured {
  readonly status: number
  readonly headers: OutgoingHttpHeaders
  readonly body: Buffer
  /** When the capture began (the cache's clock): an invalidation after it outdates the body. */
  readonly startedAt?: number
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
  /** An `end` reached this layer's current hooks: the body is complete as far as it can tell. */
  ended: boolean
  /** Calls of this layer's body hooks now on the stack (a nested call passes through). */
  depth: number
  /**
   * Which of this layer's hooks copy bytes: 0 for the first ones, one more each time a layer
   * below replaced `write`/`end` on the response while a call was inside it (see `adopt`);
   * -1 once the response closed.
   */
  gen: number
  status: number
  headers: OutgoingHttpHeaders
  /** The Content-Encoding of the bytes copied here (see `readSource`). */
  sourceEncoding: ReturnType<ServerResponse['getHeader']>
  /** The Content-Length the bytes copied here were declared with, if any. */
  declared: number | undefined
  sourceRead: boolean
  /** The body size past which copying stops (a function: a later `cache.route()` may change it). */
  readonly limit: number | (() => number)
  readonly startedAt: number
  readonly onHeaders: () => boolean
  /** The headers as the head went out, when the caller already read them then (else read back). */
  readonly sent: () => OutgoingHttpHeaders | undefined
  readonly onDone: (captured: Captured | null) => void
  readonly release: (res: ServerResponse) => void
}

export type CaptureResponse = (
  res: ServerResponse,
  limit: number | (() => number),
  onHeaders: () => boolean,
  onDone: (captured: Captured | null) => void,
  sent?: () => OutgoingHttpHeaders | undefined,
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
  tee.sourceEncoding = getHeader(res, 'content-encoding')
  tee.declared = declaredLength(getHeader(res, 'content-length'))
}

/** A Content-Length value as a byte count; `undefined` when absent or not a valid length. */
export function declaredLength(value: unknown): number | undefined {
  if (value === undefined) return undefined
  const n = Number(Array.isArray(value) ? value[0] : value)
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined
}

/**
 * Whether a captured body is shorter (or longer) than the `Content-Length` it went out with:
 * RFC 9111 §3.4 — a cache must not treat such a response as complete. 204 and 304 carry no body.
 */
export function cutShort(captured: Captured): boolean {
  if (captured.status === 204 || captured.status === 304) return false
  const declared = declaredLength(captured.headers['content-length'])
  return declared !== undefined && declared !== captured.body.length
}

function keep(tee: Tee, chunk: unknown, encoding: unknown): void {
  if (tee.chunks === null || chunk === undefined || chunk === null || typeof chunk === 'function') return
  const buffer = toBuffer(chunk as Chunk, encoding)
  tee.size += buffer.length
  if (tee.size > (typeof tee.limit === 'number' ? tee.limit : tee.limit())) tee.chunks = null
  else if (buffer.length > 0) tee.chunks.push(buffer)
}

function writeHeadHook(res: ServerResponse, tee: Tee, prev: Prev, args: unknown[]): unknown {
  if (tee.fired || tee.gen < 0) return prev.apply(res, args)
  tee.fired = true
  // Headers passed to writeHead are moved into the header store so the policy sees them.
  const last = args.length > 1 ? args[args.length - 1] : undefined
  if (last !== null && typeof last === 'object' && !Array.isArray(last)) {
    for (const [name, value] of Object.entries(last as OutgoingHttpHeaders)) {
      if (value !== undefined) setHeader(res, name, value)
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
  if (tee.chunks === null) {
    // Nothing of this response will be stored: the capture ends here, before the head goes
    // out, and its body passes straight through.
    finish(res, tee, null)
    return prev.apply(res, args)
  }
  const encoding = tee.sourceEncoding
  const out = callBelow(res, tee, prev, args)
  // Read back after the head went out: header hooks of middleware mounted before the
  // cache (cache-control, compression) have run by now, and what they set is stored —
  // except a Content-Encoding added out there: the bytes copied here are the ones before it.
  tee.status = res.statusCode
  // The same for Content-Length: compression out there sets its own, or removes it.
  const headers = tee.sent() ?? getHeaders(res)
  if (headers['content-encoding'] !== encoding) {
    if (encoding === undefined) delete headers['content-encoding']
    else headers['content-encoding'] = String(encoding)
  }
  if (tee.declared === undefined) delete headers['content-length']
  else headers['content-length'] = tee.declared
  tee.headers = headers
  return out
}

/** Ends the capture of `res` (its state released, its hooks passing through) with what it got. */
function finish(res: ServerResponse, tee: Tee, captured: Captured | null): void {
  tee.release(res)
  tee.gen = -1
  tee.onDone(captured)
}

const BODY_METHODS = ['write', 'end', 'writeHead'] as const
type Own = Record<(typeof BODY_METHODS)[number], Prev>

/** The response's own `write`/`end`/`writeHead` (own properties only: no prototype-chain read). */
function ownMethods(res: ServerResponse): [Prev | undefined, Prev | undefined, Prev | undefined] {
  const own = res as unknown as Own
  return [
    Object.hasOwn(own, 'write') ? own.write : undefined,
    Object.hasOwn(own, 'end') ? own.end : undefined,
    Object.hasOwn(own, 'writeHead') ? own.writeHead : undefined,
  ]
}

/**
 * Calls the method below this layer. A layer mounted before the cache (whose hooks run inside
 * these) may replace `write`/`end` on the response itself during that call — compression does
 * at the first write — and later chunks would then bypass the copy: the cache stored the first
 * chunk as the whole body. When that happens the new methods are wrapped at once (`adopt`).
 */
function callBelow(res: ServerResponse, tee: Tee, prev: Prev, args: unknown[]): unknown {
  const before = ownMethods(res)
  tee.depth++
  let out: unknown
  try {
    out = prev.apply(res, args)
  } finally {
    tee.depth--
  }
  if (tee.gen >= 0) {
    const after = ownMethods(res)
    if (after[0] !== before[0] || after[1] !== before[1] || after[2] !== before[2]) adopt(res, tee)
  }
  return out
}

/**
 * Wraps the response's current `write`/`end`/`writeHead` on the response itself, as the copy's
 * new generation: from now on only these wrappers copy bytes, so a chunk that still reaches an
 * older hook (the prototype's, through the replaced methods) is never copied twice.
 */
function adopt(res: ServerResponse, tee: Tee): void {
  const gen = ++tee.gen
  const own = res as unknown as Own
  const write = own.write
  const end = own.end
  const writeHead = own.writeHead
  own.write = function hotpathCacheWrite(this: ServerResponse, ...args: unknown[]) {
    return bodyHook(this, tee, write, args, gen, false)
  }
  own.end = function hotpathCacheEnd(this: ServerResponse, ...args: unknown[]) {
    return bodyHook(this, tee, end, args, gen, true)
  }
  own.writeHead = function hotpathCacheWriteHead(this: ServerResponse, ...args: unknown[]) {
    return writeHeadHook(this, tee, writeHead, args)
  }
}

function bodyHook(res: ServerResponse, tee: Tee, prev: Prev, args: unknown[], gen: number, end: boolean) {
  if (tee.depth > 0 || gen !== tee.gen) return prev.apply(res, args)
  readSource(res, tee)
  keep(tee, args[0], typeof args[1] === 'string' ? args[1] : undefined)
  if (end) tee.ended = true
  return callBelow(res, tee, prev, args)
}

function writeHook(res: ServerResponse, tee: Tee, prev: Prev, args: unknown[]): unknown {
  return bodyHook(res, tee, prev, args, 0, false)
}

function endHook(res: ServerResponse, tee: Tee, prev: Prev, args: unknown[]): unknown {
  return bodyHook(res, tee, prev, args, 0, true)
}

/**
 * `captureResponse(res, limit, onHeaders, onDone)` tees the body of a response while it
 * streams to the client. `onHeaders` runs just before the head goes out (after the handler
 * set its headers) and says whether to keep copying; copying also stops once the body passes
 * `limit`. `onDone` receives the copy when the response finished completely, and `null` when
 * it was aborted or torn down after an error — so a half-sent response is never stored — or,
 * at once and inside `writeHead`, when the head says nothing will be stored. `sent` may hand
 * over the headers the caller read as the head went out, saving a second read.
 * One capture per cache instance: its hooks live on the app's response prototype.
 */
export function createCapture(retained = true, now: () => number = Date.now): CaptureResponse {
  const hook = createResponseHook<Tee>({ writeHead: writeHeadHook, write: writeHook, end: endHook })

  // Node emits 'close' after 'finish' for a response that went out completely, and 'close'
  // alone for one that was aborted or torn down: one shared listener tells them apart.
  function onClose(this: ServerResponse): void {
    const tee = hook.stateOf(this)
    if (tee === undefined) return
    // Stored only when this layer saw the end and every byte the head declared.
    const whole =
      writableFinished(this) &&
      tee.fired &&
      tee.ended &&
      tee.chunks !== null &&
      (tee.declared === undefined || tee.declared === tee.size || tee.status === 204 || tee.status === 304)
    finish(
      this,
      tee,
      whole
        ? {
            status: tee.status,
            headers: tee.headers,
            body: joinChunks(tee.chunks as Buffer[], tee.size, retained),
            startedAt: tee.startedAt,
          }
        : null,
    )
  }
  const noHeaders = (): undefined => undefined

  return function captureResponse(res, limit, onHeaders, onDone, sent = noHeaders) {
    // A second capture of one response (a `cache.route()` layer taking over from the instance's
    // `app.use` layer): the first one is over, and told so, so whatever waits on it moves on.
    const previous = hook.stateOf(res)
    if (previous !== undefined) {
      previous.gen = -1
      previous.onDone(null)
    }
    hook.attach(res, {
      chunks: [],
      size: 0,
      fired: false,
      ended: false,
      depth: 0,
      gen: 0,
      status: 0,
      headers: {},
      sourceEncoding: undefined,
      declared: undefined,
      sourceRead: false,
      limit,
      startedAt: now(),
      onHeaders,
      sent,
      onDone,
      release: hook.release,
    })
    if (previous === undefined) onResponse(res, 'close', onClose)
  }
}
