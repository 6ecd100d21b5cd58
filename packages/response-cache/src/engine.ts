import type { IncomingMessage, ServerResponse } from 'node:http'
import { createLogger, type Logger, type OnceLogger, routeOf } from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import { createPrimaryKey, type primaryKey, secondaryKey } from './key'
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

export function then<T, R>(value: MaybePromise<T>, fn: (v: T) => R | Promise<R>): R | Promise<R> {
  return value instanceof Promise ? value.then(fn) : fn(value as T)
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

  const engine: Engine = {
    cfg,
    counters,
    log,
    primaryKey: createPrimaryKey(),
    status: (tail) => prefix + tail,
    xCache: (label) => (cfg.xCache ? label : undefined),
    storeOk() {
      if (!outage) return
      outage = false
      log.rearm('ERR_HOTPATH_CACHE_STORE')
    },
    storeError(error, req) {
      counters.storeErrors++
      outage = true
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
      if (!res.headersSent) {
        res.setHeader('Cache-Status', `${prefix}fwd=bypass; detail=${reason}`)
        if (cfg.xCache) res.setHeader('X-Cache', 'BYPASS')
      }
      next()
    },
    serveHit(entry, key, req, res, at) {
      counters.hit(entry.route)
      replay(entry, req, res, at, `${prefix}hit; ttl=${ttlOf(entry, at)}`, engine.xCache('HIT'))
      if (entry.compress) compressLater(entry, key)
    },
    lookup(primary, req) {
      return then(store.get(primary), (value): MaybePromise<Found> => {
        if (value === undefined || value.kind === 'entry') return { entry: value, key: primary }
        const key = secondaryKey(primary, value.fields, req.headers)
        return then(store.get(key), (entry) => ({ entry: entry?.kind === 'entry' ? entry : undefined, key }))
      })
    },
  }

  /** Makes the stored gzip/br encodings once, after the first hit, on the libuv thread pool. */
  function compressLater(entry: CacheEntry, key: string): void {
    if (compressing.has(key) || cfg.encodings.length === 0) return
    compressing.add(key)
    makeVariants(entry.body, cfg.encodings)
      .then((variants) =>
        // Re-read before writing: an invalidation (or a fresher entry) that landed while the
        // variants were being made must win, never be undone by this background write.
        then(store.get(key), (current) => {
          if (current?.kind !== 'entry' || current.storedAt !== entry.storedAt) return
          const left = Math.max(entry.staleUntil, entry.errorUntil) - now()
          if (left <= 0) return
          counters.variantsBuilt++
          return store.set(key, { ...entry, variants, compress: false }, left, entry.tags)
        }),
      )
      .catch((error: unknown) => engine.storeError(error, undefined))
      .finally(() => compressing.delete(key))
  }

  return engine
}
