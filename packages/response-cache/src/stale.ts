import type { OutgoingHttpHeaders } from 'node:http'
import { type Engine, ttlOf } from './engine'
import type { Ctx, Flow } from './flow'
import { revalidated, validatorsOf } from './merge'
import { responseVerdict } from './policy'
import { replay } from './replay'
import { shadowResponse } from './shadow'
import type { CacheEntry } from './types'

export interface Stale {
  /**
   * A stored entry past its freshness: served stale while one refresh runs (RFC 5861 §3),
   * revalidated with its validators (RFC 9111 §4.3), served on error (RFC 5861 §4), or a miss.
   */
  serve(ctx: Ctx, entry: CacheEntry, key: string, at: number): void
}

type Conditionals = Pick<OutgoingHttpHeaders, 'if-none-match' | 'if-modified-since'>

/**
 * Puts the stored validators on the request the handler sees (RFC 9111 §4.3.1) and returns
 * what restores the client's own conditionals.
 */
function sendValidators(ctx: Ctx, entry: CacheEntry): () => void {
  const headers = ctx.req.headers
  const saved: Conditionals = {
    'if-none-match': headers['if-none-match'],
    'if-modified-since': headers['if-modified-since'],
  }
  const { etag, lastModified } = validatorsOf(entry)
  if (etag === undefined) delete headers['if-none-match']
  else headers['if-none-match'] = etag
  if (lastModified === undefined) delete headers['if-modified-since']
  else headers['if-modified-since'] = lastModified
  return () => {
    for (const name of ['if-none-match', 'if-modified-since'] as const) {
      const value = saved[name]
      if (value === undefined) delete headers[name]
      else headers[name] = String(value)
    }
  }
}

export function createStale(engine: Engine, flow: Flow): Stale {
  const { cfg, counters } = engine
  const { store, now } = cfg
  /** Keys this instance is refreshing, until when — so one refresh runs per key even before the lock answers. */
  const refreshing = new Map<string, number>()

  function refresh(ctx: Ctx, entry: CacheEntry, key: string, upstream: OutgoingHttpHeaders): void {
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
        // The client has its answer; the refresh asks with the stored validators only.
        const restore = sendValidators(ctx, entry)
        shadowResponse(
          res,
          (captured) => {
            restore()
            const work =
              captured.status === 304
                ? revalidated(engine, ctx, entry, key, captured.headers)
                : flow.finishMiss(ctx, { ...captured, startedAt: at })
            work.catch((error: unknown) => engine.storeError(error, req)).finally(() => done(token))
          },
          upstream,
        )
        ctx.next()
      })
      .catch((error: unknown) => {
        refreshing.delete(primary)
        engine.storeError(error, req)
      })
  }

  function serveAndRefresh(ctx: Ctx, entry: CacheEntry, key: string, at: number): void {
    counters.stale(entry.route)
    const upstream = ctx.req.method === 'GET' ? ctx.res.getHeaders() : {}
    replay(
      entry,
      ctx.req,
      ctx.res,
      at,
      engine.status(`fwd=stale; ttl=${ttlOf(entry, at)}`),
      engine.xCache('STALE'),
    )
    // A HEAD response has no body to store, so only a GET refreshes.
    if (ctx.req.method === 'GET') refresh(ctx, entry, key, upstream)
  }

  /** Writes the handler's own answer to the client (and stores it when it qualifies). */
  function forward(ctx: Ctx, captured: Parameters<Flow['finishMiss']>[1] & object): void {
    const { req, res, route } = ctx
    const at = now()
    const verdict = responseVerdict(captured.status, captured.headers, route, at)
    const headers: OutgoingHttpHeaders = { ...captured.headers }
    headers['cache-status'] = engine.status(
      verdict.store ? 'fwd=stale; stored' : `fwd=stale; detail=${verdict.reason}`,
    )
    if (cfg.xCache) headers['x-cache'] = 'MISS'
    res.writeHead(captured.status, headers)
    res.end(req.method === 'HEAD' ? undefined : captured.body)
    flow.finishMiss(ctx, captured).catch((error: unknown) => engine.storeError(error, req))
  }

  /**
   * Runs the handler out of sight with the stored validators (when the entry has any): a 304
   * refreshes the entry and the client gets it (RFC 9111 §4.3.4); a 5xx within stale-if-error
   * gets the stale entry; anything else is the new answer.
   */
  function revalidate(ctx: Ctx, entry: CacheEntry, key: string, withValidators: boolean): void {
    const { req, res } = ctx
    const restore = withValidators ? sendValidators(ctx, entry) : () => undefined
    const startedAt = now()
    const shadow = shadowResponse(res, (captured) => {
      shadow.restore()
      restore()
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      const at = now()
      if (captured.status === 304 && withValidators) {
        // Never rejects: a store failure is counted and the merged entry is served anyway.
        void revalidated(engine, ctx, entry, key, captured.headers).then((fresh) => {
          counters.stale(entry.route)
          const t = now()
          const tail = `fwd=stale; fwd-status=304; ttl=${ttlOf(fresh, t)}`
          replay(fresh, req, res, t, engine.status(tail), engine.xCache('REVALIDATED'))
        })
        return
      }
      if (captured.status >= 500 && !entry.mustRevalidate && at < entry.errorUntil && req.method === 'GET') {
        counters.stale(entry.route)
        const tail = `fwd=stale; fwd-status=${captured.status}; ttl=${ttlOf(entry, at)}`
        replay(entry, req, res, at, engine.status(tail), engine.xCache('STALE'))
        return
      }
      forward(ctx, { ...captured, startedAt })
    })
    ctx.next()
  }

  function serve(ctx: Ctx, entry: CacheEntry, key: string, at: number): void {
    const get = ctx.req.method === 'GET'
    if (!entry.mustRevalidate && at < entry.staleUntil) {
      serveAndRefresh(ctx, entry, key, at)
      return
    }
    const { etag, lastModified } = validatorsOf(entry)
    if (get && (etag !== undefined || lastModified !== undefined)) {
      revalidate(ctx, entry, key, true)
      return
    }
    if (get && !entry.mustRevalidate && at < entry.errorUntil) {
      revalidate(ctx, entry, key, false)
      return
    }
    flow.miss(ctx)
  }

  return { serve }
}
