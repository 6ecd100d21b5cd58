import type { MaybePromise } from './types'

/** `fn` of the value, at once when it is not a promise (no microtask for a synchronous store). */
export function then<T, R>(value: MaybePromise<T>, fn: (v: T) => R | Promise<R>): R | Promise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value as T)
}
