import type { ExplainTarget } from '../explain'
import type { Recorder } from '../recorder'
import { addWrap, type Method, ownerOf } from '../wrap'
import { beginAll, bindStores, endAll, endingCallback, insideAll, type Runs } from './common'

type Fn = Method

interface PgClient {
  constructor: new (config: object) => PgClient & { connect(): Promise<void>; end(): Promise<void> }
  query: Fn
  user?: string
  database?: string
  port?: number
  host?: string
  password?: unknown
  ssl?: unknown
}

interface PgModule {
  Client?: { prototype: object }
  Pool?: { prototype: object }
}

/**
 * pg publishes no diagnostics channel (8.x), so `Client.prototype.query` is wrapped: pool
 * queries end there too. Every form is timed: callback, promise, and submittables (Query,
 * pg-query-stream, pg-cursor) by their callback or their 'end' / 'error' / 'close'.
 */
export function instrumentPg(pg: unknown, recorder: Recorder): (() => void) | undefined {
  const mod = pg as PgModule
  const proto = mod?.Client?.prototype
  if (proto === undefined) return undefined
  const owner = ownerOf(proto, 'query')
  if (owner === undefined) return undefined
  const undo = [addWrap(owner, 'query', recorder, makeQuery)]
  // A pool's queued `connect` callback runs when another request releases its client, so in
  // that request's async context; bound to the caller's context, the query lands on its request.
  const pool = mod.Pool === undefined ? undefined : ownerOf(mod.Pool.prototype, 'connect')
  if (pool !== undefined) undo.push(addWrap(pool, 'connect', recorder, makeConnect))
  // `pool.query` reaches `Client#query` from the pool's connect callback, whose stack no longer
  // holds the application frame: the query is counted (and its call site taken) at `pool.query`.
  const poolQuery = mod.Pool === undefined ? undefined : ownerOf(mod.Pool.prototype, 'query')
  if (poolQuery !== undefined) undo.push(addWrap(poolQuery, 'query', recorder, makePoolQuery))
  return () => {
    for (const u of undo) u()
  }
}

function makeQuery(original: Fn, sinks: readonly Recorder[]): Fn {
  return function query(this: PgClient, config: unknown, values?: unknown, callback?: unknown): unknown {
    if (sinks.length === 0 || config === null || config === undefined) {
      // biome-ignore lint/complexity/noArguments: forwarded untouched when nothing listens.
      return original.apply(this, arguments as never)
    }
    const c = config as { text?: unknown; values?: unknown; submit?: unknown; callback?: unknown; once?: Fn }
    const sql = typeof config === 'string' ? config : c.text
    if (typeof sql !== 'string') return original.call(this, config, values, callback)
    const params =
      typeof config === 'string' || c.values === undefined
        ? typeof values === 'function'
          ? undefined
          : values
        : c.values
    const runs = beginAll(sinks, 'pg', sql, params, pgTarget, this)
    if (runs === undefined) return original.call(this, config, values, callback)
    if (typeof values === 'function')
      return original.call(this, config, endingCallback(runs, values as Fn), callback)
    if (typeof callback === 'function')
      return original.call(this, config, values, endingCallback(runs, callback as Fn))
    if (typeof c.submit === 'function') {
      if (typeof c.callback === 'function') c.callback = endingCallback(runs, c.callback as Fn)
      else endOnEvents(runs, c)
      return original.call(this, config, values, callback)
    }
    // The promise form, run as the callback form under a promise of our own: pg's own promise
    // and its `.catch` plus a `.then` to see the end would be three promises per query (each one
    // more async hook to run while an AsyncLocalStorage is active), this is one. Same promise
    // class (the client's `Promise` option), same value, same error with its stack re-captured.
    const settle = settler((this as { _Promise?: PromiseConstructor })._Promise)
    try {
      original.call(this, config, values, (err: Error | null, res: unknown) => {
        endAll(runs)
        if (err) Error.captureStackTrace(err)
        settle.done(err, res)
      })
    } catch (err) {
      endAll(runs)
      throw err
    }
    return settle.promise
  }
}

/** A promise of `Ctor` and the node-style callback that settles it. */
function settler(Ctor: PromiseConstructor | undefined) {
  let resolve: (value: unknown) => void = () => {}
  let reject: (err: unknown) => void = () => {}
  const promise = new (Ctor ?? Promise)((ok, fail) => {
    resolve = ok
    reject = fail
  })
  return {
    promise,
    done(err: unknown, value: unknown) {
      if (err) reject(err)
      else resolve(value)
    },
  }
}

function makePoolQuery(original: Fn, sinks: readonly Recorder[]): Fn {
  return function query(this: PgPool, text: unknown, values?: unknown, cb?: unknown): unknown {
    if (sinks.length === 0 || text === null || (typeof text !== 'object' && typeof text !== 'string')) {
      return original.call(this, text, values, cb)
    }
    const t = text as { text?: unknown; values?: unknown }
    const sql = typeof text === 'string' ? text : t.text
    if (typeof sql !== 'string') return original.call(this, text, values, cb)
    const params =
      typeof text === 'string' || t.values === undefined
        ? typeof values === 'function'
          ? undefined
          : values
        : t.values
    const runs = beginAll(sinks, 'pg', sql, params, pgPoolTarget, this)
    if (runs === undefined) return original.call(this, text, values, cb)
    // The caller's callback runs in the caller's context, not in the profiler's own one below.
    if (typeof values === 'function') {
      const done = endingCallback(runs, bindStores(sinks, values as Fn))
      return insideAll(sinks, () => original.call(this, text, done))
    }
    if (typeof cb === 'function') {
      const done = endingCallback(runs, bindStores(sinks, cb as Fn))
      return insideAll(sinks, () => original.call(this, text, values, done))
    }
    // As for `Client#query`: the callback form under one promise of the pool's class.
    const settle = settler((this as { Promise?: PromiseConstructor }).Promise)
    insideAll(sinks, () =>
      original.call(this, text, values, (err: unknown, res: unknown) => {
        endAll(runs)
        settle.done(err, res)
      }),
    )
    return settle.promise
  }
}

interface PgPool {
  Client?: PgClient['constructor']
  options?: object
}

/** EXPLAIN on a client of the pool's own settings (not one of its connections). */
function pgPoolTarget(ctx: unknown): ExplainTarget | undefined {
  const pool = ctx as PgPool
  if (typeof pool?.Client !== 'function' || pool.options === undefined) return undefined
  return freshTarget(new pool.Client({ ...pool.options }))
}

function endOnEvents(runs: Runs, emitter: { once?: Fn }): void {
  if (typeof emitter.once !== 'function') {
    endAll(runs)
    return
  }
  const done = () => endAll(runs)
  emitter.once.call(emitter, 'end', done)
  emitter.once.call(emitter, 'error', done)
  emitter.once.call(emitter, 'close', done)
}

function makeConnect(original: Fn, sinks: readonly Recorder[]): Fn {
  return function connect(this: { _idle?: unknown[] }, cb?: unknown): unknown {
    // With an idle client the callback comes on the next tick, in the caller's context already.
    if (sinks.length === 0 || typeof cb !== 'function' || (this._idle?.length ?? 0) > 0)
      return original.call(this, cb)
    return original.call(this, bindStores(sinks, cb as Fn))
  }
}

/** EXPLAIN on a connection of its own (the query's client may be back in its pool by now). */
function pgTarget(ctx: unknown): ExplainTarget | undefined {
  const client = ctx as PgClient
  if (typeof client?.constructor !== 'function') return undefined
  return freshTarget(
    new client.constructor({
      user: client.user,
      database: client.database,
      port: client.port,
      host: client.host,
      password: client.password,
      ssl: client.ssl,
    }),
  )
}

function freshTarget(fresh: PgClient & { connect(): Promise<void>; end(): Promise<void> }): ExplainTarget {
  let connected: Promise<void> | undefined
  return {
    dialect: 'postgres',
    driver: 'pg',
    async exec(sql, values) {
      connected ??= fresh.connect()
      await connected
      const res = (await fresh.query(sql, Array.isArray(values) ? values : undefined)) as { rows: unknown[] }
      return res.rows
    },
    async done() {
      if (connected !== undefined) await fresh.end().catch(() => {})
    },
  }
}
