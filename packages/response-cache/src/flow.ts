import type { OutgoingHttpHeaders } from 'node:http'
import { appendVary, createHttpDateFormat, getHeader, getHeaders, routeOf, setHeader } from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import { type Captured, createCapture, cutShort, declaredLength } from './capture'
import type { Engine, Found } from './engine'
import { ttlOf } from './engine'
import { buildEntry, type Placement, storeEntry } from './entry'
import { secondaryKey } from './key'
import { createLease } from './lock'
import { then } from './maybe'
import type { RouteConfig } from './options'
import { responseVerdict, type Verdict } from './policy'
import { replay } from './replay'
import { missStatus, resolveTtl } from './status'
import type { MaybePromise } from './types'
import { compressibleType } from './variants'

/** What a coalesced leader hands its waiters: what it stored, or nothing to share. */
export type Outcome = Placement | undefined

/** One request's cache context. */
export interface Ctx {
  readonly req: Request
  readonly res: Response
  readonly next: NextFunction
  /** The route's configuration: a `cache.route()` layer after an `app.use(cache)` one replaces it. */
  route: RouteConfig
  readonly primary: string
  /** The key has no custom parts, so `front()` may serve the entry. */
  readonly front: boolean
  /** The route's `ttl` for this response, resolved once as its head goes out. */
  ttl?: number | Promise<number>
  /** Why it will not be stored, when known before the body is (e.g. too large). */
  notStored?: string
  /** The verdict on the headers as they went out (computed for Cache-Status). */
  headVerdict?: Verdict
  /** The headers that verdict was read from, as the head went out (the capture keeps them). */
  headHeaders?: OutgoingHttpHeaders
  /** A later `cache.route()` layer keys the request differently: this context stores nothing. */
  superseded?: boolean
}

const LOCK_POLL_MS = 25

export interface Flow {
  miss(ctx: Ctx): void
  finishMiss(ctx: Ctx, captured: Captured | null): Promise<Outcome>
}

/**
 * `forget(ctx)`: called once a miss's capture is over, so the instance's record of the request
 * stops holding that context (see middleware.ts).
 */
export function createFlow(engine: Engine, forget: (ctx: Ctx) => void): Flow {
  const { cfg, counters } = engine
  const { store, now } = cfg
  /** Misses in progress: the callbacks of the requests waiting for each (no promise per miss). */
  const inflight = new Map<string, Array<(outcome: Outcome) => void>>()
  // A store that copies what it keeps is handed the captured bytes without a copy of their own.
  const captureResponse = createCapture(store.copiesBodies !== true, now)
  const lease = createLease(store, cfg.lockTtl)
  // The Date a stored response without one gets: formatted once a second, not once a miss.
  const httpDate = createHttpDateFormat()

  /**
   * Counts a finished miss and stores the response when it qualifies; what was stored. Without
   * a promise when nothing waits: a response that is not stored, or a static route's entry put
   * in a synchronous store (memory).
   */
  function recordMiss(ctx: Ctx, captured: Captured | null): MaybePromise<Outcome> {
    const { req, route } = ctx
    const label = routeOf(req)
    // A body cut short of its Content-Length is not a complete response (RFC 9111 §3.4).
    if (captured === null || cutShort(captured)) {
      // Not captured because its head already said it would not be stored (no-store, …):
      // that reason, not "incomplete" (the stats then count a no-store answer as a bypass).
      const head = captured === null ? ctx.headVerdict : undefined
      counters.miss(label, ctx.notStored ?? (head !== undefined && !head.store ? head.reason : 'incomplete'))
      return undefined
    }
    const at = now()
    const verdict = ctx.headVerdict ?? responseVerdict(captured.status, captured.headers, route, at)
    if (!verdict.store) {
      counters.miss(label, verdict.reason)
      return undefined
    }
    counters.miss(label)
    const placement = buildEntry(captured, verdict, req, ctx.res, route, ctx.primary, ctx.front, {
      variantMinBytes: cfg.variantMinBytes,
      now: at,
      date: httpDate,
      ttl: ctx.ttl,
    })
    return then(placement, (placed) =>
      placed === undefined ? notPlaced(ctx, verdict) : place(ctx, captured, placed),
    )
  }

  /** Why an entry that passed the head's checks came out with no lifetime. */
  function notPlaced(ctx: Ctx, verdict: Verdict & { store: true }): MaybePromise<Outcome> {
    const { route } = ctx
    const none = verdict.fresh.explicit === undefined && verdict.fresh.heuristic === undefined
    const reason = (ttl: unknown): undefined => {
      counters.notStored(
        typeof ttl === 'number' && !(ttl > 0)
          ? 'ttl-0'
          : route.freshness === 'origin' && none
            ? 'no-freshness'
            : 'expired',
      )
      return undefined
    }
    if (route.freshness !== 'ttl') return reason(1)
    const ttl = ctx.ttl ?? route.ttl
    return ttl instanceof Promise ? ttl.then(reason, () => reason(0)) : reason(ttl)
  }

  function place(ctx: Ctx, captured: Captured, placement: Placement): MaybePromise<Outcome> {
    // An invalidation that landed while the handler ran must not be undone by its older answer.
    if (
      captured.startedAt !== undefined &&
      engine.invalidations.invalidatedSince(placement.entry.tags, captured.startedAt)
    ) {
      counters.notStored('invalidated')
      return undefined
    }
    const stored = (): Outcome => {
      counters.stores++
      engine.storeOk()
      return placement
    }
    const failed = (error: unknown): Outcome => {
      engine.storeError(error, ctx.req)
      return placement
    }
    let pending: void | Promise<void>
    try {
      pending = storeEntry(store, ctx.primary, placement, captured.startedAt)
    } catch (error) {
      return failed(error)
    }
    return pending instanceof Promise ? pending.then(stored, failed) : stored()
  }

  /** {@link recordMiss} as a promise, for the callers that wait on it. */
  function finishMiss(ctx: Ctx, captured: Captured | null): Promise<Outcome> {
    try {
      return Promise.resolve(recordMiss(ctx, captured))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Decided as the head goes out: Cache-Status, and the Vary fields the entry will carry. A
   * response its own head rules out (private, Set-Cookie, …) gets its final Cache-Status at once.
   */
  function onHeaders(ctx: Ctx): boolean {
    const { res, route } = ctx
    const verdict = responseVerdict(res.statusCode, getHeaders(res), route, now())
    if (!verdict.store) {
      ctx.headVerdict = verdict
      for (const field of route.vary) appendVary(res, field)
      setHeader(res, 'Cache-Status', engine.status(`fwd=miss; detail=${verdict.reason}`))
      if (cfg.xCache) setHeader(res, 'X-Cache', 'MISS')
      return false
    }
    const length = declaredLength(getHeader(res, 'content-length'))
    if (length !== undefined && length > route.maxEntryBytes) ctx.notStored = 'size'
    // Vary: Accept-Encoding only where a stored variant can differ: a compressible identity
    // body known to be large enough. One of unknown length gets it on the hits that have variants.
    if (
      cfg.encodings.length > 0 &&
      length !== undefined &&
      length >= cfg.variantMinBytes &&
      getHeader(res, 'content-encoding') === undefined &&
      compressibleType(getHeader(res, 'content-type'))
    ) {
      appendVary(res, 'Accept-Encoding')
    }
    for (const field of route.vary) appendVary(res, field)
    resolveTtl(ctx)
    const status = missStatus(engine, ctx)
    setHeader(res, 'Cache-Status', status.value as unknown as string)
    status.arm()
    if (cfg.xCache) setHeader(res, 'X-Cache', 'MISS')
    return ctx.notStored === undefined
  }

  /** Runs the handler with the response teed into a copy; `onOutcome` runs exactly once. */
  function runMiss(ctx: Ctx, onOutcome: (outcome: Outcome) => void): void {
    captureResponse(
      ctx.res,
      // Read as the body grows: a later cache.route() layer may bring its own maxEntryBytes.
      () => ctx.route.maxEntryBytes,
      () => onHeaders(ctx),
      (captured) => {
        forget(ctx)
        let outcome: MaybePromise<Outcome>
        try {
          outcome = recordMiss(ctx, ctx.superseded === true ? null : captured)
        } catch (error) {
          engine.storeError(error, ctx.req)
          outcome = undefined
        }
        if (!(outcome instanceof Promise)) {
          // This may run inside the response's writeHead: nothing thrown here may reach it.
          try {
            onOutcome(outcome)
          } catch (error) {
            engine.storeError(error, ctx.req)
          }
          return
        }
        outcome.then(onOutcome, (error: unknown) => {
          engine.storeError(error, ctx.req)
          onOutcome(undefined)
        })
      },
      () => ctx.headHeaders,
    )
    ctx.next()
  }

  /** A waiter reuses the leader's entry only when it was stored and its secondary key matches. */
  function join(ctx: Ctx, waiters: Array<(outcome: Outcome) => void>): void {
    counters.coalesced++
    waiters.push((outcome) => {
      const { req, res, primary } = ctx
      // An entry stored only to be revalidated (no-cache, arrived stale) is not handed on.
      if (outcome !== undefined && !res.headersSent && now() < outcome.entry.expiresAt) {
        const same =
          outcome.fields.length === 0 || secondaryKey(primary, outcome.fields, req.headers) === outcome.key
        if (same) {
          const at = now()
          counters.hit(outcome.entry.route)
          const tail = `fwd=miss; collapsed; ttl=${ttlOf(outcome.entry, at)}`
          replay(outcome.entry, req, res, at, engine.status(tail), engine.xCache('HIT'))
          return
        }
      }
      runMiss(ctx, () => undefined)
    })
  }

  /**
   * Polls for the entry another instance is making while it holds the lock; `'gone'` when the
   * lock went without an entry (its holder died or gave up: see lock.ts).
   */
  async function awaitOtherInstance(ctx: Ctx): Promise<Found | 'gone' | undefined> {
    // Bounded by a number of polls, not by `now()`: the clock option may be a test's fake clock.
    const polls = Math.ceil(Math.min(cfg.lockTtl, 2000) / LOCK_POLL_MS)
    for (let i = 0; i < polls; i++) {
      await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS))
      const found = await engine.lookup(ctx.primary, ctx.req)
      if (found.entry !== undefined && now() < found.entry.expiresAt) return found
      if (!(await lease.alive(ctx.primary))) return 'gone'
    }
    return undefined
  }

  /** With a shared store one instance at a time runs the handler for a key (a lock with expiry). */
  async function leadShared(ctx: Ctx, settle: (outcome: Outcome) => void): Promise<void> {
    let token = await store.lock(ctx.primary, lease.lease)
    let found: Found | undefined
    if (token === undefined) {
      const waited = await awaitOtherInstance(ctx)
      // The holder is gone: this request runs the handler, under the lock if it can take it.
      if (waited === 'gone')
        token = await Promise.resolve(store.lock(ctx.primary, lease.lease)).catch(() => undefined)
      else found = waited
    } else {
      // Double-checked: another instance may have stored it between our lookup and the lock.
      found = await engine.lookup(ctx.primary, ctx.req)
      if (found.entry === undefined || now() >= found.entry.expiresAt) found = undefined
      else Promise.resolve(store.unlock(ctx.primary, token)).catch(() => undefined)
    }
    if (found?.entry !== undefined) {
      const entry = found.entry
      counters.coalesced++
      settle(found.key === ctx.primary ? { entry, key: found.key, fields: [], storeTtl: 0 } : undefined)
      engine.serveHit(entry, found.key, ctx.req, ctx.res, now())
      return
    }
    const stop = token === undefined ? undefined : lease.hold(ctx.primary, token)
    runMiss(ctx, (outcome) => {
      stop?.()
      settle(outcome)
      if (token !== undefined) Promise.resolve(store.unlock(ctx.primary, token)).catch(() => undefined)
    })
  }

  /** A miss: one request per key runs the handler, concurrent ones wait for its outcome. */
  function miss(ctx: Ctx): void {
    if (ctx.req.method === 'HEAD') {
      // A HEAD answer has no body to store; it only passes through.
      counters.miss(routeOf(ctx.req), 'head')
      ctx.res.setHeader('Cache-Status', engine.status('fwd=miss; detail=head'))
      if (cfg.xCache) ctx.res.setHeader('X-Cache', 'MISS')
      ctx.next()
      return
    }
    if (!cfg.coalesce) {
      runMiss(ctx, () => undefined)
      return
    }
    const pending = inflight.get(ctx.primary)
    if (pending !== undefined) {
      join(ctx, pending)
      return
    }
    const waiters: Array<(outcome: Outcome) => void> = []
    inflight.set(ctx.primary, waiters)
    const settle = (outcome: Outcome): void => {
      if (inflight.get(ctx.primary) === waiters) inflight.delete(ctx.primary)
      if (waiters.length === 0) return
      // Not on this response's stack (the outcome of a response that is not stored comes
      // inside its writeHead): each waiter runs its own handler or replay.
      queueMicrotask(() => {
        for (const waiter of waiters) {
          try {
            waiter(outcome)
          } catch (error) {
            engine.storeError(error, ctx.req)
          }
        }
      })
    }
    if (!store.shared) {
      runMiss(ctx, settle)
      return
    }
    leadShared(ctx, settle).catch((error: unknown) => {
      engine.storeError(error, ctx.req)
      settle(undefined)
      if (!ctx.res.headersSent) engine.bypass(ctx.req, ctx.res, ctx.next, 'store-error')
    })
  }

  return { miss, finishMiss }
}
