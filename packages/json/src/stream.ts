import type { ServerResponse } from 'node:http'
import { getHeader, HotpathError, headersSent, type OnceLogger, setHeader } from '@hotpath/core'
import type { Serializer } from './schema'
import type { StreamOptions, StreamResult } from './types'

/** What a stream needs from its `fields()` instance (or from the standalone defaults). */
export interface StreamContext {
  readonly log: OnceLogger
  readonly chunkSize: number
  /** The serializer of one item, or `undefined` for mask + `JSON.stringify`. */
  serializerFor(options: Readonly<StreamOptions>): Serializer | undefined
  record(res: ServerResponse, result: StreamResult): void
}

/** A failed compressed stream waits at most this long for its last bytes to leave zlib. */
const CUT_WAIT_MS = 1000
const CUT_POLL_MS = 10
/** Items waiting this long for their chunk to fill are written anyway. */
const IDLE_FLUSH_MS = 50
/** A synchronous source yields to the event loop after this many chunks (I/O and disconnects). */
const CHUNKS_PER_TURN = 8

interface Pull {
  /** The next item, `DONE` at the end; may throw (synchronous) or reject (asynchronous). */
  next(): unknown
  close(): void
}
const DONE: unique symbol = Symbol('done')

function pullFrom(source: unknown): Pull {
  const s = source as {
    [Symbol.asyncIterator]?: () => AsyncIterator<unknown>
    [Symbol.iterator]?: () => Iterator<unknown>
    destroy?: () => void
    destroyed?: boolean
  } | null
  let closed = false
  const closeSource = (it: { return?: () => unknown }) => {
    if (closed) return
    closed = true
    try {
      // A Readable (pg-query-stream, knex .stream()) is destroyed: that closes its cursor.
      if (typeof s?.destroy === 'function' && s.destroyed !== true) s.destroy()
      const out = it.return?.()
      if (out && typeof (out as Promise<unknown>).then === 'function')
        (out as Promise<unknown>).then(undefined, () => {})
    } catch {
      // Closing is best effort; the response has already been settled.
    }
  }
  const asyncIterator = s?.[Symbol.asyncIterator]
  const syncIterator = s?.[Symbol.iterator]
  if (typeof asyncIterator === 'function') {
    const it = asyncIterator.call(s)
    return {
      next: () => it.next().then((r) => (r.done ? DONE : r.value)),
      close: () => closeSource(it),
    }
  }
  if (typeof syncIterator === 'function' && typeof source !== 'string') {
    const it = syncIterator.call(s)
    return {
      next: () => {
        const r = it.next()
        return r.done ? DONE : r.value
      },
      close: () => closeSource(it),
    }
  }
  throw new HotpathError(
    'ERR_HOTPATH_STREAM_SOURCE',
    '@hotpath/json: stream() takes an async iterable, an object-mode Readable or an iterable (an array, better-sqlite3 .iterate()).',
  )
}

function isThenable(value: unknown): value is Promise<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as Promise<unknown>).then === 'function'
}

/**
 * Ends a response whose body failed half-way so that the client, and every cache on the way,
 * can tell: the bytes written so far (and `tail`) leave through any compressor, then the
 * connection is closed without the last chunk of the chunked coding (RFC 9112 §7.1), which
 * a client sees as an incomplete message and `@hotpath/response-cache` never stores.
 */
function cut(res: ServerResponse, tail: string): void {
  let done = false
  let timer: NodeJS.Timeout | undefined
  const socket = res.socket
  const finish = () => {
    if (done) return
    done = true
    if (timer !== undefined) clearTimeout(timer)
    // end(): what is queued on the socket still goes out, then FIN; never the last chunk.
    if (socket && !socket.destroyed) socket.end(() => socket.destroy())
    else res.destroy()
  }
  // Through a compressor the write callback only says the bytes reached zlib, not the socket.
  const compressed = getHeader(res, 'content-encoding') !== undefined
  const before = socket?.bytesWritten ?? 0
  try {
    if (tail) res.write(tail, compressed ? undefined : finish)
    const flush = (res as { flush?: () => void }).flush
    if (typeof flush === 'function') flush.call(res)
  } catch {
    finish()
    return
  }
  if (!compressed) {
    // The write callback says the tail reached the socket; a layer that drops callbacks gets the wait.
    if (!tail) finish()
    else timer = setTimeout(finish, CUT_WAIT_MS)
    return
  }
  // zlib flushes off the main thread: cut once its output has reached the socket (bytes
  // written grew, then held still for one poll), or after CUT_WAIT_MS whatever happened.
  let last = before
  let waited = 0
  const poll = () => {
    const now = socket?.bytesWritten ?? 0
    waited += CUT_POLL_MS
    if ((now > before && now === last) || waited >= CUT_WAIT_MS || !socket) finish()
    else {
      last = now
      timer = setTimeout(poll, CUT_POLL_MS)
    }
  }
  timer = setTimeout(poll, CUT_POLL_MS)
}

function errorLine(items: number): string {
  return `${JSON.stringify({
    error: {
      code: 'ERR_HOTPATH_STREAM_FAILED',
      message: `the stream failed after ${items} items; the response is incomplete`,
    },
  })}\n`
}

/**
 * Writes `source` to `res` as a JSON array or as NDJSON lines, in chunks of about
 * `chunkSize` characters, waiting for `drain` when the client reads slower than the source
 * produces. Never rejects: the result says how it ended.
 */
export function runStream(
  res: ServerResponse,
  source: unknown,
  options: Readonly<StreamOptions>,
  ctx: StreamContext,
): Promise<StreamResult> {
  const ndjson = options.format === 'ndjson'
  const chunkSize = options.chunkSize ?? ctx.chunkSize
  const result: StreamResult = { items: 0, bytes: 0, completed: false, aborted: false }
  // A wrong source or an item schema that does not compile is a programming error: thrown now.
  const pull = pullFrom(source)
  const compiled = ctx.serializerFor(options)
  const fields = options.fields
  const serialize: Serializer =
    compiled ??
    (fields !== undefined && typeof fields !== 'string' && fields.active
      ? (item: unknown) => JSON.stringify(fields.apply(item)) ?? 'null'
      : (item: unknown) => JSON.stringify(item) ?? 'null')

  let waiting: (() => void) | undefined
  let closed = false
  const wake = () => {
    const w = waiting
    waiting = undefined
    w?.()
  }
  // One `drain` listener for the whole stream, added after the first write: a compressor set up
  // as the head goes out routes `drain` to its own stream, where a per-wait `once` would leak.
  let draining = false
  res.on('close', () => {
    closed = true
    // A client that went away stops the source now, even one waiting on its database.
    if (!result.completed) pull.close()
    wake()
  })

  const start = () => {
    if (headersSent(res)) return
    if (options.status !== undefined) res.statusCode = options.status
    if (getHeader(res, 'content-type') === undefined) {
      setHeader(
        res,
        'Content-Type',
        ndjson ? 'application/x-ndjson; charset=utf-8' : 'application/json; charset=utf-8',
      )
    }
  }

  let pending = ''
  // Items of a slow source are not held back waiting for a full chunk.
  let idle: NodeJS.Timeout | undefined
  const onIdle = () => {
    idle = undefined
    if (pending !== '' && !closed && !result.completed && result.error === undefined) write()
  }
  /** Writes what is pending; false when the client's buffer is full. */
  const write = (): boolean => {
    if (idle !== undefined) {
      clearTimeout(idle)
      idle = undefined
    }
    const text = pending
    pending = ''
    result.bytes += Buffer.byteLength(text)
    const ok = res.write(text)
    if (!draining) {
      draining = true
      res.on('drain', wake)
    }
    // Every chunk leaves a compressor as it is written (about chunkSize characters at a time):
    // the first one sets the time to first byte, and a slow source is never held back.
    ;(res as { flush?: () => void }).flush?.()
    return ok
  }

  const loop = async (): Promise<StreamResult> => {
    let turn = 0
    for (;;) {
      let item = pull.next()
      if (isThenable(item)) item = await item
      if (closed) break
      if (item === DONE) break
      const text = serialize(item)
      if (result.items === 0) {
        start()
        pending = ndjson ? `${text}\n` : `[${text}`
      } else pending += ndjson ? `${text}\n` : `,${text}`
      result.items++
      if (pending.length >= chunkSize || result.items === 1) {
        if (!write()) await new Promise<void>((resolve) => (waiting = resolve))
        // Node corks the socket on a response's first write until the next tick: the first item
        // leaves only once this loop yields, so it yields right after it (time to first byte),
        // instead of after CHUNKS_PER_TURN more chunks were built.
        else if (result.items === 1 || ++turn >= CHUNKS_PER_TURN) {
          turn = 0
          await new Promise<void>((resolve) => setImmediate(resolve))
        }
        if (closed) break
      } else if (idle === undefined) idle = setTimeout(onIdle, IDLE_FLUSH_MS)
    }
    if (idle !== undefined) clearTimeout(idle)
    if (closed) {
      result.aborted = true
      pull.close()
      return result
    }
    if (result.items === 0) {
      start()
      pending = ndjson ? '' : '[]'
    } else if (!ndjson) pending += ']'
    result.bytes += Buffer.byteLength(pending)
    result.completed = true
    res.end(pending)
    return result
  }

  // A HEAD response carries no body (RFC 9110 §9.3.2): the headers a GET would get, no query run.
  if ((res as { req?: { method?: string } }).req?.method === 'HEAD') {
    start()
    pull.close()
    result.completed = true
    res.end()
    ctx.record(res, result)
    return Promise.resolve(result)
  }
  return loop()
    .catch((error: unknown) => {
      if (idle !== undefined) clearTimeout(idle)
      result.error = error
      pull.close()
      if (closed) {
        result.aborted = true
        return result
      }
      if (result.items === 0 && !headersSent(res)) return failEarly(res, error, result, ctx.log)
      const route = (res as { req?: { originalUrl?: string } }).req?.originalUrl ?? ''
      ctx.log.error(
        `@hotpath/json: the stream of ${route} failed after ${result.items} items (${(error as Error)?.message ?? error}); the body was cut ${ndjson ? 'after an error line' : 'mid-array'}.`,
      )
      const tail = ndjson ? pending + errorLine(result.items) : pending
      result.bytes += Buffer.byteLength(tail)
      cut(res, tail)
      return result
    })
    .then((done) => {
      ctx.record(res, done)
      return done
    })
}

/** A source that failed before the first item: nothing went out yet, so a plain 500. */
function failEarly(res: ServerResponse, error: unknown, result: StreamResult, log: OnceLogger): StreamResult {
  log.error(`@hotpath/json: the stream failed before its first item (${(error as Error)?.message ?? error}).`)
  try {
    if (!headersSent(res)) {
      res.statusCode = 500
      setHeader(res, 'Content-Type', 'application/json; charset=utf-8')
      setHeader(res, 'Cache-Control', 'no-store')
      res.end(
        JSON.stringify({
          error: { code: 'ERR_HOTPATH_STREAM_FAILED', message: 'the response could not be produced' },
        }),
      )
    } else res.destroy()
  } catch {
    res.destroy()
  }
  return result
}
