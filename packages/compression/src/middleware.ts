import type { ServerResponse } from 'node:http'
import { createLogger, routeOf } from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import { createDecider, isEncoding } from './decide'
import { applyWriteHeadArgs, chunkLength, declaredLength, type Fn, methodsOf, weakenETag } from './headers'
import { resolveOptions } from './options'
import { createRecorder } from './stats'
import { createStreamer } from './stream'
import type { CompressionMiddleware, CompressionOptions } from './types'

/** Per-request state: the methods the response had before this instance hooked it. */
interface State {
  readonly req: Request
  readonly write: Fn
  readonly end: Fn
  readonly writeHead: Fn
  /** Decided: every later call goes straight to the previous methods. */
  done: boolean
  /** Uncompressed bytes of a streamed response sent as is (to spot large ones). */
  bytesIn: number
}

type Res = ServerResponse & Record<symbol, State | undefined>

function flushNoop(): void {
  // Nothing is buffered when the response is not compressed; `res.flush()` must still work.
}

/**
 * `compression(options)`: br/gzip/deflate for Express. The decision is made late, just
 * before the headers go out, after the route has set its own. A body that arrives in one
 * `res.end`/`res.send` below `syncThreshold` is compressed with one synchronous zlib call;
 * any other compressed response is streamed by the `compression` package, installed only
 * on the responses that need it.
 */
export function createCompression(options?: Readonly<CompressionOptions>): CompressionMiddleware {
  const config = resolveOptions(options)
  const log = createLogger(config.logger)
  const recorder = createRecorder(config.threshold, config.encodings)
  const decider = createDecider(config, log)
  const streamer = createStreamer(config, recorder)
  const { threshold, syncThreshold } = config
  const kState = Symbol('hotpath.compression')
  /**
   * The response whose previous methods this instance is calling right now. Node's `write`
   * and `end` call `this.writeHead` internally; those re-entrant calls must pass through.
   */
  let inside: ServerResponse | null = null

  const callPrev = (res: ServerResponse, fn: Fn, args: ArrayLike<unknown>): unknown => {
    const outer = inside
    inside = res
    try {
      return fn.apply(res, args as unknown[])
    } finally {
      inside = outer
    }
  }

  const stateOf = (res: ServerResponse): State => (res as Res)[kState] as State

  const passThrough = (res: ServerResponse, state: State): boolean =>
    state.done || inside === res || res.headersSent

  /** A body that arrives whole: skip, compress in one call, or hand a large one to the stream. */
  function end(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    const state = stateOf(this)
    if (passThrough(this, state)) return state.end.call(this, chunk, enc, cb)
    state.done = true
    if (typeof chunk === 'function') {
      cb = chunk
      chunk = undefined
    } else if (typeof enc === 'function') {
      cb = enc
      enc = undefined
    }
    const length = chunkLength(chunk, enc)
    const outcome = decider.classify(state.req, this, length)
    if (!isEncoding(outcome)) {
      recorder.skipped(outcome)
      if (length >= threshold && decider.missedSaving(outcome, this))
        recorder.uncompressedLarge(routeOf(state.req))
      return callPrev(this, state.end, [chunk, enc, cb])
    }
    if (length >= syncThreshold) {
      streamer.install(this, state, outcome)
      return methodsOf(this).end.call(this, chunk, enc, cb)
    }
    let body: Buffer
    const started = performance.now()
    try {
      body = decider.compressSync(outcome, chunk, enc)
    } catch (err) {
      log.errorOnce('ERR_HOTPATH_COMPRESSION_FAILED', 'zlib failed; the response was sent uncompressed.', err)
      return callPrev(this, state.end, [chunk, enc, cb])
    }
    recorder.compressed(outcome, routeOf(state.req), length, body.length, performance.now() - started)
    this.setHeader('Content-Encoding', outcome)
    this.setHeader('Content-Length', body.length)
    weakenETag(this)
    return callPrev(this, state.end, [body, undefined, cb])
  }

  /**
   * Headers are about to go out with the body length unknown (a first `write`, an explicit
   * `writeHead`, `flushHeaders`). Returns true when new methods were installed on `res`.
   */
  const decideStream = (res: ServerResponse, state: State): boolean => {
    state.done = true
    const m = methodsOf(res)
    if (m.flush === undefined) m.flush = flushNoop
    const length = declaredLength(res)
    const outcome = decider.classify(state.req, res, length)
    if (isEncoding(outcome)) {
      streamer.install(res, state, outcome)
      return true
    }
    recorder.skipped(outcome)
    if (!decider.missedSaving(outcome, res)) return false
    if (length !== undefined) {
      if (length >= threshold) recorder.uncompressedLarge(routeOf(state.req))
      return false
    }
    m.write = countingWrite
    m.end = countingEnd
    m.writeHead = state.writeHead
    return true
  }

  function write(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    const state = stateOf(this)
    if (passThrough(this, state)) return state.write.call(this, chunk, enc, cb)
    return decideStream(this, state)
      ? methodsOf(this).write.call(this, chunk, enc, cb)
      : callPrev(this, state.write, [chunk, enc, cb])
  }

  function writeHead(this: ServerResponse, ...args: unknown[]): unknown {
    const state = stateOf(this)
    if (passThrough(this, state)) return state.writeHead.apply(this, args)
    const rest = applyWriteHeadArgs(this, args)
    return decideStream(this, state)
      ? methodsOf(this).writeHead.apply(this, rest)
      : callPrev(this, state.writeHead, rest)
  }

  /** A streamed response sent as is, of unknown length: counted to learn whether it was large. */
  function countingWrite(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    const state = stateOf(this)
    state.bytesIn += chunkLength(chunk, enc)
    return state.write.call(this, chunk, enc, cb)
  }

  function countingEnd(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    const state = stateOf(this)
    if (state.bytesIn >= 0) {
      const total = state.bytesIn + chunkLength(chunk, enc)
      if (total >= threshold) recorder.uncompressedLarge(routeOf(state.req))
      state.bytesIn = -1
    }
    return state.end.call(this, chunk, enc, cb)
  }

  const middleware = function compression(req: Request, res: Response, next: NextFunction): void {
    const m = methodsOf(res)
    ;(res as unknown as Res)[kState] = {
      req,
      write: m.write,
      end: m.end,
      writeHead: m.writeHead,
      done: false,
      bytesIn: 0,
    }
    m.end = end
    m.write = write
    m.writeHead = writeHead
    next()
  } as unknown as CompressionMiddleware

  Object.defineProperties(middleware, {
    stats: { value: recorder.snapshot, enumerable: true },
    reset: { value: recorder.reset, enumerable: true },
  })
  return middleware
}
