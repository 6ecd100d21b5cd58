import type { Request, Response } from 'express'

/** A scalar option that may also be computed per request. */
export type Dynamic<T> = T | ((req: Request, res: Response) => T | Promise<T>)

/**
 * Resolves a {@link Dynamic} option for one request. The result is a value when the option
 * is static (the fast path: no promise, no allocation) and a promise only when the user's
 * function returned one.
 */
export function resolveDynamic<T>(option: Dynamic<T>, req: Request, res: Response): T | Promise<T> {
  return typeof option === 'function'
    ? (option as (req: Request, res: Response) => T | Promise<T>)(req, res)
    : option
}

/** True when `value` is a thenable. */
export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as PromiseLike<T>).then === 'function'
  )
}
