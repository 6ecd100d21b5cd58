import type { Decision, Policy } from './types'

/**
 * The four algorithms as pure functions over a small mutable record, used by the memory
 * store. `lua.ts` implements the same arithmetic for Redis; the contract suite runs both.
 * Times are integer milliseconds; the window arithmetic is done in integers (scaled by the
 * window length) so that counts are exact, never off by a float rounding.
 */
export interface State {
  /** fixed/sliding: window start; token-bucket: last refill time; gcra: theoretical arrival time. */
  a: number
  /** fixed/sliding: count in the current window; token-bucket: tokens × windowMs. */
  b: number
  /** sliding: count in the previous window. */
  c: number
  /** Absolute time after which the record carries no information. */
  expiresAt: number
}

/**
 * One decision. The record to keep is written into `out` (the store's scratch record, so a
 * request allocates nothing but its `Decision`); `out.expiresAt` 0 means "store nothing"
 * (a read or a denial).
 */
export type Step = (
  state: State | undefined,
  policy: Policy,
  cost: number,
  now: number,
  out: State,
) => Decision

function keep(out: State, a: number, b: number, c: number, expiresAt: number): void {
  out.a = a
  out.b = b
  out.c = c
  out.expiresAt = expiresAt
}

const GCRA_EPSILON = 1e-6

function decision(allowed: boolean, remaining: number, resetMs: number, retryAfterMs: number): Decision {
  return { allowed, remaining: Math.max(0, remaining), resetMs: Math.max(0, resetMs), retryAfterMs }
}

/** Fixed window aligned to the epoch: at most `limit` per window, up to 2× across an edge. */
export const fixedWindow: Step = (state, policy, cost, now, out) => {
  out.expiresAt = 0
  const { limit, windowMs } = policy
  const start = now - (now % windowMs)
  const count = state !== undefined && state.a === start ? state.b : 0
  const resetMs = start + windowMs - now
  if (count + cost > limit) return decision(false, limit - count, resetMs, resetMs)
  if (cost !== 0) keep(out, start, count + cost, 0, start + windowMs)
  return decision(true, limit - count - cost, resetMs, 0)
}

/**
 * Sliding window, weighted previous window (the Cloudflare estimate):
 * `prev × (W − elapsed) / W + current`. Compared as `prev × (W − elapsed) + current × W ≤ limit × W`
 * so the boundary is exact.
 */
export const slidingWindow: Step = (state, policy, cost, now, out) => {
  out.expiresAt = 0
  const { limit, windowMs: w } = policy
  const start = now - (now % w)
  let current = 0
  let previous = 0
  if (state !== undefined) {
    if (state.a === start) {
      current = state.b
      previous = state.c
    } else if (state.a === start - w) {
      previous = state.b
    }
  }
  const elapsed = now - start
  const used = previous * (w - elapsed) + current * w
  if (used + cost * w > limit * w) {
    const retryAfterMs = slidingRetry(policy, current, previous, cost, elapsed)
    return decision(
      false,
      Math.floor((limit * w - used) / w),
      slidingReset(w, elapsed, current, previous),
      retryAfterMs,
    )
  }
  if (cost !== 0) keep(out, start, current + cost, previous, start + 2 * w)
  return decision(
    true,
    Math.floor((limit * w - used - cost * w) / w),
    slidingReset(w, elapsed, current + cost, previous),
    0,
  )
}

/**
 * Milliseconds until the whole quota is available again: the current window's units stop
 * counting only at the end of the next window (there they are the decaying previous window),
 * the previous window's at the end of this one.
 */
export function slidingReset(w: number, elapsed: number, current: number, previous: number): number {
  if (current > 0) return 2 * w - elapsed
  return previous > 0 ? w - elapsed : 0
}

/** Milliseconds until `previous`'s weight has decayed enough for `cost` more units. */
function slidingRetry(
  policy: Policy,
  current: number,
  previous: number,
  cost: number,
  elapsed: number,
): number {
  const { limit, windowMs: w } = policy
  const room = limit - current - cost
  if (room >= 0 && previous > 0) return Math.max(1, w - Math.floor((room * w) / previous) - elapsed)
  // The current window alone is full: wait for the next one, where it becomes the previous.
  const nextRoom = limit - cost
  if (nextRoom < 0) return 2 * w - elapsed
  const inNext = current === 0 ? 0 : w - Math.floor((nextRoom * w) / current)
  return Math.max(1, w - elapsed + Math.max(0, inNext))
}

/**
 * Token bucket: capacity `burst`, refilled continuously at `limit` per window. Tokens are
 * kept multiplied by the window length so the refill `elapsed × limit` stays an integer.
 */
export const tokenBucket: Step = (state, policy, cost, now, out) => {
  out.expiresAt = 0
  const { limit, windowMs: w, burst } = policy
  const capacity = burst * w
  let tokens = capacity
  if (state !== undefined && now < state.expiresAt) {
    const elapsed = Math.max(0, Math.min(now - state.a, w * burst))
    tokens = Math.min(capacity, state.b + elapsed * limit)
  }
  const need = cost * w
  if (tokens < need) {
    const resetMs = Math.ceil((capacity - tokens) / limit)
    return decision(false, Math.floor(tokens / w), resetMs, Math.ceil((need - tokens) / limit))
  }
  tokens -= need
  const resetMs = Math.ceil((capacity - tokens) / limit)
  if (cost !== 0) keep(out, now, tokens, 0, now + Math.max(1, resetMs))
  return decision(true, Math.floor(tokens / w), resetMs, 0)
}

/**
 * GCRA (generic cell rate algorithm, ATM Forum TM 4.1): emission interval T = W / limit,
 * tolerance τ = burst × T. One number per key, the theoretical arrival time.
 */
export const gcra: Step = (state, policy, cost, now, out) => {
  out.expiresAt = 0
  const { limit, windowMs: w, burst } = policy
  const interval = w / limit
  const tolerance = burst * interval
  const tat = state !== undefined && state.a > now ? state.a : now
  const next = tat + cost * interval
  if (next - now > tolerance + GCRA_EPSILON) {
    const remaining = Math.floor((tolerance - (tat - now)) / interval + GCRA_EPSILON)
    const retryAfterMs = Math.max(1, Math.ceil(next - tolerance - now - GCRA_EPSILON))
    return decision(false, remaining, Math.ceil(tat - now), retryAfterMs)
  }
  const remaining = Math.floor((tolerance - (next - now)) / interval + GCRA_EPSILON)
  const resetMs = Math.ceil(next - now - GCRA_EPSILON)
  if (cost !== 0) keep(out, next, 0, 0, now + Math.max(1, resetMs))
  return decision(true, remaining, resetMs, 0)
}

/**
 * Gives back `cost` units in a record (skipped requests): only units that still count, so a
 * request that finishes after its window ended gives nothing back. Returns false when the
 * record holds nothing to give back. The same arithmetic as the REFUND scripts in lua.ts.
 */
export type Refund = (state: State, policy: Policy, cost: number, now: number) => boolean

const windowRefund: Refund = (state, policy, cost, now) => {
  const start = now - (now % policy.windowMs)
  // Fixed: only this window's count. Sliding: this window's, or the previous one's (still weighed).
  const counts =
    state.a === start || (policy.algorithm === 'sliding-window' && state.a === start - policy.windowMs)
  if (!counts) return false
  state.b = Math.max(0, state.b - cost)
  return true
}

export const REFUNDS: Readonly<Record<Policy['algorithm'], Refund>> = {
  'fixed-window': windowRefund,
  'sliding-window': windowRefund,
  'token-bucket': (state, policy, cost) => {
    state.b = Math.min(policy.burst * policy.windowMs, state.b + cost * policy.windowMs)
    return true
  },
  gcra: (state, policy, cost, now) => {
    if (state.a <= now) return false
    state.a = Math.max(now, state.a - (cost * policy.windowMs) / policy.limit)
    return true
  },
}

export const STEPS: Readonly<Record<Policy['algorithm'], Step>> = {
  'fixed-window': fixedWindow,
  'sliding-window': slidingWindow,
  'token-bucket': tokenBucket,
  gcra,
}
