import { ipKey } from '@hotpath/core'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import type { LimitPolicy } from './options'

/** Distinct clients tracked per window; beyond it they share one bucket, so memory stays bounded. */
const MAX_KEYS = 10_000

function limited(res: Response, retryAfterSeconds: number): void {
  // RFC 6585 §4: 429 with Retry-After (RFC 9110 §10.2.3, delay-seconds).
  res.setHeader('Retry-After', String(retryAfterSeconds))
  res.status(429).json({ schema: 1, error: 'rate_limited', message: 'Too many requests to the dashboard; retry later.' })
}

/**
 * The dashboard's own per-client limiter: a fixed window keyed by `ipKey(req.ip)`. One Map per
 * window, dropped when the window rolls over, so no timer and no per-key expiry is needed.
 */
export function createLimiter(policy: LimitPolicy, now: () => number): RequestHandler {
  let windowStart = -1
  let counts = new Map<string, number>()

  return function dashboardLimiter(req: Request, res: Response, next: NextFunction): void {
    const at = now()
    const start = at - (at % policy.windowMs)
    if (start !== windowStart) {
      windowStart = start
      counts = new Map()
    }
    let key = ipKey(req.ip ?? req.socket.remoteAddress ?? '')
    if (!counts.has(key) && counts.size >= MAX_KEYS) key = 'overflow'
    const count = (counts.get(key) ?? 0) + 1
    counts.set(key, count)
    if (count <= policy.limit) {
      next()
      return
    }
    limited(res, Math.max(1, Math.ceil((start + policy.windowMs - at) / 1000)))
  }
}
