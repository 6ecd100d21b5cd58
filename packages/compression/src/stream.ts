import type { ServerResponse } from 'node:http'
import zlib from 'node:zlib'
import { getHeader, type OnceLogger, routeOf } from '@hotpath/core'
import compressionPackage from 'compression'
import type { Request, Response } from 'express'
import { chunkLength, type Fn, isEventStream, methodsOf, weakenETag } from './headers'
import type { Config } from './options'
import type { Recorder } from './stats'
import type { Encoding } from './types'

/** The part of the per-request state the streaming path needs (see `State` in middleware.ts). */
export interface BaseState {
  readonly req: Request
  readonly write: Fn
  readonly end: Fn
  readonly writeHead: Fn
}

/** A compressed stream's counters: lengths only, bodies are never copied. */
interface StreamState {
  readonly base: BaseState
  readonly encoding: Encoding
  readonly flushEach: boolean
  bytesIn: number
  bytesOut: number
  inputEndedAt: number
  finished: boolean
  upperWrite: Fn
  upperEnd: Fn
}

export interface Streamer {
  /** Hands `res` to the `compression` package for `encoding`, with counting on both sides of it. */
  install(res: ServerResponse, base: BaseState, encoding: Encoding): void
  /**
   * Compresses a body that arrived whole in one `res.end`, `length` bytes, whose headers already
   * went out with `Content-Encoding: encoding`: one zlib stream is fed the body once and its
   * output is written to `res` as it comes, then `res` is ended (with `cb`).
   */
  sendWhole(
    res: ServerResponse,
    base: BaseState,
    encoding: Encoding,
    body: Uint8Array,
    length: number,
    cb: unknown,
  ): void
  /** Whether `res` is waiting for the compressed form of a whole body: the app has ended it. */
  sendingWhole(res: ServerResponse): boolean
}

function noop(): void {}

/**
 * The streaming path: the `compression` package does negotiation-free streaming here (it is
 * given a request that accepts exactly the coding already chosen), handles backpressure
 * (`drain`), `res.flush()`, and destroys the zlib stream when the response closes early.
 * Around it sit two thin layers: one above counts bytes in, one below counts bytes out.
 *
 * A large body that arrives whole in one `res.end` has none of that to handle (no later write,
 * nothing to flush), so it skips both the package and the layers, which per response add five
 * properties to `res` (each copies its hidden class, see hooking.ts) and reassign four, wrap
 * `writeHead` and make a dozen closures: on a 100 KB JSON response that made this middleware
 * cost about 4% more CPU than the package alone, all of it on the main thread, for the same zlib
 * work (measured in process against the package; `npm run bench -- compression-100k-gzip` checks it). `sendWhole` feeds the body to one zlib stream made with the
 * package's options and writes its output chunks as the package does: the same bytes on the wire.
 */
export function createStreamer(config: Readonly<Config>, recorder: Recorder, log: OnceLogger): Streamer {
  // A WeakMap, not a property: adding a property to an Express response copies its map.
  const streams = new WeakMap<ServerResponse, StreamState>()
  const wholes = new WeakSet<ServerResponse>()
  const brotliOptions: zlib.BrotliOptions = config.brotli
  const zlibOptions: zlib.ZlibOptions = { ...config.zlib, level: config.level }
  const delegate = compressionPackage({
    ...zlibOptions,
    threshold: 0,
    filter: () => true,
    brotli: brotliOptions,
  })
  // compression reads only `method` and `headers['accept-encoding']` from the request.
  const requests = new Map<Encoding, Request>(
    config.encodings.map((e) => [
      e,
      { method: 'GET', headers: { 'accept-encoding': e } } as unknown as Request,
    ]),
  )

  function upperWrite(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    const s = streams.get(this) as StreamState
    if (typeof enc === 'function') {
      cb = enc
      enc = undefined
    }
    s.bytesIn += chunkLength(chunk, enc)
    const ok = s.upperWrite.call(this, chunk, enc)
    // Server-sent events must reach the client one by one, not when zlib's buffer fills.
    if (s.flushEach) methodsOf(this).flush?.()
    // compression drops write callbacks; call it once the chunk is queued.
    if (typeof cb === 'function') process.nextTick(cb as () => void)
    return ok
  }

  function upperEnd(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    const s = streams.get(this) as StreamState
    if (typeof chunk === 'function') {
      cb = chunk
      chunk = undefined
    } else if (typeof enc === 'function') {
      cb = enc
      enc = undefined
    }
    if (s.inputEndedAt === 0) {
      s.bytesIn += chunkLength(chunk, enc)
      s.inputEndedAt = performance.now()
    }
    if (typeof cb === 'function') this.once('finish', cb as () => void)
    if (chunk === undefined || chunk === null) s.upperEnd.call(this)
    else s.upperEnd.call(this, chunk, enc)
    return this
  }

  function lowerWrite(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    const s = streams.get(this) as StreamState
    s.bytesOut += chunkLength(chunk, enc)
    return s.base.write.call(this, chunk, enc, cb)
  }

  function lowerEnd(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    const s = streams.get(this) as StreamState
    s.bytesOut += chunkLength(chunk, enc)
    if (!s.finished) {
      s.finished = true
      // compression falls back to identity when the client left before the stream existed.
      if (getHeader(this, 'Content-Encoding') === s.encoding) {
        const ms = s.inputEndedAt === 0 ? 0 : performance.now() - s.inputEndedAt
        recorder.compressed(s.encoding, routeOf(s.base.req), s.bytesIn, s.bytesOut, ms)
      }
    }
    return s.base.end.call(this, chunk, enc, cb)
  }

  function onClose(this: ServerResponse): void {
    const s = streams.get(this) as StreamState
    if (!s.finished) {
      s.finished = true
      recorder.aborted()
    }
  }

  /** The zlib stream the `compression` package would make for `encoding`, with the same options. */
  const createStream = (encoding: Encoding): zlib.Gzip | zlib.BrotliCompress | zlib.Deflate =>
    encoding === 'br'
      ? zlib.createBrotliCompress(brotliOptions)
      : encoding === 'gzip'
        ? zlib.createGzip(zlibOptions)
        : zlib.createDeflate(zlibOptions)

  return {
    sendWhole(res, base, encoding, body, length, cb) {
      wholes.add(res)
      const stream = createStream(encoding)
      const started = performance.now()
      let bytesOut = 0
      let finished = false
      const resume = (): void => {
        stream.resume()
      }
      stream.on('data', (chunk: Buffer) => {
        bytesOut += chunk.length
        // Backpressure: a client that stops reading stops zlib's output, as in the package.
        if (base.write.call(res, chunk) === false) {
          stream.pause()
          res.once('drain', resume)
        }
      })
      stream.on('end', () => {
        if (finished) return
        finished = true
        recorder.compressed(encoding, routeOf(base.req), length, bytesOut, performance.now() - started)
        base.end.call(res, undefined, undefined, cb)
      })
      stream.on('error', (err: Error) => {
        if (finished) return
        finished = true
        log.errorOnce(
          'ERR_HOTPATH_COMPRESSION_FAILED',
          'zlib failed after the headers went out; the response was cut short.',
          err,
        )
        res.destroy()
      })
      res.on('close', () => {
        if (finished) return
        finished = true
        stream.destroy()
        recorder.aborted()
      })
      stream.end(body)
    },

    sendingWhole(res) {
      return wholes.has(res)
    },

    install(res, base, encoding) {
      weakenETag(res)
      const s: StreamState = {
        base,
        encoding,
        flushEach: config.flushEventStream && isEventStream(res),
        bytesIn: 0,
        bytesOut: 0,
        inputEndedAt: 0,
        finished: false,
        upperWrite: base.write,
        upperEnd: base.end,
      }
      streams.set(res, s)
      // compression wraps whatever `writeHead` is there: the hooks pass decided responses through.
      methodsOf(res).write = lowerWrite
      methodsOf(res).end = lowerEnd
      res.once('close', onClose)
      delegate(requests.get(encoding) as Request, res as unknown as Response, noop)
      s.upperWrite = methodsOf(res).write
      s.upperEnd = methodsOf(res).end
      methodsOf(res).write = upperWrite
      methodsOf(res).end = upperEnd
    },
  }
}
