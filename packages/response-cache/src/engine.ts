import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  createLogger,
  headersSent,
  type Logger,
  negotiateEncoding,
  type OnceLogger,
  routeOf,
  setHeader,
} from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import { createInvalidations, type Invalidations, isOutage } from './invalidation'
import { createPrimaryKey, type primaryKey, secondaryKey } from './key'
import { then } from './maybe'
import { type Config, PKG } from './options'
import { replay } from './replay'
import { type Counters, createCounters } from './stats'
import type { CacheEntry, MaybePromise } from './types'
import { makeVariants } from './variants'

/** What a lookup found: the entry (if any) and the key it lives under. */
export interface Found {
  readonly entry: CacheEntry | undefined
  readonly key: string
}

/** The state and helpers one cache instance shares between its modules. */
export interface Engine {
  readonly cfg: Config
  readonly counters: Counters
  readonly log: OnceLogger
  /** Invalidations in force here until the store applied them (and a while after). */
  readonly invalidations: Invalidations
  status(tail: string): string
  xCache(label: string): string | undefined
  storeOk(): void
  storeError(error: unknown, req: Request | undefined): void
  bypass(req: Request, res: Response, next: NextFunction, reason: string): void
  serveHit(entry: CacheEntry, key: string, req: IncomingMessage, res: ServerResponse, at: number): void
  lookup(primary: string, req: IncomingMessage): MaybePromise<Found>
  /** The primary key of a request (memoised per instance). */
  readonly primaryKey: typeof primaryKey
}

/** Whole seconds of freshness left (negative once stale), for `Cache-Status: ttl` (RFC 9211 §2.5). */
export function ttlOf(entry: CacheEntry, at: number): number {
  return Math.floor((entry.expiresAt - at) / 1000)
}

export function createEngine(cfg: Config, logger: Logger | undefined): Engine {
  const { store, now } = cfg
  const log = createLogger(logger)
  const counters = createCounters()
  const compressing = new Set<string>()
  const prefix = `${cfg.cacheName}; `
  let outage = false
  const invalidations = createInvalidations(store, now, cfg.lockTtl, log, (error) =>
    engine.storeError(error, undefined),
  )
  /** An entry invalidated here after it was stored (or from before an outage) is a miss. */
  const usable = (entry: CacheEntry | undefined): CacheEntry | undefined =>
    entry === undefined || !invalidations.refuses(entry) ? entry : undefined

  const engine: Engine = {
    cfg,
    counters,
    log,
    invalidations,
    primaryKey: createPrimaryKey(),
    status: (tail) => prefix + tail,
    xCache: (label) => (cfg.xCache ? label : undefined),
    storeOk() {
      if (!outage) return
      outage = false
      invalidations.outageOver(now())
      log.rearm('ERR_HOTPATH_CACHE_STORE')
    },
    storeError(error, req) {
      counters.storeErrors++
      // An answer the store gave (Redis OOM) is an error of one command, not an outage.
      if (isOutage(error)) {
        outage = true
        invalidations.outageSeen(now())
      }
      const message = error instanceof Error ? error.message : String(error)
      log.warnOnce(
        'ERR_HOTPATH_CACHE_STORE',
        `${PKG}: the ${store.kind} store failed (${message}); requests run uncached until it answers again.`,
      )
      if (cfg.onError === undefined) return
      try {
        cfg.onError(error, req)
      } catch {
        // A failing hook must not fail the request it reports on.
      }
    },
    bypass(req, res, next, reason) {
      counters.bypass(routeOf(req), reason)
      if (!headersSent(res)) {
        setHeader(res, 'Cache-Status', `${prefix}fwd=bypass; detail=${reason}`)
        if (cfg.xCache) setHeader(res, 'X-Cache', 'BYPASS')
      }
      next()
    },
    serveHit(entry, key, req, res, at) {
      counters.hit(entry.route)
      replay(entry, req, res, at, `${prefix}hit; ttl=${ttlOf(entry, at)}`, engine.xCache('HIT'))
      if (entry.compress) {
        // Only the encoding this client asks for, made on its first hit: an entry never hit by a
        // gzip client never pays for gzip, one never hit at all pays for nothing.
        const want = negotiateEncoding(req.headers['accept-encoding'], cfg.encodings)
        if (want && entry.variants[want] === undefined) compressLater(entry, key, want)
      }
    },
    lookup(primary, req) {
      return then(store.get(primary), (value): MaybePromise<Found> => {
        if (value === undefined || value.kind === 'entry') return { entry: usable(value), key: primary }
        const key = secondaryKey(primary, value.fields, req.headers)
        return then(store.get(key), (entry) => ({
          entry: entry?.kind === 'entry' ? usable(entry) : undefined,
          key,
        }))
      })
    },
  }

  /** Makes one stored encoding, on the libuv thread pool, after the first hit that asks for it. */
  function compressLater(entry: CacheEntry, key: string, encoding: string): void {
    const job = `${encoding}:${key}`
    if (compressing.has(job)) return
    compressing.add(job)
    makeVariants(entry.body, [encoding])
      .then((made) =>
        // Re-read before writing: an invalidation (or a fresher entry) that landed while the
        // variants were being made must win, never be undone by this background write.
        then(store.get(key), (current) => {
          if (current?.kind !== 'entry' || current.storedAt !== entry.storedAt) return
          const left = Math.max(current.staleUntil, current.errorUntil, current.expiresAt) - now()
          if (left <= 0) return
          const variants = { ...current.variants, ...made }
          // A body this encoding does not shrink will not shrink with the others either.
          const compress =
            made[encoding] !== undefined && cfg.encodings.some((e) => variants[e] === undefined)
          if (made[encoding] !== undefined) counters.variantsBuilt++
          return store.set(key, { ...current, variants, compress }, left, current.tags)
        }),
      )
      .catch((error: unknown) => engine.storeError(error, undefined))
      .finally(() => compressing.delete(job))
  }

  return engine
}
