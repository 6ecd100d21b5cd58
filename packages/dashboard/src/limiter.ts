import type { Logger } from '@hotpath/core'
import { rateLimit } from '@hotpath/rate-limit'
import type { RequestHandler } from 'express'
import type { LimitPolicy } from './options'

const LIMITED = {
  schema: 1,
  error: 'rate_limited',
  message: 'Too many requests to the dashboard; retry later.',
}

/**
 * One `@hotpath/rate-limit` instance per class of request (reads, writes), keyed by the
 * default `ipKey(req.ip)`. Its memory store is the dashboard's own: two dashboards never
 * share counts. The 429 carries `Retry-After` and the IETF `RateLimit` headers.
 */
export function createLimiter(
  name: string,
  policy: LimitPolicy,
  now: () => number,
  logger: Logger | undefined,
): RequestHandler {
  return rateLimit({
    algorithm: 'sliding-window',
    limit: policy.limit,
    window: policy.windowMs,
    headers: 'draft',
    name: `dashboard-${name}`,
    message: LIMITED,
    now,
    ...(logger ? { logger } : {}),
  })
}
