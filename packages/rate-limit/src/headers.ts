import { getHeader, hasHeader, setHeader } from '@hotpath/core'
import type { Response } from 'express'
import type { Decision, HeaderFormat, Policy } from './types'

/**
 * Response header fields.
 * - `draft`: draft-ietf-httpapi-ratelimit-headers-10 §4 `RateLimit-Policy` (a List of quota
 *   policies, `"name";q=<units>;w=<seconds>`) and §5 `RateLimit` (a List of current
 *   service limits, `"name";r=<remaining>;t=<seconds>`), both Structured Fields (RFC 9651).
 *   Layers (a global limiter and `route()` limiters) each append their own item.
 * - `draft-6`: draft-ietf-httpapi-ratelimit-headers-06, `RateLimit-Limit` / `-Remaining` /
 *   `-Reset` (delta seconds) and `RateLimit-Policy: <limit>;w=<seconds>`.
 * - `draft-7`: draft-07's one field `RateLimit: limit=…, remaining=…, reset=…` and the same policy.
 * - `legacy`: `X-RateLimit-Limit` / `-Remaining` / `-Reset` (epoch seconds, as GitHub and
 *   express-rate-limit send it).
 * With several layers, draft-6, draft-7 and legacy show the most restrictive one (their fields
 * hold one policy); the current draft lists every layer.
 */
export type HeaderWriter = (
  res: Response,
  policy: Policy,
  decision: Decision,
  policyField: string | undefined,
) => void

/** `RateLimit-Policy` item for a policy (computed once when the policy is static). */
export function policyItem(name: string, policy: Policy): string {
  return `"${name}";q=${policy.limit};w=${Math.max(1, Math.ceil(policy.windowMs / 1000))}`
}

/** Seconds for `t` and `Retry-After`: rounded up, never 0 while the client must wait (RFC 9110 §10.2.3). */
export function seconds(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000)
}

function append(res: Response, field: string, item: string): void {
  const existing = getHeader(res, field)
  setHeader(res, field, existing === undefined ? item : `${String(existing)}, ${item}`)
}

/** The remaining count a draft-7 `RateLimit` field already shows. */
function draft7Remaining(value: unknown): number {
  const match = /remaining=(\d+)/.exec(String(value))
  return match === null ? Number.POSITIVE_INFINITY : Number(match[1])
}

export function createHeaderWriter(
  formats: readonly HeaderFormat[],
  name: string,
  now: () => number,
): HeaderWriter | undefined {
  if (formats.length === 0) return undefined
  const draft = formats.includes('draft')
  const legacy = formats.includes('legacy')
  const draft6 = formats.includes('draft-6')
  const draft7 = formats.includes('draft-7')
  const quoted = `"${name}"`
  return function writeRateLimitHeaders(res, policy, decision, policyField) {
    const wait = decision.allowed ? decision.resetMs : Math.max(decision.retryAfterMs, 0)
    // The first layer on a response sets its fields outright; later ones append or compare.
    // The fields themselves tell which layer this is: no marker property is written to `res`
    // (each property written to an Express response costs microseconds, see bench/README.md).
    if (draft) {
      const policyValue = policyField ?? policyItem(name, policy)
      const limitValue = `${quoted};r=${decision.remaining};t=${seconds(wait)}`
      // core's setHeader/hasHeader: Node's methods without the uncached lookup on `res`.
      if (!hasHeader(res, 'ratelimit')) {
        setHeader(res, 'RateLimit-Policy', policyValue)
        setHeader(res, 'RateLimit', limitValue)
      } else {
        append(res, 'RateLimit-Policy', policyValue)
        append(res, 'RateLimit', limitValue)
      }
    }
    if (draft6) {
      const shown = getHeader(res, 'ratelimit-remaining')
      if (shown === undefined || Number(shown) > decision.remaining) {
        setHeader(res, 'RateLimit-Policy', `${policy.limit};w=${Math.ceil(policy.windowMs / 1000)}`)
        setHeader(res, 'RateLimit-Limit', String(policy.limit))
        setHeader(res, 'RateLimit-Remaining', String(decision.remaining))
        setHeader(res, 'RateLimit-Reset', String(seconds(wait)))
      }
    }
    if (draft7) {
      const shown = getHeader(res, 'ratelimit')
      if (shown === undefined || draft7Remaining(shown) > decision.remaining) {
        setHeader(res, 'RateLimit-Policy', `${policy.limit};w=${Math.ceil(policy.windowMs / 1000)}`)
        setHeader(
          res,
          'RateLimit',
          `limit=${policy.limit}, remaining=${decision.remaining}, reset=${seconds(wait)}`,
        )
      }
    }
    if (legacy) {
      const shown = getHeader(res, 'x-ratelimit-remaining')
      if (shown !== undefined && Number(shown) <= decision.remaining) return
      setHeader(res, 'X-RateLimit-Limit', String(policy.limit))
      setHeader(res, 'X-RateLimit-Remaining', String(decision.remaining))
      setHeader(res, 'X-RateLimit-Reset', String(Math.ceil((now() + wait) / 1000)))
    }
  }
}
