import type { OnceLogger } from '@hotpath/core'
import { isAnswer } from './stores/redis-scripts'
import type { CacheEntry, CacheStore } from './types'

/** What `invalidate()` resolves. */
export interface InvalidationResult {
  /** Entries the store removed (0 while the store has not applied it yet). */
  readonly removed: number
  /** The store has applied it; `false`: it is queued and retried, and refused here meanwhile. */
  readonly applied: boolean
  /** Invalidations of this instance still waiting for the store. */
  readonly pending: number
}

/** One invalidated tag (`u:` URL, `p:` prefix, or a user tag): entries stored up to `at` are refused. */
interface Mark {
  at: number
  applied: boolean
  /** Dropped after this once applied: misses that began before it have finished by then. */
  keepUntil: number
}

/** Tag of `clear()` / `invalidate({ prefix: '/' })`: every entry. */
export const ALL = '*'
const MAX_MARKS = 10_000
const RETRY_FIRST_MS = 50
/** A pending invalidation is retried at least this often while the store is back (see README). */
export const RETRY_MAX_MS = 1000
/**
 * After an outage this instance saw, it refuses entries stored before the outage for this long:
 * the time another instance needs to apply what it was asked to invalidate meanwhile (its
 * retry interval plus a circuit breaker's default cooldown, with room for the deadline).
 */
export const RECOVERY_MS = 3000

/**
 * A store error that means the store is unreachable or cannot serve now, as opposed to an
 * answer it gave (Redis `OOM`, `WRONGTYPE`, …: the server is up and the next command may work).
 */
export function isOutage(error: unknown): boolean {
  return !isAnswer(error)
}

export interface Invalidations {
  /** Puts an invalidation of `tag` in force here, then has the store apply it (retried until it does). */
  invalidate(tag: string): Promise<InvalidationResult>
  /** Whether a stored entry must not be served: invalidated here after it was stored, or from before an outage. */
  refuses(entry: CacheEntry): boolean
  /** Whether an entry with these tags, from a miss that began at `since`, was invalidated meanwhile. */
  invalidatedSince(tags: readonly string[], since: number): boolean
  /** Invalidations not yet applied by the store. */
  pending(): number
  outageSeen(at: number): void
  outageOver(at: number): void
  close(): void
}

/**
 * Invalidations that are never lost. Each one is first marked here (a generation per tag:
 * entries stored before it are refused on read), then sent to the store; a store that is down
 * gets it again with backoff until it applies it. A mark stays `hold` ms after it applied, so a
 * miss that began before the invalidation cannot store its older answer (it is checked at store
 * time). For the other instances sharing the store, an outage is bounded on reconnect: an
 * instance that saw the store fail refuses everything stored before the outage for
 * `RECOVERY_MS` after the store answers again, the time the pending invalidations of its peers
 * take to land.
 */
export function createInvalidations(
  store: CacheStore,
  now: () => number,
  hold: number,
  log: OnceLogger,
  onError: (error: unknown) => void,
): Invalidations {
  const marks = new Map<string, Mark>()
  let pendingCount = 0
  let timer: NodeJS.Timeout | undefined
  let delay = RETRY_FIRST_MS
  let closed = false
  let inOutage = false
  let outageSince = 0
  let recoveryUntil = 0
  let nextSweep = 0

  const apply = (tag: string, at: number): Promise<number> =>
    Promise.resolve(tag === ALL ? Promise.resolve(store.clear()).then(() => 0) : store.deleteTag(tag, at))

  function mark(tag: string, at: number): Mark {
    let m = marks.get(tag)
    if (m === undefined) {
      if (marks.size >= MAX_MARKS) prune(at)
      m = { at, applied: false, keepUntil: 0 }
      marks.set(tag, m)
      pendingCount++
    } else {
      m.at = Math.max(m.at, at)
      if (m.applied) pendingCount++
      m.applied = false
    }
    return m
  }

  function settled(m: Mark, at: number): void {
    if (m.applied) return
    m.applied = true
    m.keepUntil = at + hold
    pendingCount--
  }

  /** Drops expired applied marks; when every mark is pending, they fold into one `ALL` mark. */
  function prune(at: number): void {
    for (const [tag, m] of marks) if (m.applied && m.keepUntil <= at) marks.delete(tag)
    if (marks.size < MAX_MARKS) return
    log.warnOnce(
      'ERR_HOTPATH_CACHE_INVALIDATIONS',
      `@hotpath/response-cache: more than ${MAX_MARKS} invalidations are waiting for the store; they are folded into one clear() of the store, applied when it answers.`,
    )
    let newest = at
    for (const m of marks.values()) newest = Math.max(newest, m.at)
    marks.clear()
    pendingCount = 1
    marks.set(ALL, { at: newest, applied: false, keepUntil: 0 })
  }

  function schedule(): void {
    if (timer !== undefined || closed || pendingCount === 0) return
    timer = setTimeout(retry, delay)
    timer.unref()
    delay = Math.min(delay * 2, RETRY_MAX_MS)
  }

  async function retry(): Promise<void> {
    timer = undefined
    const waiting = [...marks].filter(([, m]) => !m.applied)
    let failed = false
    for (const [tag, m] of waiting) {
      const at = m.at
      try {
        await apply(tag, at)
        // Applied what was asked up to `at`; a newer invalidation of the tag stays pending.
        if (m.at === at) settled(m, now())
      } catch (error) {
        failed = true
        onError(error)
        break
      }
    }
    if (!failed) delay = RETRY_FIRST_MS
    schedule()
  }

  return {
    async invalidate(tag) {
      const at = now()
      const m = mark(tag, at)
      try {
        const removed = await apply(tag, at)
        if (m.at === at) settled(m, now())
        return { removed, applied: true, pending: pendingCount }
      } catch (error) {
        onError(error)
        schedule()
        return { removed: 0, applied: false, pending: pendingCount }
      }
    },
    refuses(entry) {
      // The common case (no outage, nothing invalidated lately) costs a hit two comparisons.
      if (!inOutage && recoveryUntil === 0 && marks.size === 0) return false
      const at = now()
      if (at >= nextSweep) {
        nextSweep = at + hold
        for (const [tag, m] of marks) if (m.applied && m.keepUntil <= at) marks.delete(tag)
      }
      // The first read that works after an outage runs before it is known to be over.
      if (inOutage || recoveryUntil !== 0) {
        if (!inOutage && at >= recoveryUntil) recoveryUntil = 0
        else if (entry.storedAt < outageSince) return true
      }
      if (marks.size === 0) return false
      const all = marks.get(ALL)
      if (all !== undefined && all.at > entry.storedAt) return true
      for (const tag of entry.tags) {
        const m = marks.get(tag)
        if (m !== undefined && m.at > entry.storedAt) return true
      }
      return false
    },
    invalidatedSince(tags, since) {
      if (marks.size === 0) return false
      const all = marks.get(ALL)
      if (all !== undefined && all.at > since) return true
      for (const tag of tags) {
        const m = marks.get(tag)
        if (m !== undefined && m.at > since) return true
      }
      return false
    },
    pending: () => pendingCount,
    outageSeen(at) {
      if (inOutage) return
      inOutage = true
      outageSince = at
      recoveryUntil = 0
    },
    outageOver(at) {
      if (!inOutage) return
      inOutage = false
      recoveryUntil = at + RECOVERY_MS
    },
    close() {
      closed = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
    },
  }
}
