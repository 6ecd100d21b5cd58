import { HotpathError } from './errors'

/** Rejects with `ERR_HOTPATH_DEADLINE` when `work` has not settled within `ms`. */
export function withDeadline<T>(work: Promise<T>, ms: number, what = 'store command'): Promise<T> {
  if (!(ms > 0) || !Number.isFinite(ms)) return work
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new HotpathError('ERR_HOTPATH_DEADLINE', `${what} did not answer within ${ms} ms`))
    }, ms)
    work.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}

export type CircuitState = 'closed' | 'open' | 'half-open'

export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. Default 3. */
  failureThreshold?: number
  /** How long the circuit stays open before one trial call is let through, in ms. Default 1000. */
  cooldown?: number
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
}

export interface CircuitBreaker {
  readonly state: CircuitState
  /** `true` when a call may go to the store now (closed, or the half-open trial). */
  allow(): boolean
  success(): void
  failure(): void
}

/**
 * A consecutive-failure circuit breaker: while a store is down, requests stop waiting for
 * its deadline and take the failure policy at once; one trial call per cooldown probes it.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions = {}): CircuitBreaker {
  const threshold = options.failureThreshold ?? 3
  const cooldown = options.cooldown ?? 1000
  const now = options.now ?? Date.now
  let state: CircuitState = 'closed'
  let failures = 0
  let openedAt = 0
  return {
    get state() {
      return state
    },
    allow() {
      if (state === 'closed') return true
      if (state === 'open' && now() - openedAt >= cooldown) {
        state = 'half-open'
        return true
      }
      return false
    },
    success() {
      failures = 0
      state = 'closed'
    },
    failure() {
      failures++
      if (state === 'half-open' || failures >= threshold) {
        state = 'open'
        openedAt = now()
      }
    },
  }
}

/** The part of an ioredis client (standalone or Cluster) that script loading needs. */
export interface ScriptHost {
  defineCommand(name: string, definition: { numberOfKeys?: number; lua: string }): void
}

/**
 * Registers Lua scripts through ioredis `defineCommand`, which sends EVALSHA and falls back
 * to EVAL on NOSCRIPT, so scripts survive `SCRIPT FLUSH`, restarts and failover.
 * Scripts already defined on the client are left alone, so two stores can share a client.
 */
export function defineScripts(
  client: ScriptHost,
  scripts: Record<string, { keys: number; lua: string }>,
): void {
  const host = client as unknown as Record<string, unknown>
  for (const [name, script] of Object.entries(scripts)) {
    if (typeof host[name] === 'function') continue
    client.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua })
  }
}

/** Wraps `tag` in a Redis Cluster hash tag so every key of one logical record maps to one slot. */
export function hashTag(tag: string): string {
  return `{${tag.replace(/[{}]/g, '_')}}`
}
