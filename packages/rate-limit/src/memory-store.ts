import { optionError, rejectUnknownOptions } from '@hotpath/core'
import { STEPS, type State } from './algorithms'
import type { Decision, Policy, Store } from './types'

export interface MemoryStoreOptions {
  /** Most keys kept; the least recently used is dropped beyond it. Default 100 000. */
  maxKeys?: number
  /** Clock in ms, for tests. Default `Date.now`. */
  now?: () => number
}

const KNOWN = ['maxKeys', 'now'] as const
const PKG = '@hotpath/rate-limit MemoryStore'

/**
 * A bounded in-process store. A `Map` keeps insertion order, so re-inserting a key on
 * each write makes its first entry the least recently used one: eviction and lazy expiry
 * are O(1) and no timer exists per key (or at all), so `close()` only drops the records.
 * It answers synchronously, which keeps the middleware free of promises.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory'
  private readonly records = new Map<string, State>()
  private readonly maxKeys: number
  private readonly now: () => number

  constructor(options: Readonly<MemoryStoreOptions> = {}) {
    rejectUnknownOptions(PKG, options, KNOWN)
    const maxKeys = options.maxKeys ?? 100_000
    if (!Number.isInteger(maxKeys) || maxKeys < 1) {
      optionError(PKG, `maxKeys must be a positive integer, got ${String(maxKeys)}.`)
    }
    if (options.now !== undefined && typeof options.now !== 'function') {
      optionError(PKG, 'now must be a function returning milliseconds.')
    }
    this.maxKeys = maxKeys
    this.now = options.now ?? Date.now
  }

  /** Keys currently held (expired ones may linger until touched or evicted). */
  get size(): number {
    return this.records.size
  }

  consume(key: string, policy: Policy, cost: number): Decision {
    const now = this.now()
    let state = this.records.get(key)
    if (state !== undefined && state.expiresAt <= now) {
      this.records.delete(key)
      state = undefined
    }
    const outcome = STEPS[policy.algorithm](state, policy, cost, now)
    const write = outcome.write
    if (write !== undefined) {
      if (state !== undefined) {
        // Move to the most recently used end and update in place (no new record).
        this.records.delete(key)
        state.a = write.a
        state.b = write.b
        state.c = write.c
        state.expiresAt = write.expiresAt
        this.records.set(key, state)
      } else {
        this.records.set(key, write)
        this.trim(now)
      }
    }
    return outcome.decision
  }

  reset(key: string): void {
    this.records.delete(key)
  }

  close(): void {
    this.records.clear()
  }

  /** Drops the oldest record when it has expired or when the store is over its bound. */
  private trim(now: number): void {
    for (let i = 0; i < 2; i++) {
      const oldest = this.records.entries().next()
      if (oldest.done) return
      const [key, state] = oldest.value
      if (state.expiresAt > now && this.records.size <= this.maxKeys) return
      this.records.delete(key)
    }
  }
}
