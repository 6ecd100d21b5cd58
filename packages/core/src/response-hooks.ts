import { ServerResponse } from 'node:http'

// biome-ignore lint/suspicious/noExplicitAny: Node's overloads of writeHead/end take anything.
type Method = (this: ServerResponse, ...args: any[]) => any

/**
 * One hook: gets the response, its state, the method it replaces and the call's arguments,
 * and answers for that method (usually by calling `prev.apply(res, args)` at some point).
 */
export type ResponseHookFn<S> = (res: ServerResponse, state: S, prev: Method, args: unknown[]) => unknown

export interface ResponseHookMethods<S> {
  writeHead?: ResponseHookFn<S>
  write?: ResponseHookFn<S>
  end?: ResponseHookFn<S>
}

export interface ResponseHook<S> {
  /** Routes `res`'s hooked methods through the hooks, with `state`, until {@link release}. */
  attach(res: ServerResponse, state: S): void
  /** The state `res` was attached with, if it still is. */
  stateOf(res: ServerResponse): S | undefined
  /** From now on `res`'s calls go straight to the methods the hooks replaced. */
  release(res: ServerResponse): void
}

type Hookable = Record<'writeHead' | 'write' | 'end', Method>
const NAMES = ['writeHead', 'write', 'end'] as const

/**
 * Hooks on a response's `writeHead`/`write`/`end` that add no property to the response.
 *
 * Express gives every response its app's prototype with `Object.setPrototypeOf`; after that,
 * V8 makes every property written to the object slow (3–7 µs each for `res.end = …` or a Symbol
 * on this project's bench machine, `bench/property-cost.mjs`; more than a whole small middleware).
 * So the hooks are defined once on the app's response prototype (`app.response`, which the app's
 * responses and those of its mounted sub-apps inherit from) and a response opts in through a
 * per-instance `WeakMap` that also holds its state; responses not in it go straight to the
 * previous methods. Outside Express, in a mounted sub-app (which hands unanswered requests back
 * to its parent, whose prototype it then restores), or when another layer already replaced the
 * methods on the response itself, the hooks are set on the response, as classic middleware do.
 */
export function createResponseHook<S>(hooks: ResponseHookMethods<S>): ResponseHook<S> {
  // Responses hooked through the prototype, and those hooked on themselves: two maps, so a
  // response of the second kind is never hooked twice when the prototype is hooked as well.
  const states = new WeakMap<ServerResponse, S>()
  const ownStates = new WeakMap<ServerResponse, S>()
  const hooked = new WeakSet<object>()
  const usable = createPrototypeCheck()
  const names = NAMES.filter((name) => hooks[name] !== undefined)

  const wrap = (name: (typeof NAMES)[number], prev: Method, from: WeakMap<ServerResponse, S>): Method => {
    const hook = hooks[name] as ResponseHookFn<S>
    // `arguments`, not a rest parameter: a response that is not (or no longer) attached goes
    // straight through without an array per call.
    return function hotpathHook(this: ServerResponse) {
      const state = from.get(this)
      // biome-ignore lint/complexity/noArguments: forwarded untouched, without an array.
      if (state === undefined) return prev.apply(this, arguments as unknown as unknown[])
      // biome-ignore lint/complexity/noArguments: the hook gets its own array of them.
      return hook(this, state, prev, Array.prototype.slice.call(arguments))
    }
  }

  const hookPrototype = (base: Hookable): void => {
    hooked.add(base)
    const properties: PropertyDescriptorMap = {}
    for (const name of names) {
      properties[name] = { value: wrap(name, base[name], states), writable: true, configurable: true }
    }
    Object.defineProperties(base, properties)
  }

  // Whether the response still answers with its prototype's methods, i.e. no layer set one on
  // the response itself. Asked of the object's own properties: reading `res.end` would look it
  // up through the response's prototype chain, which V8 does not cache for Express responses.
  const sameMethods = (own: Hookable): boolean => {
    for (let i = 0; i < names.length; i++) {
      if (Object.hasOwn(own, names[i] as (typeof NAMES)[number])) return false
    }
    return true
  }

  /** The app prototype this instance hooked last: its responses take the short path. */
  let lastBase: object | undefined

  return {
    attach(res, state) {
      const base = Object.getPrototypeOf(res) as Hookable
      const own = res as unknown as Hookable
      if (base === lastBase && sameMethods(own)) {
        states.set(res, state)
        return
      }
      if (ownStates.has(res)) {
        ownStates.set(res, state)
        return
      }
      if (usable(base) && sameMethods(own)) {
        if (!hooked.has(base)) hookPrototype(base)
        lastBase = base
        states.set(res, state)
        return
      }
      // A response is in one map at most (release deletes from the second only if the first
      // did not hold it): attached before through its prototype, it moves here.
      states.delete(res)
      ownStates.set(res, state)
      for (const name of names) own[name] = wrap(name, own[name], ownStates)
    },
    stateOf: (res) => states.get(res) ?? ownStates.get(res),
    release(res) {
      if (!states.delete(res)) ownStates.delete(res)
    },
  }
}

/**
 * A check, cached per prototype, of whether hooks may live on a response's prototype: an
 * Express app's response prototype, not a mounted app's (which hands unanswered requests back
 * to its parent with the parent's prototype). One per hooking instance.
 */
export function createPrototypeCheck(): (base: object) => boolean {
  const verdicts = new WeakMap<object, boolean>()
  return (base) => {
    let verdict = verdicts.get(base)
    if (verdict === undefined) {
      verdict = isAppResponse(base) && !isMountedApp((base as { app?: unknown }).app)
      verdicts.set(base, verdict)
    }
    return verdict
  }
}

/** An Express app's response prototype: it carries its app, Node's own prototype does not. */
export function isAppResponse(base: object): boolean {
  return base !== ServerResponse.prototype && Object.hasOwn(base, 'app')
}

/** An app mounted in another one (Express sets `parent` when it is mounted). */
export function isMountedApp(app: unknown): boolean {
  return (app as { parent?: unknown } | undefined)?.parent !== undefined
}
