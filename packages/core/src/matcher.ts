import type { Request } from 'express'
import { HotpathError } from './errors'

/** How a rule picks requests: a path glob (`/static/**`), a RegExp on the path, or a predicate. */
export type Matcher = string | RegExp | ((req: Request) => boolean)

/**
 * Compiles a {@link Matcher} once, at construction. Globs: `*` matches within one path
 * segment, `**` across segments (`/api/**` matches `/api` and everything below it).
 * Matching uses the path without the query string.
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
    const regexp = globToRegExp(matcher)
    return (_req, path) => regexp.test(path)
  }
  throw new HotpathError(
    'ERR_HOTPATH_MATCHER',
    `${where}: expected a path glob string, a RegExp or a function (req) => boolean, got ${typeof matcher}.`,
  )
}

/** Converts a path glob into an anchored RegExp; exported for tests and docs. */
export function globToRegExp(glob: string): RegExp {
  if (glob === '*' || glob === '**') return /^.*$/
  let source = ''
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++
        // `/x/**` also matches `/x` itself.
        if (source.endsWith('\\/') && i === glob.length - 1) {
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
  return new RegExp(`^${source}$`)
}

/** The request path without its query string, as matchers see it. */
export function pathOf(req: { originalUrl?: string; url?: string }): string {
  const url = req.originalUrl ?? req.url ?? '/'
  const q = url.indexOf('?')
  return q === -1 ? url : url.slice(0, q)
}
