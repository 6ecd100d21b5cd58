import type { ServerResponse } from 'node:http'
import {
  createLogger,
  createPrototypeCheck,
  headersSent,
  removeHeader,
  routeOf,
  setHeader,
} from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import { createDecider, isEncoding } from './decide'
import {
  applyWriteHeadArgs,
  chunkLength,
  declaredLength,
  type Fn,
  type Methods,
  methodsOf,
  weakenETag,
} from './headers'
import { hasPrototypeMethods } from './hooking'
import { registerMetrics } from './metrics'
import { resolveOptions } from './options'
import { createRecorder } from './stats'
import { createStreamer } from './stream'
import type { CompressionMiddleware, CompressionOptions, Encoding } from './types'

/** The methods a response had before this instance hooked it. */
interface Prev {
  readonly write: Fn
  readonly end: Fn
  readonly writeHead: Fn
}

/** What one response's hooks work with. */
interface State extends Prev {
  readonly req: Request
  /** Decided: every later call goes straight to the previous methods. */
  done: boolean
  /** Uncompressed bytes of a streamed response sent as is (to spot large ones). */
  bytesIn: number
}

interface Hooks {
  write: Fn
  end: Fn
  writeHead: Fn
}

type Res = ServerResponse & Record<symbol, State | undefined>

function flushNoop(): void {
  // Nothing is buffered when the response is not compressed; `res.flush()` must still work.
}

/**
 * `compression(options)`: br/gzip/deflate for Express. The decision is made late, just
 * before the headers go out, after the route has set its own. A body that arrives in one
 * `res.end`/`res.send` below `syncThreshold` is compressed with one synchronous zlib call, a
 * larger one by one zlib stream off the main thread (see `sendWhole` in stream.ts); any other
 * compressed response is streamed by the `compression` package, installed only on the
 * responses that need it.
 */
export function createCompression(options?: Readonly<CompressionOptions>): CompressionMiddleware {
  const config = resolveOptions(options)
  const log = createLogger(config.logger)
  const recorder = createRecorder(config.threshold, config.encodings)
  const decider = createDecider(config, log)
  const streamer = createStreamer(config, recorder, log)
  const { threshold, syncThreshold } = config
  const kState = Symbol('hotpath.compression')
  /**
   * The response whose previous methods this instance is calling right now. Node's `write`
   * and `end` call `this.writeHead` internally; those re-entrant calls must pass through.
   */
  let inside: ServerResponse | null = null
  /**
   * Responses that opted in to this instance's hooks on their app's response prototype. A
   * response leaves the set once it is handed to the `compression` package's stream or the
   * counting methods, so calls made through the prototype from then on go straight to the
   * previous methods. One whose body was sent whole stays: calls after its end are dropped.
   */
  const optedIn = new WeakSet<ServerResponse>()

  const callPrev = (res: ServerResponse, fn: Fn, args: ArrayLike<unknown>): unknown => {
    const outer = inside
    inside = res
    try {
      return fn.apply(res, args as unknown[])
    } finally {
      inside = outer
    }
  }

  const ownState = (res: ServerResponse): State => (res as Res)[kState] as State

  /**
   * A `write`/`end` after the response ended: Node would emit `ERR_STREAM_WRITE_AFTER_END` as an
   * `error` event nobody listens to, which kills the process. The `compression` package returns
   * `false` and carries on; so does this, for every response that went through these hooks.
   * Not for Node's own re-entrant calls, which never come after the end.
   */
  const afterEnd = (res: ServerResponse): boolean => inside !== res && res.writableEnded

  const passThrough = (res: ServerResponse, state: State): boolean =>
    state.done || inside === res || headersSent(res)

  /**
   * A body of `length` bytes (at least `syncThreshold`) that arrived whole: the headers go out
   * now, as they would from Node's own `end`, and zlib's output follows from its thread pool.
   */
  const sendWhole = (
    res: ServerResponse,
    state: State,
    encoding: Encoding,
    chunk: unknown,
    enc: unknown,
    cb: unknown,
    length: number,
  ): unknown => {
    // compression sends the body as is when the client left before it was ready; so does this.
    if (res.destroyed) return callPrev(res, state.end, [chunk, enc, cb])
    const body =
      typeof chunk === 'string'
        ? Buffer.from(chunk, typeof enc === 'string' ? (enc as BufferEncoding) : 'utf8')
        : (chunk as Uint8Array)
    setHeader(res, 'Content-Encoding', encoding)
    removeHeader(res, 'Content-Length')
    weakenETag(res)
    callPrev(res, methodsOf(res).writeHead, [res.statusCode])
    streamer.sendWhole(res, state, encoding, body, length, cb)
    return res
  }

  /**
   * Headers are about to go out with the body length unknown (a first `write`, an explicit
   * `writeHead`, `flushHeaders`). Returns true when new methods were installed on `res`.
   */
  const decideStream = (res: ServerResponse, state: State): boolean => {
    state.done = true
    optedIn.delete(res)
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
    ;(res as Res)[kState] = state
    m.write = countingWrite
    m.end = countingEnd
    return true
  }

  /**
   * The three hooks, reading each response's state through `stateOf`; a response without
   * state (not opted in) goes straight to `unhooked`.
   */
  const hooksFor = (stateOf: (res: ServerResponse) => State | undefined, unhooked?: Prev): Hooks => ({
    /** A body that arrives whole: skip, compress in one call, or hand a large one to the stream. */
    end(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
      const state = stateOf(this)
      if (state === undefined)
        return afterEnd(this) ? false : (unhooked as Prev).end.call(this, chunk, enc, cb)
      if (passThrough(this, state)) {
        // Ended already (or the compressed body still on its way): dropped, as compression does.
        return streamer.sendingWhole(this) || afterEnd(this) ? false : state.end.call(this, chunk, enc, cb)
      }
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
        if (length >= threshold && decider.missedSaving(outcome, this)) {
          recorder.uncompressedLarge(routeOf(state.req))
        }
        return callPrev(this, state.end, [chunk, enc, cb])
      }
      if (length >= syncThreshold) return sendWhole(this, state, outcome, chunk, enc, cb, length)
      let body: Buffer
      const started = performance.now()
      try {
        body = decider.compressSync(outcome, chunk, enc, length)
      } catch (err) {
        log.errorOnce(
          'ERR_HOTPATH_COMPRESSION_FAILED',
          'zlib failed; the response was sent uncompressed.',
          err,
        )
        return callPrev(this, state.end, [chunk, enc, cb])
      }
      recorder.compressed(outcome, routeOf(state.req), length, body.length, performance.now() - started)
      setHeader(this, 'Content-Encoding', outcome)
      setHeader(this, 'Content-Length', body.length)
      weakenETag(this)
      return callPrev(this, state.end, [body, undefined, cb])
    },

    write(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
      const state = stateOf(this)
      if (state === undefined)
        return afterEnd(this) ? false : (unhooked as Prev).write.call(this, chunk, enc, cb)
      if (passThrough(this, state)) {
        return streamer.sendingWhole(this) || afterEnd(this) ? false : state.write.call(this, chunk, enc, cb)
      }
      return decideStream(this, state)
        ? methodsOf(this).write.call(this, chunk, enc, cb)
        : callPrev(this, state.write, [chunk, enc, cb])
    },

    writeHead(this: ServerResponse, ...args: unknown[]): unknown {
      const state = stateOf(this)
      if (state === undefined) return (unhooked as Prev).writeHead.apply(this, args)
      if (passThrough(this, state)) return state.writeHead.apply(this, args)
      const rest = applyWriteHeadArgs(this, args)
      return decideStream(this, state)
        ? methodsOf(this).writeHead.apply(this, rest)
        : callPrev(this, state.writeHead, rest)
    },
  })

  /** A streamed response sent as is, of unknown length: counted to learn whether it was large. */
  function countingWrite(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    if (this.writableEnded) return false
    const state = ownState(this)
    state.bytesIn += chunkLength(chunk, enc)
    return state.write.call(this, chunk, enc, cb)
  }

  function countingEnd(this: ServerResponse, chunk?: unknown, enc?: unknown, cb?: unknown): unknown {
    if (this.writableEnded) return false
    const state = ownState(this)
    if (state.bytesIn >= 0) {
      const total = state.bytesIn + chunkLength(chunk, enc)
      if (total >= threshold) recorder.uncompressedLarge(routeOf(state.req))
      state.bytesIn = -1
    }
    return state.end.call(this, chunk, enc, cb)
  }

  const ownHooks = hooksFor(ownState)
  const hookedPrototypes = new WeakSet<object>()

  /** Defines the hooks on an app's response prototype, once (see hooking.ts for why). */
  const hookPrototype = (base: Methods): void => {
    hookedPrototypes.add(base)
    const prev: Prev = { write: base.write, end: base.end, writeHead: base.writeHead }
    const hooks = hooksFor(
      (res) =>
        optedIn.has(res)
          ? {
              req: (res as unknown as Response).req,
              write: prev.write,
              end: prev.end,
              writeHead: prev.writeHead,
              done: false,
              bytesIn: 0,
            }
          : undefined,
      prev,
    )
    const method = (value: unknown): PropertyDescriptor => ({ value, writable: true, configurable: true })
    const properties: PropertyDescriptorMap = {
      write: method(hooks.write),
      end: method(hooks.end),
      writeHead: method(hooks.writeHead),
    }
    if (base.flush === undefined) properties.flush = method(flushNoop)
    Object.defineProperties(base, properties)
  }

  /** Per response prototype: may the hooks live on it (an Express app's, not a mounted app's)? */
  const prototypeUsable = createPrototypeCheck()

  const middleware = function compression(req: Request, res: Response, next: NextFunction): void {
    const base = Object.getPrototypeOf(res) as Methods
    if (prototypeUsable(base) && hasPrototypeMethods(res)) {
      if (!hookedPrototypes.has(base)) hookPrototype(base)
      optedIn.add(res)
    } else {
      const m = methodsOf(res)
      ;(res as unknown as Res)[kState] = {
        req,
        write: m.write,
        end: m.end,
        writeHead: m.writeHead,
        done: false,
        bytesIn: 0,
      }
      m.end = ownHooks.end
      m.write = ownHooks.write
      m.writeHead = ownHooks.writeHead
      // The route may flush before its first write (the `compression` package's contract).
      if (m.flush === undefined) m.flush = flushNoop
    }
    next()
  } as unknown as CompressionMiddleware

  if (config.registry !== undefined) registerMetrics(config.registry, config.metricsPrefix, recorder.snapshot)
  Object.defineProperties(middleware, {
    stats: { value: recorder.snapshot, enumerable: true },
    reset: { value: recorder.reset, enumerable: true },
  })
  return middleware
}
