import type { ServerResponse } from 'node:http'

/**
 * How a response's methods get hooked, and why there are two ways.
 *
 * Express gives every response its app's prototype with `Object.setPrototypeOf`, which takes
 * the object off V8's shared hidden-class transitions: each property added to `res` (or a
 * second prototype change) afterwards copies its whole map, several microseconds per response
 * on this project's bench machine, more than the rest of this middleware on a small body.
 *
 * So the hooks are defined once on the app's own response prototype (`app.response`, which
 * every response of the app and of its mounted sub-apps inherits from), and a response opts in
 * by being added to the instance's `WeakSet`: no property is added to `res`. Responses that
 * did not pass through the middleware are not in the set and go straight to the previous
 * methods. Outside Express, inside a mounted sub-app (which hands unanswered requests back to
 * its parent, whose prototype it restores), or when another layer already replaced
 * `write`/`end`/`writeHead` on the response, the hooks are set on the response itself, as the
 * `compression` package does.
 */

/**
 * Whether `res` still has its prototype's `write`, `end` and `writeHead`, i.e. no layer set
 * them on the response itself. Asked of its own properties: reading `res.end` looks it up
 * through the Express response's prototype chain, which V8 does not cache (a CPU profile of
 * the below-threshold route: 1.1% of the request for the three reads, 0.1% for the three asks).
 */
export function hasPrototypeMethods(res: ServerResponse): boolean {
  return !Object.hasOwn(res, 'end') && !Object.hasOwn(res, 'write') && !Object.hasOwn(res, 'writeHead')
}
