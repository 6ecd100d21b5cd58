import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import {
  appendVary,
  createLogger,
  createResponseHook,
  getHeader,
  HotpathError,
  hasHeader,
  headersSent,
  isFresh,
  pathOf,
  preconditionHolds,
  rejectUnknownOptions,
  requestHeaders,
  setHeader,
} from '@hotpath/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { etagFor } from './etag'
import { type CompiledRule, compileRule, type HeaderSet } from './rules'
import type { CacheControlOptions, CacheControlStats, ETagMode } from './types'

const OPTION_KEYS = ['rules', 'etag', 'currentETag', 'currentLastModified', 'logger'] as const

export interface CacheControlMiddleware extends RequestHandler {
  readonly name: string
  stats(): CacheControlStats
}

/**
 * What a hooked response carries: the rule it matched, or `null`. Rules are made once, so
 * nothing is allocated per request; the request is `res.req`, and whether it is conditional
 * is read from its headers when the body goes out.
 */
type State = CompiledRule | null

const hasValidators = (headers: IncomingHttpHeaders): boolean =>
  headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined

const isConditional = (req: Request): boolean =>
  (req.method === 'GET' || req.method === 'HEAD') && hasValidators(requestHeaders(req))

const isBody = (chunk: unknown): chunk is string | Buffer =>
  typeof chunk === 'string' || Buffer.isBuffer(chunk)
const validatorsOf = (res: Response): OutgoingHttpHeaders => ({
  etag: getHeader(res, 'etag') as string | undefined,
  'last-modified': getHeader(res, 'last-modified') as string | undefined,
})
/**
 * `shared` or, when the response sets a cookie, `cookie`. A cookie can be added after this
 * layer's hook ran (express-session's own header hook, mounted earlier, runs inside it), so
 * unless it is there already the value is decided when Node writes the head: its text is read
 * then, after every header hook.
 */
function byCookie(res: Response, shared: string, cookie: string): string {
  if (hasHeader(res, 'set-cookie')) return cookie
  const late = { toString: () => (hasHeader(res, 'set-cookie') ? cookie : shared) }
  return late as unknown as string
}

/** Copies headers given to `writeHead` (an object, a flat raw array, or pairs) into the store. */
function moveHeaders(res: Response, headers: OutgoingHttpHeaders | readonly unknown[]): void {
  if (!Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers as OutgoingHttpHeaders)) {
      if (value !== undefined) res.setHeader(name, value)
    }
    return
  }
  const grouped = new Map<string, { name: string; values: string[] }>()
  const add = (name: unknown, value: unknown) => {
    const key = String(name).toLowerCase()
    const entry = grouped.get(key) ?? { name: String(name), values: [] }
    entry.values.push(String(value))
    grouped.set(key, entry)
  }
  if (Array.isArray(headers[0])) for (const pair of headers as unknown[][]) add(pair[0], pair[1])
  else for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1])
  for (const { name, values } of grouped.values()) {
    res.setHeader(name, values.length === 1 ? (values[0] as string) : values)
  }
}

/**
 * Body length recorded in an entity tag of the `etag` package's form (`W/"3a8-…"`, Express's
 * default): what a 304 Express sent itself did not send.
 */
function lengthInETag(etag: unknown): number {
  const match = typeof etag === 'string' ? /^(?:W\/)?"([0-9a-f]{1,12})-/.exec(etag) : null
  return match ? Number.parseInt(match[1] as string, 16) : 0
}

const isSuccess = (status: number) => status >= 200 && status < 300

/**
 * `Cache-Control` policy from a first-match rules table, ETags for one-piece bodies, and
 * conditional requests (304 per RFC 9110 §13.2.2, 412 for `If-Match`/`If-Unmodified-Since`).
 * The policy is decided just before the headers go out, when the final status and the
 * route's own headers are known.
 */
export function cacheControl(options: Readonly<CacheControlOptions> = {}): CacheControlMiddleware {
  rejectUnknownOptions('cacheControl', options, OPTION_KEYS)
  const rules = (options.rules ?? []).map(compileRule)
  const etagMode: ETagMode = options.etag ?? 'weak'
  if (etagMode !== 'weak' && etagMode !== 'strong' && etagMode !== false) {
    throw new HotpathError(
      'ERR_HOTPATH_CACHE_CONTROL',
      `cacheControl: etag must be 'weak', 'strong' or false.`,
    )
  }
  for (const name of ['currentETag', 'currentLastModified'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new HotpathError(
        'ERR_HOTPATH_CACHE_CONTROL',
        `cacheControl: ${name} must be a function (req) => value.`,
      )
    }
  }
  const { currentETag, currentLastModified } = options
  const hasPreconditions = currentETag !== undefined || currentLastModified !== undefined
  const log = createLogger(options.logger)
  const counts = {
    notModified: 0,
    bytesSaved: 0,
    preconditionFailed: 0,
    errorsNoStore: 0,
  }

  function setPolicy(res: Response, set: HeaderSet, override: boolean): void {
    const cookie = set.cookie
    const cc = cookie === undefined ? set.cacheControl : byCookie(res, set.cacheControl, cookie.cacheControl)
    if (override || !hasHeader(res, 'cache-control')) setHeader(res, 'Cache-Control', cc)
    if (set.cdn && (override || !hasHeader(res, 'cdn-cache-control')))
      setHeader(res, 'CDN-Cache-Control', cookie?.cdn ? byCookie(res, set.cdn, cookie.cdn) : set.cdn)
    if (set.surrogate && (override || !hasHeader(res, 'surrogate-control'))) {
      const value = cookie?.surrogate ? byCookie(res, set.surrogate, cookie.surrogate) : set.surrogate
      setHeader(res, 'Surrogate-Control', value)
    }
  }

  function applyPolicy(res: Response, rule: CompiledRule, status: number, req: Request = res.req): void {
    if (!rule.methods.has(req.method)) return
    if (rule.cacheable(status)) {
      const set = rule.fingerprinted && rule.fingerprint.test(pathOf(req)) ? rule.fingerprinted : rule.headers
      setPolicy(res, set, rule.override)
      for (const field of rule.vary) appendVary(res, field)
      rule.hits++
    } else if (status >= 400 && (rule.override || !hasHeader(res, 'cache-control'))) {
      // An error must not be cached in place of the resource (RFC 9111 §3: it is the server's call).
      setHeader(res, 'Cache-Control', 'no-store')
      counts.errorsNoStore++
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: the hooked methods take Node's overloads.
  type Prev = (this: ServerResponse, ...args: any[]) => any

  function writeHeadHook(res: ServerResponse, rule: State, prev: Prev, args: unknown[]): unknown {
    const response = res as Response
    if (rule !== null) {
      // Headers handed to writeHead (a replayed cache entry, a proxied response) are the
      // route's own: move them into the header store so the policy sees and respects them.
      const last = args.length > 1 ? args[args.length - 1] : undefined
      if (last !== null && typeof last === 'object') {
        moveHeaders(response, last as OutgoingHttpHeaders | readonly unknown[])
        args.pop()
      }
      applyPolicy(response, rule, typeof args[0] === 'number' ? args[0] : res.statusCode)
    }
    hook.release(res)
    return prev.apply(res, args)
  }

  /**
   * The body arrives, the head not yet sent: the status is final, so the policy is applied
   * here and the response released, which spares the writeHead hook that `end` would call.
   */
  function endHook(res: ServerResponse, rule: State, prev: Prev, args: unknown[]): unknown {
    if (headersSent(res)) return prev.apply(res, args)
    const response = res as Response
    // Each read of a request or response property costs (see core's direct Node calls): once.
    const req = response.req
    const status = res.statusCode
    const chunk = args[0]
    if (isBody(chunk) && isSuccess(status)) {
      const method = req.method
      const readable = method === 'GET' || method === 'HEAD'
      const etag = rule?.etag ?? etagMode
      if (etag && readable && !hasHeader(res, 'etag')) {
        setHeader(res, 'ETag', etagFor(chunk, etag === 'weak'))
      }
      const headers = readable ? requestHeaders(req) : undefined
      if (headers !== undefined && hasValidators(headers) && isFresh(headers, validatorsOf(response))) {
        res.statusCode = 304
        res.removeHeader('Content-Type')
        res.removeHeader('Content-Length')
        res.removeHeader('Transfer-Encoding')
        counts.notModified++
        counts.bytesSaved += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length
        if (rule !== null) applyPolicy(response, rule, 304, req)
        hook.release(res)
        const callback = args.find((arg) => typeof arg === 'function')
        return prev.call(res, callback)
      }
    } else if (status === 304) {
      // Express's res.send answered 304 itself and dropped the body; its ETag holds the length.
      counts.notModified++
      counts.bytesSaved += lengthInETag(res.getHeader('etag'))
    }
    if (rule !== null) applyPolicy(response, rule, status, req)
    hook.release(res)
    return prev.apply(res, args)
  }

  // No property is added to the response (see createResponseHook for why that matters).
  const hook = createResponseHook<State>({ writeHead: writeHeadHook, end: endHook })

  function matchRule(req: Request): CompiledRule | undefined {
    if (rules.length === 0) return undefined
    const path = pathOf(req)
    for (const rule of rules) if (rule.test(req, path)) return rule
    return undefined
  }

  async function checkPreconditions(req: Request, res: Response, next: NextFunction): Promise<void> {
    try {
      const etag = currentETag ? await currentETag(req) : undefined
      const modified = currentLastModified ? await currentLastModified(req) : undefined
      const lastModified = modified instanceof Date ? modified.toUTCString() : modified
      if (preconditionHolds(req.headers, etag, lastModified)) {
        next()
        return
      }
      counts.preconditionFailed++
      res.statusCode = 412
      res.setHeader('Cache-Control', 'no-store')
      if (etag) res.setHeader('ETag', etag)
      res.end()
    } catch (error) {
      log.errorOnce(
        'ERR_HOTPATH_CACHE_CONTROL_VALIDATOR',
        'cacheControl: currentETag/currentLastModified threw',
        error,
      )
      next(error)
    }
  }

  const middleware = function cacheControlMiddleware(req: Request, res: Response, next: NextFunction): void {
    const method = req.method
    const headers = requestHeaders(req)
    const readable = method === 'GET' || method === 'HEAD'
    const rule = matchRule(req)
    if (rule !== undefined || (readable && (etagMode !== false || isConditional(req)))) {
      hook.attach(res, rule ?? null)
    }
    if (
      hasPreconditions &&
      (headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined)
    ) {
      void checkPreconditions(req, res, next)
      return
    }
    next()
  } as CacheControlMiddleware

  /** Responses per rule name (a counter on each compiled rule: no keyed write per request). */
  const ruleCounts = (): Record<string, number> => {
    const out: Record<string, number> = {}
    for (const rule of rules) out[rule.name] = (out[rule.name] ?? 0) + rule.hits
    return out
  }

  Object.defineProperty(middleware, 'name', { value: 'cacheControl' })
  middleware.stats = () => ({
    rules: ruleCounts(),
    notModified: counts.notModified,
    bytesSaved: counts.bytesSaved,
    preconditionFailed: counts.preconditionFailed,
    errorsNoStore: counts.errorsNoStore,
  })
  return middleware
}
