import type { ServerResponse } from 'node:http'
import { createPrototypeCheck } from '@hotpath/core'
import type { Request, Response } from 'express'
import type { FieldMask } from './mask'
import type { StreamFn, StreamOptions, StreamResult } from './types'

type Json = (this: Response, ...args: unknown[]) => unknown

export interface Hooks {
  /** Gives `res` this instance's `res.json` and `res.stream`. */
  install(res: Response): void
  /** Makes `req.fields` answer `mask`. */
  setFields(req: Request, mask: FieldMask): void
}

/**
 * `res.json`, `res.stream` and `req.fields`, defined once on the app's response and request
 * prototypes and answering from per-instance WeakMaps: a property written to each Express
 * request or response costs microseconds (bench/README.md). A response of a mounted app, or one
 * whose `json` another layer replaced, gets them as its own properties. A second instance on
 * the same app wraps the first one's, and each answers only for the requests it served.
 */
export function createHooks<S>(
  states: WeakMap<ServerResponse, S>,
  shapes: (state: S) => boolean,
  maskOf: (state: S) => FieldMask,
  maskedJson: (state: S, res: Response, body: unknown, layer?: (body: unknown) => unknown) => unknown,
  streamTo: (
    res: ServerResponse,
    source: unknown,
    options?: Readonly<StreamOptions>,
  ) => Promise<StreamResult>,
): Hooks {
  const usableResponse = createPrototypeCheck()
  const responseBases = new WeakSet<object>()
  const usableRequest = createPrototypeCheck()
  const requestBases = new WeakSet<object>()
  const masks = new WeakMap<Request, FieldMask>()

  /** The masking `res.json`: this instance's responses go through it, others to `prev`. */
  const jsonThrough = (prev: Json, layer: boolean): Json =>
    function hotpathJson(this: Response, ...args: unknown[]) {
      const state = states.get(this)
      // Express 4's deprecated res.json(status, body) goes through untouched.
      if (state === undefined || !shapes(state) || args.length !== 1) return prev.apply(this, args)
      return layer
        ? maskedJson(state, this, args[0], prev as (body: unknown) => unknown)
        : maskedJson(state, this, args[0])
    }

  const streamMethod: StreamFn = function stream(this: Response, source, o) {
    const state = states.get(this)
    const mask = state === undefined ? undefined : maskOf(state)
    return streamTo(this, source, mask !== undefined && o?.fields === undefined ? { ...o, fields: mask } : o)
  }

  return {
    install(res) {
      const base = Object.getPrototypeOf(res) as Record<string, unknown>
      if (responseBases.has(base) && !Object.hasOwn(res, 'json')) return
      if (usableResponse(base) && !Object.hasOwn(res, 'json') && typeof base.json === 'function') {
        responseBases.add(base)
        const prev = base.json as Json
        Object.defineProperty(base, 'json', {
          value: jsonThrough(prev, false),
          writable: true,
          configurable: true,
        })
        if (typeof base.stream !== 'function') {
          Object.defineProperty(base, 'stream', { value: streamMethod, writable: true, configurable: true })
        }
        return
      }
      const own = res as unknown as Record<string, unknown>
      // A json another layer set on this response is kept in the path; Express's is not a layer.
      own.json = jsonThrough(res.json as Json, Object.hasOwn(res, 'json'))
      own.stream = streamMethod
    },

    setFields(req, mask) {
      const base = Object.getPrototypeOf(req) as object
      if (requestBases.has(base) && !Object.hasOwn(req, 'fields')) {
        masks.set(req, mask)
        return
      }
      if (usableRequest(base) && !Object.hasOwn(req, 'fields')) {
        const prev = Object.getOwnPropertyDescriptor(base, 'fields')
        Object.defineProperty(base, 'fields', {
          configurable: true,
          get(this: Request) {
            const own = masks.get(this)
            if (own !== undefined) return own
            return prev?.get ? prev.get.call(this) : prev?.value
          },
          // Assigning req.fields makes an own property: the application's value wins.
          set(this: Request, value: unknown) {
            Object.defineProperty(this, 'fields', {
              value,
              writable: true,
              configurable: true,
              enumerable: true,
            })
          },
        })
        requestBases.add(base)
        masks.set(req, mask)
        return
      }
      req.fields = mask
    },
  }
}
