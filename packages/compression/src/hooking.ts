import type { ServerResponse } from 'node:http'
import type { Request } from 'express'
import type { Methods } from './headers'

/**
 * How a response's methods get hooked, and why there are two ways.
 *
 * Express gives every response its app's prototype with `Object.setPrototypeOf`, which takes
 * the object off V8's shared map-transition tree: each property added to `res` afterwards
 * copies its whole map (measured here: ~3 µs per property, ~10 µs for the three methods,
 * more than the rest of this middleware on a small response). So when nothing else has
 * replaced `write`/`end`/`writeHead`, the response gets a derived prototype that carries the
 * hooks instead (one cached prototype transition, no new property).
 *
 * An Express app mounted inside the app (`app.use('/v2', subApp)`) sets the prototype again
 * and would drop those hooks, so apps whose router tree holds a sub-app, and responses whose
 * methods another layer already wrapped, get own-property hooks, as the `compression`
 * package installs them.
 */

interface Layer {
  handle?: unknown
  route?: { stack?: unknown }
}

interface AppLike {
  _router?: { stack?: unknown }
  router?: { stack?: unknown }
}

/** The most nested routers walked when looking for a mounted app. */
const MAX_DEPTH = 16

function isApp(handle: unknown): boolean {
  if (typeof handle !== 'function') return false
  const fn = handle as { name?: string; handle?: unknown; set?: unknown }
  return fn.name === 'mounted_app' || (typeof fn.handle === 'function' && typeof fn.set === 'function')
}

function stackHoldsApp(stack: unknown, depth: number): boolean {
  if (!Array.isArray(stack) || depth > MAX_DEPTH) return depth > MAX_DEPTH
  for (const layer of stack as Layer[]) {
    if (isApp(layer.handle)) return true
    const nested = (layer.handle as { stack?: unknown } | undefined)?.stack
    if (nested !== undefined && stackHoldsApp(nested, depth + 1)) return true
    if (layer.route?.stack !== undefined && stackHoldsApp(layer.route.stack, depth + 1)) return true
  }
  return false
}

/** The root router stack of an Express 4 (`_router`) or Express 5 (`router`) app. */
function rootStack(app: AppLike): unknown {
  // Express 4's `app.router` getter throws; its router lives in `_router`.
  if (app._router !== undefined) return app._router.stack
  return app.router?.stack
}

interface AppVerdict {
  stack: unknown[] | undefined
  length: number
  prototypeSafe: boolean
}

/**
 * Per instance: whether an app's responses can be hooked through their prototype. The
 * verdict is recomputed when the app's root stack grows (routes added after start).
 */
export function createAppCheck(): (req: Request) => boolean {
  const verdicts = new WeakMap<object, AppVerdict>()
  return function prototypeSafe(req) {
    const app = (req as { app?: unknown }).app
    if (app === null || typeof app !== 'function') return false
    let verdict = verdicts.get(app)
    if (verdict === undefined || verdict.length !== (verdict.stack?.length ?? -1)) {
      let stack: unknown
      try {
        stack = rootStack(app as AppLike)
      } catch {
        stack = undefined
      }
      const list = Array.isArray(stack) ? (stack as unknown[]) : undefined
      // A mounted app hands unanswered requests back to its parent, which resets the prototype.
      const mounted = (app as { parent?: unknown }).parent !== undefined
      verdict = {
        stack: list,
        length: list?.length ?? -1,
        prototypeSafe: list !== undefined && !mounted && !stackHoldsApp(list, 0),
      }
      verdicts.set(app, verdict)
    }
    return verdict.prototypeSafe
  }
}

/** Whether `res` still has its prototype's `write`, `end` and `writeHead`. */
export function hasPrototypeMethods(res: ServerResponse, base: Methods): boolean {
  const own = res as unknown as Methods
  return own.end === base.end && own.write === base.write && own.writeHead === base.writeHead
}
