import type { Request } from 'express'

/** The methods reported by name; anything else is folded into `OTHER` to bound cardinality. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'OPTIONS',
])

/** The one label every request that no route matched is reported under. */
export const UNMATCHED = 'unmatched'

/** `GET`, `POST`, … or `OTHER`. */
export function methodOf(req: { method?: string }): string {
  const method = req.method ?? ''
  return KNOWN_METHODS.has(method) ? method : 'OTHER'
}

/**
 * The route template that answered `req`, as `'METHOD /base/path/:param'`.
 *
 * Built from `req.baseUrl` + `req.route.path`, so it is right through nested routers on
 * Express 4 and 5. A router mounted on a path with parameters (`/users/:id/posts`) only
 * exposes the *matched* base URL, so its concrete segments are folded back to `:name`
 * when a request parameter holds that value (`mergeParams`) and to `:id` when the segment
 * looks like an identifier; the label set stays bounded either way.
 *
 * A request served by a mounted middleware (`app.use('/static', serveStatic(...))`) is
 * `'GET /static/*'`; a request nothing answered is {@link UNMATCHED}.
 */
export function routeOf(req: Request): string {
  const route = (req as { route?: { path?: unknown } }).route
  const base = req.baseUrl ? templateOfBase(req) : ''
  if (route && (typeof route.path === 'string' || Array.isArray(route.path))) {
    const path = Array.isArray(route.path) ? route.path.join('|') : (route.path as string)
    return `${methodOf(req)} ${base}${path === '/' && base ? '' : path}`
  }
  if (base) return `${methodOf(req)} ${base}/*`
  // Ended before routing (a 429 from a limiter, a static file from a root-mounted middleware):
  // the route the request would have reached, else the mount path; only what nobody answered
  // (a 404) is unmatched.
  const reached = wouldReach(req)
  if (reached !== undefined) return `${methodOf(req)} ${reached}`
  const status = (req as { res?: { statusCode?: number; headersSent?: boolean } }).res
  if (status?.headersSent === true && status.statusCode !== 404) return `${methodOf(req)} /*`
  return UNMATCHED
}

interface LayerLike {
  route?: { path?: unknown; methods?: Record<string, boolean> }
  handle?: { stack?: unknown }
  // Express 5 (router 2): `slash` for a root mount, `matchers` are pure match functions.
  slash?: boolean
  matchers?: Array<(path: string) => false | { path: string; params: Record<string, unknown> }>
  rawPath?: unknown
  // Express 4: a path-to-regexp RegExp with `fast_slash`/`fast_star`, and its parameter keys.
  regexp?: RegExp & { fast_slash?: boolean; fast_star?: boolean }
  keys?: unknown[]
}

/** How deep nested routers are searched; deeper ones are rare and their requests stay unlabelled. */
const MAX_DEPTH = 4

/**
 * The template of the route the app would have dispatched `req` to, by matching its router's
 * stack. Only pure matchers are called (never `layer.match`, which writes to the shared layer
 * while other requests may be between its match and their handler).
 */
function wouldReach(req: Request): string | undefined {
  const app = (req as { app?: unknown }).app
  // An Express app is a function; anything else (a bare request, another framework) is not searched.
  if (typeof app !== 'function') return undefined
  const routers = app as unknown as { _router?: { stack?: unknown }; router?: { stack?: unknown } }
  const router = routers._router ?? routers.router
  const stack = router?.stack
  if (!Array.isArray(stack)) return undefined
  const url = req.originalUrl ?? req.url ?? '/'
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  return search(stack as LayerLike[], path || '/', (req.method ?? 'GET').toLowerCase(), '', 0)
}

function search(
  stack: LayerLike[],
  path: string,
  method: string,
  prefix: string,
  depth: number,
): string | undefined {
  for (const layer of stack) {
    if (layer.route !== undefined) {
      if (matched(layer, path) === undefined || !handles(layer.route.methods, method)) continue
      const template = Array.isArray(layer.route.path) ? layer.route.path.join('|') : layer.route.path
      if (typeof template !== 'string') return undefined
      return `${prefix}${template === '/' && prefix ? '' : template}`
    }
    const inner = layer.handle?.stack
    if (!Array.isArray(inner) || depth >= MAX_DEPTH) continue
    const mount = matched(layer, path)
    if (mount === undefined) continue
    const label = mount.template ?? mount.path
    if (label === undefined) continue
    const found = search(
      inner as LayerLike[],
      path.slice(mount.path.length) || '/',
      method,
      prefix + label,
      depth + 1,
    )
    if (found !== undefined) return found
  }
  return undefined
}

/** The part of `path` a layer matches (and its template when the mount has parameters). */
function matched(
  layer: LayerLike,
  path: string,
): { path: string; template?: string | undefined } | undefined {
  if (layer.slash === true || layer.regexp?.fast_slash === true) return { path: '' }
  if (layer.regexp?.fast_star === true) return { path }
  if (layer.matchers !== undefined) {
    for (const match of layer.matchers) {
      const result = match(path)
      if (result === false) continue
      const params = Object.keys(result.params ?? {}).length > 0
      const template = params ? (typeof layer.rawPath === 'string' ? layer.rawPath : undefined) : undefined
      return params && template === undefined ? undefined : { path: result.path, template }
    }
    return undefined
  }
  if (layer.regexp === undefined) return undefined
  const result = layer.regexp.exec(path)
  if (result === null) return undefined
  // Express 4 keeps no template of a mount path with parameters: its requests stay unlabelled.
  if (layer.route === undefined && (layer.keys?.length ?? 0) > 0) return undefined
  return { path: result[0] }
}

function handles(methods: Record<string, boolean> | undefined, method: string): boolean {
  if (methods === undefined) return false
  return methods._all === true || methods[method] === true || (method === 'head' && methods.get === true)
}

const ID_LIKE =
  /^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|[0-9a-z_-]{20,})$/i

function templateOfBase(req: Request): string {
  const base = req.baseUrl
  // Fast path: a static mount (the common case) has no identifier-looking segment.
  if (!/[0-9]|%/.test(base) && !hasParamValue(req, base)) return base
  const params = (req.params ?? {}) as Record<string, unknown>
  const byValue = new Map<string, string>()
  for (const key of Object.keys(params)) {
    const value = params[key]
    if (typeof value === 'string' && value && !byValue.has(value)) byValue.set(value, key)
  }
  const segments = base.split('/')
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string
    let decoded = segment
    try {
      decoded = decodeURIComponent(segment)
    } catch {
      // Keep the raw segment; a malformed escape is still folded below when it looks like an id.
    }
    const name = byValue.get(decoded)
    if (name !== undefined) segments[i] = `:${name}`
    else if (ID_LIKE.test(decoded) || segment.includes('%')) segments[i] = ':id'
  }
  return segments.join('/')
}

function hasParamValue(req: Request, base: string): boolean {
  const params = req.params as Record<string, unknown> | undefined
  if (!params) return false
  for (const key in params) {
    const value = params[key]
    if (typeof value === 'string' && value && base.includes(`/${value}`)) return true
  }
  return false
}
