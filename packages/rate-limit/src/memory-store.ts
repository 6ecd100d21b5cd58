import { optionError, rejectUnknownOptions } from '@hotpath/core'
import { REFUNDS, STEPS, type State } from './algorithms'
import type { Decision, Policy, Store } from './types'

export interface MemoryStoreOptions {
  /** Most keys kept; the least recently used is dropped beyond it. Default 100 000. */
  maxKeys?: number
  /** Clock in ms, for tests. Default `Date.now`. */
  now?: () => number
}

const KNOWN = ['maxKeys', 'now'] as const
const PKG = '@hotpath/rate-limit MemoryStore'

/** A record and the insertion count at which it last moved to the recent end. */
interface Entry extends State {
  touched: number
}

/**
 * A bounded in-process store. A `Map` keeps insertion order, so re-inserting a key makes
 * its first entry the least recently used one: eviction and lazy expiry are O(1) and no
 * timer exists per key (or at all), so `close()` only drops the records.
 * A hot key is re-inserted only once an eighth of `maxKeys` insertions have happened since
 * it last moved, which keeps it far from the old end at a fraction of the cost.
 * It answers synchronously, which keeps the middleware free of promises.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory'
  private readonly records = new Map<string, Entry>()
  private readonly maxKeys: number
  private readonly refreshAfter: number
  private readonly now: () => number
  private readonly scratch: State = { a: 0, b: 0, c: 0, expiresAt: 0 }
  private insertions = 0

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
    this.refreshAfter = Math.floor(maxKeys / 8)
    this.now = options.now ?? Date.now
  }

  /** Keys currently held (expired ones may linger until touched or evicted). */
  get size(): number {
    return this.records.size
  }

  consume(key: string, policy: Policy, cost: number): Decision {
    const now = this.now()
    let entry = this.records.get(key)
    if (entry !== undefined && entry.expiresAt <= now) {
      this.records.delete(key)
      entry = undefined
    }
    const out = this.scratch
    const decision = STEPS[policy.algorithm](entry, policy, cost, now, out)
    if (out.expiresAt === 0) return decision
    if (entry === undefined) {
      this.records.set(key, {
        a: out.a,
        b: out.b,
        c: out.c,
        expiresAt: out.expiresAt,
        touched: this.insertions++,
      })
      this.trim(now)
      return decision
    }
    entry.a = out.a
    entry.b = out.b
    entry.c = out.c
    entry.expiresAt = out.expiresAt
    if (this.insertions - entry.touched > this.refreshAfter) {
      this.records.delete(key)
      this.records.set(key, entry)
      entry.touched = this.insertions++
    }
    return decision
  }

  resetKey(key: string): void {
    this.records.delete(key)
  }

  refund(key: string, policy: Policy, cost: number): void {
    const entry = this.records.get(key)
    const now = this.now()
    if (entry === undefined || entry.expiresAt <= now) return
    REFUNDS[policy.algorithm](entry, policy, cost, now)
  }

  close(): void {
    this.records.clear()
  }

  /** Drops the oldest record when it has expired or when the store is over its bound. */
  private trim(now: number): void {
    for (let i = 0; i < 2; i++) {
      const oldest = this.records.entries().next()
      if (oldest.done) return
      const [key, entry] = oldest.value
      if (entry.expiresAt > now && this.records.size <= this.maxKeys) return
      this.records.delete(key)
    }
  }
}
