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
  return UNMATCHED
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
