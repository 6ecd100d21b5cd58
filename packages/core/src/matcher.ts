import type { Request } from 'express'
import { HotpathError } from './errors'

/** How a rule picks requests: a path glob (`/static/**`), a RegExp on the path, or a predicate. */
export type Matcher = string | RegExp | ((req: Request) => boolean)

/** How Express compares paths: its `case sensitive routing` and `strict routing` settings. */
export interface RoutingOptions {
  /** `/API` and `/api` differ. Express's default: `false`. */
  readonly caseSensitive?: boolean
  /** `/api/` and `/api` differ. Express's default: `false`. */
  readonly strict?: boolean
}

type AppLike = { get?: (setting: string) => unknown }

/** Index into a glob's four compiled forms: bit 0 case-sensitive, bit 1 strict. */
function routingIndex(app: AppLike | undefined): number {
  if (app === undefined || typeof app.get !== 'function') return 0
  return (app.get('case sensitive routing') ? 1 : 0) | (app.get('strict routing') ? 2 : 0)
}

/**
 * Compiles a {@link Matcher} once, at construction. Globs: `*` matches within one path
 * segment, `**` across segments (`/api/**` matches `/api` and everything below it).
 * Matching uses the path without the query string.
 *
 * A glob compares paths the way the app's router does — Express's `case sensitive routing`
 * and `strict routing` settings, read from `req.app` (both off by default, as in Express) —
 * so a rule such as `{ match: '/api/me/**', cache: false }` also covers `/API/me/x` and
 * `/api/me/x/` when the app's routes answer those. The settings are read once per app: Express
 * itself fixes them when it builds its router. A RegExp is used as written (its own flags, as
 * Express does with a RegExp route); a predicate decides alone.
 */
export function compileMatcher(matcher: Matcher, where = 'match'): (req: Request, path: string) => boolean {
  if (typeof matcher === 'function') return (req) => matcher(req) === true
  if (matcher instanceof RegExp) {
    const regexp = new RegExp(matcher.source, matcher.flags.replace(/[gy]/g, ''))
    return (_req, path) => regexp.test(path)
  }
  if (typeof matcher === 'string') {
    if (!matcher.startsWith('/') && matcher !== '*' && matcher !== '**') {
      throw new HotpathError(
        'ERR_HOTPATH_MATCHER',
        `${where}: the glob ${JSON.stringify(matcher)} must start with "/" (for example "/static/**").`,
      )
    }
    const forms: Array<RegExp | undefined> = [undefined, undefined, undefined, undefined]
    const formOf = (index: number): RegExp => {
      let regexp = forms[index]
      if (regexp === undefined) {
        regexp = globToRegExp(matcher, { caseSensitive: (index & 1) !== 0, strict: (index & 2) !== 0 })
        forms[index] = regexp
      }
      return regexp
    }
    // Validated now: a glob that does not compile throws at construction, not per request.
    formOf(0)
    const byApp = new WeakMap<object, number>()
    return (req, path) => {
      const app = (req as { app?: AppLike }).app
      if (app === undefined || app === null) return formOf(0).test(path)
      let index = byApp.get(app)
      if (index === undefined) {
        index = routingIndex(app)
        byApp.set(app, index)
      }
      return formOf(index).test(path)
    }
  }
  throw new HotpathError(
    'ERR_HOTPATH_MATCHER',
    `${where}: expected a path glob string, a RegExp or a function (req) => boolean, got ${typeof matcher}.`,
  )
}

/**
 * Converts a path glob into an anchored RegExp; exported for tests and docs. Without options
 * it is case-sensitive and strict (the glob exactly); with `caseSensitive: false` it ignores
 * case, with `strict: false` a trailing slash on the path (or the glob) is optional.
 */
export function globToRegExp(
  glob: string,
  options: RoutingOptions = { caseSensitive: true, strict: true },
): RegExp {
  const flags = options.caseSensitive === true ? '' : 'i'
  if (glob === '*' || glob === '**') return new RegExp('^.*$', flags)
  const strict = options.strict === true
  let pattern = glob
  if (!strict) while (pattern.length > 1 && pattern.endsWith('/')) pattern = pattern.slice(0, -1)
  let source = ''
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++
        // `/x/**` also matches `/x` itself.
        if (source.endsWith('\\/') && i === pattern.length - 1) {
          source = `${source.slice(0, -2)}(?:\\/.*)?`
        } else {
          source += '.*'
        }
      } else {
        source += '[^/]*'
      }
    } else if (c === '?') {
      source += '[^/]'
    } else {
      source += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')
    }
  }
  // Express without strict routing answers `/x/` on a `/x` route.
  if (!strict && source !== '\\/') source += '\\/?'
  return new RegExp(`^${source}$`, flags)
}

/** The request path without its query string, as matchers see it. */
export function pathOf(req: { originalUrl?: string; url?: string }): string {
  const url = req.originalUrl ?? req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
