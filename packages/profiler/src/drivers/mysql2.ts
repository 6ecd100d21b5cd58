import type { AsyncLocalStorage } from 'node:async_hooks'
import * as dc from 'node:diagnostics_channel'
import type { ExplainTarget } from '../explain'
import type { QueryRun, Recorder, Store } from '../recorder'
import { addWrap, type Method, ownerOf } from '../wrap'
import { beginAll, bindStores, endAll, endingCallback, insideAll } from './common'

interface QueryContext {
  query?: unknown
  values?: unknown
  [key: symbol]: unknown
}

interface PoolLike {
  query(sql: string, values: unknown, cb: (err: unknown, rows: unknown) => void): unknown
}

/**
 * mysql2 ≥ 3.20 publishes `mysql2:query` and `mysql2:execute` TracingChannels: subscribed, no
 * wrap. `start` runs in the caller's context (the request), `asyncStart` when the result (or
 * error) arrives. A pool's queued `getConnection` callback (`mysql2:pool:connect`) gets the
 * caller's store back through `bindStore`, so a query that waited for a connection still lands
 * on its own request.
 */
export function instrumentMysql2(
  mysql2: unknown,
  recorder: Recorder,
  context: AsyncLocalStorage<Store>,
  explainPool: () => PoolLike | undefined,
): (() => void) | undefined {
  if (typeof dc.tracingChannel !== 'function' || mysql2 === null || typeof mysql2 !== 'object')
    return undefined
  const key = Symbol('hotpath.profiler.mysql2')
  const target = (): ExplainTarget | undefined => {
    const pool = explainPool()
    if (pool === undefined) return undefined
    return {
      dialect: 'mysql',
      driver: 'mysql2',
      exec: (sql, values) =>
        new Promise((resolve, reject) => {
          pool.query(sql, Array.isArray(values) ? values : [], (err, rows) =>
            err ? reject(err) : resolve(rows as unknown[]),
          )
        }),
    }
  }
  const subscribe = (name: string, formatted: boolean) => {
    const channel = dc.tracingChannel(name)
    const handlers = {
      start(message: unknown) {
        const ctx = message as QueryContext
        // `mysql2:query` carries the text with the values already inlined; the shape drops them.
        const values = formatted ? undefined : ctx.values
        const run = recorder.begin('mysql2', ctx.query as string, values, target, undefined)
        if (run !== undefined) ctx[key] = run
      },
      end() {},
      asyncStart(message: unknown) {
        const run = (message as QueryContext)[key] as QueryRun | undefined
        run?.end()
      },
      asyncEnd() {},
      error(message: unknown) {
        // A command that fails before its callback (a bad argument) ends here.
        const run = (message as QueryContext)[key] as QueryRun | undefined
        run?.end()
      },
    }
    channel.subscribe(handlers)
    return () => channel.unsubscribe(handlers)
  }
  const undoQuery = subscribe('mysql2:query', true)
  const undoExecute = subscribe('mysql2:execute', false)
  // A pool query reaches the connection (and its channel) from the pool's getConnection
  // callback, whose stack no longer holds the application frame: pool `query` / `execute` are
  // counted where the application calls them, and the connection query under them is not.
  const poolProto = (mysql2 as { Pool?: { prototype: object } }).Pool?.prototype
  const undoPool: Array<() => void> = []
  for (const method of ['query', 'execute'] as const) {
    const owner = poolProto === undefined ? undefined : ownerOf(poolProto, method)
    if (owner !== undefined) undoPool.push(addWrap(owner, method, recorder, makePoolCall))
  }
  const poolConnect = dc.tracingChannel('mysql2:pool:connect')
  const poolKey = Symbol('hotpath.profiler.mysql2.pool')
  const poolHandlers = {
    start(message: unknown) {
      ;(message as QueryContext)[poolKey] = { store: context.getStore() }
    },
  }
  poolConnect.start.subscribe(poolHandlers.start)
  poolConnect.asyncStart.bindStore(
    context,
    (message) => ((message as QueryContext)[poolKey] as { store: Store } | undefined)?.store as Store,
  )
  return () => {
    for (const u of undoPool) u()
    undoQuery()
    undoExecute()
    poolConnect.start.unsubscribe(poolHandlers.start)
    poolConnect.asyncStart.unbindStore(context)
  }
}

function makePoolCall(original: Method, sinks: readonly Recorder[]): Method {
  return function poolCall(this: PoolLike, sql: unknown, values?: unknown, cb?: unknown): unknown {
    const text = typeof sql === 'string' ? sql : (sql as { sql?: unknown } | null)?.sql
    if (sinks.length === 0 || typeof text !== 'string') return original.call(this, sql, values, cb)
    const given = typeof values === 'function' ? undefined : values
    const params = given ?? (sql as { values?: unknown }).values
    const runs = beginAll(sinks, 'mysql2', text, params, poolTarget, this)
    if (runs === undefined) return original.call(this, sql, values, cb)
    const callback = typeof values === 'function' ? values : cb
    if (typeof callback === 'function') {
      // The caller's callback runs in the caller's context, not in the profiler's own one below.
      const done = endingCallback(runs, bindStores(sinks, callback as Method))
      return insideAll(sinks, () =>
        typeof values === 'function'
          ? original.call(this, sql, done)
          : original.call(this, sql, values, done),
      )
    }
    const command = insideAll(sinks, () => original.call(this, sql, values, cb)) as {
      once?: (event: string, fn: () => void) => unknown
    }
    if (typeof command?.once === 'function') {
      command.once('end', () => endAll(runs))
      command.once('error', () => endAll(runs))
    } else endAll(runs)
    return command
  }
}

function poolTarget(ctx: unknown): ExplainTarget | undefined {
  const pool = ctx as PoolLike
  if (typeof pool?.query !== 'function') return undefined
  return {
    dialect: 'mysql',
    driver: 'mysql2',
    exec: (sql, values) =>
      new Promise((resolve, reject) => {
        pool.query(sql, Array.isArray(values) ? values : [], (err, rows) =>
          err ? reject(err) : resolve(rows as unknown[]),
        )
      }),
  }
}
