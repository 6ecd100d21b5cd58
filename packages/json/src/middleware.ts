import type { ServerResponse } from 'node:http'
import { HotpathError, routeOf, setHeader } from '@hotpath/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { prune, type SchemaNode, schemaTree } from './compile'
import { FieldsError, type MaskNode, parseMask } from './grammar'
import { createHooks } from './hooks'
import {
  allFields,
  applyNode,
  type FieldMask,
  nodeOf,
  type Seen,
  toFieldMask,
  unknownFieldError,
  unknownIn,
} from './mask'
import { type Config, PKG, resolveOptions, resolveRoute } from './options'
import { createSerializers, type JsonSchema, type SchemaSerializers, unknownInSchema } from './schema'
import { createRecorder } from './stats'
import { runStream, type StreamContext } from './stream'
import type { FieldsMiddleware, FieldsOptions, RouteOptions, StreamOptions, StreamResult } from './types'
import { readParam, rewriteParam } from './url'

/** Parsed masks kept by raw text, so a hot mask is parsed once. */
const PARSED_LIMIT = 256

interface State {
  readonly req: Request
  readonly mask: FieldMask
  schema: JsonSchema | undefined
  strict: boolean
  /** `res.json` as it was before this instance replaced it; `undefined` until it does. */
  /** Set once `res.json` shapes this response (a mask or a schema). */
  json: true | undefined
}

// Express's `json escape` setting (4.17+): the same three characters, the same escapes.
const ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026' }

/**
 * `fields(options)`: parses `?fields=` into `req.fields`, masks what `res.json` sends (with a
 * compiled serializer when the route has a schema), and adds `res.stream()`. Mount it before
 * `@hotpath/response-cache`: it rewrites the mask in the URL to its canonical form, so the
 * cache keys `?fields=a,b` and `?fields=b,a` alike.
 */
export function fields(options: Readonly<FieldsOptions> = {}): FieldsMiddleware {
  const cfg: Config = resolveOptions(options)
  const { log, param } = cfg
  const recorder = createRecorder(cfg.measureEvery)
  const states = new WeakMap<ServerResponse, State>()
  const serializers = new Map<JsonSchema, SchemaSerializers>()
  // Per schema, the tree its allow-list is applied by where no compiled serializer sends the body.
  const trees = new Map<JsonSchema, SchemaNode | null>()
  /** `value` with what `schema` does not declare left out (as it is for a schema the tree cannot follow). */
  const allowed = (schema: JsonSchema | undefined, value: unknown): unknown => {
    if (schema === undefined) return value
    let tree = trees.get(schema)
    if (tree === undefined) {
      tree = schemaTree(schema) ?? null
      trees.set(schema, tree)
    }
    return tree === null ? value : prune(value, tree)
  }
  let parsed = new Map<string, FieldMask | FieldsError>()
  const all = allFields()

  const serializersOf = (schema: JsonSchema): SchemaSerializers => {
    let s = serializers.get(schema)
    if (s === undefined) {
      try {
        s = createSerializers(schema, cfg.compile, cfg.cacheSize, log, (ok) =>
          ok ? recorder.compiled() : undefined,
        )
      } catch (error) {
        throw new HotpathError(
          'ERR_HOTPATH_JSON_SCHEMA',
          `${PKG}: the schema does not compile (${(error as Error).message}); fix the schema given to fields() or route().`,
        )
      }
      serializers.set(schema, s)
    }
    return s
  }
  if (cfg.schema !== undefined) serializersOf(cfg.schema)

  const parse = (raw: string): FieldMask | FieldsError => {
    let mask = parsed.get(raw)
    if (mask !== undefined) return mask
    try {
      const node = parseMask(raw, cfg.limits)
      mask =
        node.keys.size === 0 && node.star === undefined && node.minus.size === 0 ? all : toFieldMask(node)
    } catch (error) {
      if (!(error instanceof FieldsError)) throw error
      mask = error
    }
    if (parsed.size >= PARSED_LIMIT) parsed = new Map()
    parsed.set(raw, mask)
    return mask
  }

  const reject = (res: Response, error: FieldsError): void => {
    recorder.rejected(error.code)
    res.statusCode = 400
    setHeader(res, 'Content-Type', 'application/json; charset=utf-8')
    setHeader(res, 'Cache-Control', 'no-store')
    res.end(JSON.stringify(error.toJSON()))
  }

  const ctx: StreamContext = {
    log,
    chunkSize: cfg.chunkSize,
    serializerFor(o) {
      if (o.schema === undefined) return undefined
      const s = serializersOf(o.schema)
      const mask = o.fields as FieldMask | undefined
      const node = mask?.active ? nodeOf(mask) : undefined
      return node === undefined ? s.full : s.forMask(node, mask?.text ?? '', true)
    },
    record(res, result) {
      const req = (res as Response).req
      recorder.stream(req ? routeOf(req) : 'unmatched', result)
    },
  }

  function streamTo(
    res: ServerResponse,
    source: unknown,
    o: Readonly<StreamOptions> = {},
  ): Promise<StreamResult> {
    let mask = o.fields
    if (typeof mask === 'string') {
      const m = parse(mask)
      if (m instanceof FieldsError) throw new HotpathError(m.code, `${PKG}: stream(): ${m.message}`)
      mask = m
    }
    return runStream(res, source, mask === o.fields ? o : { ...o, fields: mask }, ctx)
  }

  /** `res.json` with the mask applied; the body's unmasked size is measured now and then. */
  function maskedJson(
    state: State,
    res: Response,
    body: unknown,
    layer?: (body: unknown) => unknown,
  ): unknown {
    const { req, mask } = state
    if (layer !== undefined) return throughLayer(state, res, body, layer)
    const app = req.app
    const replacer = app?.get('json replacer')
    const spaces = app?.get('json spaces')
    const node = nodeOf(mask)
    const masked = node !== undefined
    const route = routeOf(req)
    const measure = recorder.response(route, masked)
    let text: string | undefined
    const s = state.schema === undefined ? undefined : serializersOf(state.schema)
    if (s !== undefined && replacer === undefined && spaces === undefined) {
      const fn = node === undefined ? s.full : s.forMask(node, mask.text)
      if (fn !== undefined) {
        try {
          text = fn(body)
        } catch {
          // A body that does not fit its schema: sent below, still without what it does not declare.
          text = undefined
        }
      }
    }
    if (text === undefined) {
      if (node !== undefined) {
        const seen: Seen | undefined = state.strict && s === undefined ? new Map() : undefined
        const value = applyNode(node, body, seen)
        const unknown = seen === undefined ? undefined : unknownIn(node as MaskNode, seen)
        if (unknown !== undefined) {
          reject(res, unknownFieldError(unknown))
          return res
        }
        if (s !== undefined) recorder.fallback()
        text = JSON.stringify(allowed(state.schema, value), replacer, spaces)
      } else text = JSON.stringify(allowed(state.schema, body), replacer, spaces)
    }
    if (text !== undefined && app?.get('json escape'))
      text = text.replace(/[<>&]/g, (c) => ESCAPES[c] as string)
    if (masked && text !== undefined) {
      const full = measure ? Buffer.byteLength(JSON.stringify(body, replacer, spaces) ?? '') : undefined
      recorder.bytes(route, Buffer.byteLength(text), full)
    }
    if (!res.get('Content-Type')) res.set('Content-Type', 'application/json')
    return res.send(text)
  }

  /**
   * Another layer replaced `res.json` on this response before this instance did: it gets the
   * masked value (so what it adds, an envelope or a header, still happens), and sends it itself.
   */
  function throughLayer(
    state: State,
    res: Response,
    body: unknown,
    layer: (body: unknown) => unknown,
  ): unknown {
    const node = nodeOf(state.mask)
    recorder.response(routeOf(state.req), node !== undefined)
    if (node === undefined) return layer.call(res, allowed(state.schema, body))
    const seen: Seen | undefined = state.strict && state.schema === undefined ? new Map() : undefined
    const value = applyNode(node, body, seen)
    const unknown = seen === undefined ? undefined : unknownIn(node, seen)
    if (unknown !== undefined) {
      reject(res, unknownFieldError(unknown))
      return res
    }
    return layer.call(res, allowed(state.schema, value))
  }

  const hooks = createHooks<State>(
    states,
    (state) => state.json !== undefined,
    (state) => state.mask,
    maskedJson,
    streamTo,
  )

  function hookJson(state: State): void {
    if (state.json === undefined) state.json = true
  }

  function handle(
    req: Request,
    res: Response,
    next: NextFunction,
    schema: JsonSchema | undefined,
    strict: boolean,
  ): void {
    const known = states.get(res)
    if (known !== undefined) {
      // A route() behind the app-wide instance: only the schema and strictness change.
      if (schema !== undefined) known.schema = schema
      known.strict = strict
      if (!check(known, res)) return
      if (known.schema !== undefined || known.mask.active) hookJson(known)
      next()
      return
    }
    let mask = all
    try {
      const raw = readParam(req.url, param)
      if (raw !== undefined) {
        const m = parse(raw)
        if (m instanceof FieldsError) {
          reject(res, m)
          return
        }
        mask = m
        if (cfg.normalizeUrl) normalize(req, mask.text)
      }
    } catch (error) {
      if (error instanceof FieldsError) {
        reject(res, error)
        return
      }
      next(error)
      return
    }
    const state: State = { req, mask, schema, strict, json: undefined }
    states.set(res, state)
    if (!check(state, res)) return
    hooks.setFields(req, mask)
    hooks.install(res)
    if (schema !== undefined || mask.active) hookJson(state)
    next()
  }

  /** `strict` with a schema is checked before the handler runs: no query for a bad mask. */
  function check(state: State, res: Response): boolean {
    const node = nodeOf(state.mask)
    if (!state.strict || state.schema === undefined || node === undefined) return true
    const unknown = unknownInSchema(state.schema, node)
    if (unknown === undefined) return true
    reject(res, unknownFieldError(unknown))
    return false
  }

  function normalize(req: Request, text: string): void {
    const url = rewriteParam(req.url, param, text)
    if (url !== req.url) req.url = url
    const original = req.originalUrl
    if (typeof original === 'string') {
      const rewritten = rewriteParam(original, param, text)
      if (rewritten !== original) req.originalUrl = rewritten
    }
    // Express 4 parsed req.query before any middleware ran; Express 5 reparses req.url.
    try {
      // Only an own, already parsed query object (Express 4): Express 5's getter would parse again.
      const query = Object.hasOwn(req, 'query')
        ? (req.query as Record<string, unknown> | undefined)
        : undefined
      if (query && typeof query === 'object' && param in query) {
        if (text === '') delete query[param]
        else query[param] = text
      }
    } catch {
      // A read-only query object keeps what the client sent; req.fields is what counts.
    }
  }

  const middleware = function fields(req: Request, res: Response, next: NextFunction): void {
    handle(req, res, next, cfg.schema, cfg.strict)
  } as FieldsMiddleware

  Object.defineProperty(middleware, 'name', { value: 'json' })
  middleware.route = (routeOptions: Readonly<RouteOptions>): RequestHandler => {
    const route = resolveRoute(routeOptions ?? {}, cfg)
    if (route.schema !== undefined) serializersOf(route.schema)
    return function fieldsRoute(req: Request, res: Response, next: NextFunction): void {
      handle(req, res, next, route.schema, route.strict)
    }
  }
  middleware.stream = streamTo
  middleware.stats = () => {
    let masks = 0
    for (const s of serializers.values()) masks += s.size()
    return recorder.snapshot(serializers.size, masks)
  }
  middleware.reset = () => recorder.reset()
  return middleware
}
