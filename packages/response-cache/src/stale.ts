import type { OutgoingHttpHeaders } from 'node:http'
import { type Engine, ttlOf } from './engine'
import type { Ctx, Flow } from './flow'
import { responseVerdict } from './policy'
import { replay } from './replay'
import { shadowResponse } from './shadow'
import type { CacheEntry } from './types'

export interface Stale {
  /** stale-while-revalidate: serve `entry` now, refresh once in the background (RFC 5861 §3). */
  serveAndRefresh(ctx: Ctx, entry: CacheEntry, at: number): void
  /** stale-if-error: run the handler out of sight; a 5xx or a throw gets `entry` (RFC 5861 §4). */
  orStale(ctx: Ctx, entry: CacheEntry): void
}

export function createStale(engine: Engine, flow: Flow): Stale {
  const { cfg, counters } = engine
  const { store, now } = cfg
  /** Keys this instance is refreshing, until when — so one refresh runs per key even before the lock answers. */
  const refreshing = new Map<string, number>()

  function refresh(ctx: Ctx): void {
    const { req, res, primary } = ctx
    const at = now()
    if ((refreshing.get(primary) ?? 0) > at) return
    refreshing.set(primary, at + cfg.lockTtl)
    const lockKey = `r:${primary}`
    const done = (token: string) => {
      refreshing.delete(primary)
      Promise.resolve(store.unlock(lockKey, token)).catch(() => undefined)
    }
    Promise.resolve(store.lock(lockKey, cfg.lockTtl))
      .then((token) => {
        if (token === undefined) return
        // The client has its answer; its validators must not turn the refresh into a 304.
        delete req.headers['if-none-match']
        delete req.headers['if-modified-since']
        shadowResponse(res, (captured) => {
          flow
            .finishMiss(ctx, captured)
            .catch((error: unknown) => engine.storeError(error, req))
            .finally(() => done(token))
        })
        ctx.next()
      })
      .catch((error: unknown) => {
        refreshing.delete(primary)
        engine.storeError(error, req)
      })
  }

  function serveAndRefresh(ctx: Ctx, entry: CacheEntry, at: number): void {
    counters.stale(entry.route)
    replay(
      entry,
      ctx.req,
      ctx.res,
      at,
      engine.status(`fwd=stale; ttl=${ttlOf(entry, at)}`),
      engine.xCache('STALE'),
    )
    // A HEAD response has no body to store, so only a GET refreshes.
    if (ctx.req.method === 'GET') refresh(ctx)
  }

  function orStale(ctx: Ctx, entry: CacheEntry): void {
    const { req, res, route } = ctx
    const shadow = shadowResponse(res, (captured) => {
      shadow.restore()
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      const at = now()
      if (captured.status >= 500) {
        counters.stale(entry.route)
        const tail = `fwd=stale; fwd-status=${captured.status}; ttl=${ttlOf(entry, at)}`
        replay(entry, req, res, at, engine.status(tail), engine.xCache('STALE'))
        return
      }
      const verdict = responseVerdict(captured.status, captured.headers, route.statuses, at)
      const headers: OutgoingHttpHeaders = { ...captured.headers }
      headers['cache-status'] = engine.status(
        verdict.store ? 'fwd=miss; stored' : `fwd=miss; detail=${verdict.reason}`,
      )
      if (cfg.xCache) headers['x-cache'] = 'MISS'
      res.writeHead(captured.status, headers)
      res.end(req.method === 'HEAD' ? undefined : captured.body)
      flow.finishMiss(ctx, captured).catch((error: unknown) => engine.storeError(error, req))
    })
    ctx.next()
  }

  return { serveAndRefresh, orStale }
}
