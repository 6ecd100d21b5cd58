import { HotpathError, type PoolHealth } from '@hotpath/core'
import { round } from './queries'

const PKG = '@hotpath/profiler'
/** Acquire waits kept per pool for the p95 (a ring: recent behaviour, bounded memory). */
const WAITS = 1024
const MAX_POOLS = 32

type Fn = (...args: unknown[]) => unknown
type Emitter = { on(event: string, fn: Fn): unknown; removeListener(event: string, fn: Fn): unknown }

interface Probe {
  kind: PoolHealth['kind']
  max(): number
  size(): number
  idle(): number
  waiting(): number
  /** The raw pool a query can run on (mysql2 callback pool), for EXPLAIN. */
  raw: unknown
}

export interface WatchPoolOptions {
  /** Label on the dashboard. Default: the kind and a number (`pg-1`). */
  name?: string
}

/** One watched pool: counts on demand, acquire waits and saturation time from its own events. */
class Watched {
  readonly name: string
  readonly probe: Probe
  private readonly now: () => number
  private readonly since: number
  private readonly waits = new Float64Array(WAITS)
  private waitCount = 0
  acquires = 0
  queued = 0
  private saturatedMs = 0
  private saturatedAt: number | undefined = undefined
  undo: Array<() => void> = []

  constructor(name: string, probe: Probe, now: () => number) {
    this.name = name
    this.probe = probe
    this.now = now
    this.since = now()
  }

  /** Called before an acquire: true when it will queue (every connection in use). */
  requested(): boolean {
    this.acquires++
    const full = this.probe.idle() === 0 && this.probe.size() >= this.probe.max()
    if (full) this.queued++
    return full
  }

  acquired(waitMs: number): void {
    this.waits[this.waitCount++ % WAITS] = waitMs
    this.update()
  }

  update(): void {
    const inUse = this.probe.size() - this.probe.idle()
    const t = this.now()
    if (inUse >= this.probe.max()) this.saturatedAt ??= t
    else if (this.saturatedAt !== undefined) {
      this.saturatedMs += t - this.saturatedAt
      this.saturatedAt = undefined
    }
  }

  health(): PoolHealth {
    const t = this.now()
    const saturated = this.saturatedMs + (this.saturatedAt === undefined ? 0 : t - this.saturatedAt)
    const n = Math.min(this.waitCount, WAITS)
    const sorted = Array.from(this.waits.subarray(0, n)).sort((a, b) => a - b)
    const p95 = n === 0 ? 0 : (sorted[Math.min(n - 1, Math.ceil(0.95 * n) - 1)] as number)
    const size = this.probe.size()
    const idle = this.probe.idle()
    return {
      name: this.name,
      kind: this.probe.kind,
      max: this.probe.max(),
      size,
      idle,
      inUse: size - idle,
      waiting: this.probe.waiting(),
      acquires: this.acquires,
      queued: this.queued,
      acquireWaitP95Ms: round(p95),
      saturatedMs: Math.round(saturated),
      saturatedShare: round(saturated / Math.max(1, t - this.since)),
    }
  }
}

/** `prof.watchPool(pool)` for a pg `Pool`, a mysql2 pool (callback or promise) and a knex instance. */
export function createPools(now: () => number) {
  const watched: Watched[] = []
  const counters: Record<string, number> = {}

  function watchPool(pool: unknown, options: Readonly<WatchPoolOptions> = {}): () => void {
    const existing = watched.find((w) => w.probe.raw === rawOf(pool))
    if (existing !== undefined) return () => unwatch(existing)
    if (watched.length >= MAX_POOLS) fail(`at most ${MAX_POOLS} pools can be watched.`)
    const probe = probeOf(pool)
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
      fail('watchPool(pool, { name }) needs name to be a non-empty string.')
    }
    counters[probe.kind] = (counters[probe.kind] ?? 0) + 1
    const w = new Watched(options.name ?? `${probe.kind}-${counters[probe.kind]}`, probe, now)
    hook(w, now)
    watched.push(w)
    return () => unwatch(w)
  }

  function unwatch(w: Watched): void {
    const i = watched.indexOf(w)
    if (i === -1) return
    watched.splice(i, 1)
    for (const u of w.undo) u()
  }

  return {
    watchPool,
    health: (): PoolHealth[] => watched.map((w) => w.health()),
    /** The first watched mysql2 pool, where sampled MariaDB/MySQL EXPLAINs run. */
    mysqlPool: () => watched.find((w) => w.probe.kind === 'mysql2')?.probe.raw as never,
    close: () => {
      for (const w of [...watched]) unwatch(w)
    },
  }
}

function fail(message: string): never {
  throw new HotpathError('ERR_HOTPATH_PROFILER_POOL', `${PKG}: ${message}`)
}

interface PgPool extends Emitter {
  totalCount: number
  idleCount: number
  waitingCount: number
  options: { max: number }
  connect: Fn
}
interface MysqlPool extends Emitter {
  _allConnections: { length: number }
  _freeConnections: { length: number }
  _connectionQueue: { length: number }
  config: { connectionLimit: number }
  getConnection: Fn
}
interface Tarn extends Emitter {
  max: number
  numUsed(): number
  numFree(): number
  numPendingAcquires(): number
}

function rawOf(pool: unknown): unknown {
  const p = pool as { pool?: unknown; client?: { pool?: unknown } } | null
  if (p === null || (typeof p !== 'object' && typeof p !== 'function')) return p
  // A knex instance: its tarn pool.
  if (p.client?.pool !== undefined && p.client.pool !== null) return p.client.pool
  // mysql2/promise wraps the callback pool as `.pool`.
  if (p.pool !== undefined && typeof (p.pool as MysqlPool).getConnection === 'function') return p.pool
  return p
}

function probeOf(pool: unknown): Probe {
  const raw = rawOf(pool) as Record<string, unknown> | undefined
  if (raw !== undefined && raw !== null) {
    if (typeof raw.totalCount === 'number' && typeof raw.connect === 'function') {
      const p = raw as unknown as PgPool
      return {
        kind: 'pg',
        raw,
        max: () => p.options.max,
        size: () => p.totalCount,
        idle: () => p.idleCount,
        waiting: () => p.waitingCount,
      }
    }
    if (raw._allConnections !== undefined && typeof raw.getConnection === 'function') {
      const p = raw as unknown as MysqlPool
      return {
        kind: 'mysql2',
        raw,
        max: () => p.config.connectionLimit,
        size: () => p._allConnections.length,
        idle: () => p._freeConnections.length,
        waiting: () => p._connectionQueue.length,
      }
    }
    if (typeof raw.numUsed === 'function' && typeof raw.numPendingAcquires === 'function') {
      const p = raw as unknown as Tarn
      return {
        kind: 'knex',
        raw,
        max: () => p.max,
        size: () => p.numUsed() + p.numFree(),
        idle: () => p.numFree(),
        waiting: () => p.numPendingAcquires(),
      }
    }
  }
  return fail('watchPool(pool) takes a pg Pool, a mysql2 pool (createPool) or a knex instance.')
}

/** Times acquires on the instance (its own method, so other pools are untouched) and listens to releases. */
function hook(w: Watched, now: () => number): void {
  const raw = w.probe.raw as Record<string, unknown> & Emitter
  const listen = (event: string, fn: Fn) => {
    raw.on(event, fn)
    w.undo.push(() => raw.removeListener(event, fn))
  }
  const settle = () => queueMicrotask(() => w.update())
  if (w.probe.kind === 'knex') {
    const started = new Map<unknown, number>()
    listen('acquireRequest', (id) => {
      w.requested()
      started.set(id, now())
    })
    const end = (id: unknown) => {
      const t = started.get(id)
      started.delete(id)
      if (t !== undefined) w.acquired(now() - t)
    }
    listen('acquireSuccess', end)
    listen('acquireFail', (id) => started.delete(id))
    listen('release', settle)
    return
  }
  const method = w.probe.kind === 'pg' ? 'connect' : 'getConnection'
  const original = raw[method] as Fn
  const timed = function (this: unknown, cb?: unknown): unknown {
    w.requested()
    const t = now()
    if (typeof cb === 'function') {
      return original.call(this, (...args: unknown[]) => {
        w.acquired(now() - t)
        return (cb as Fn)(...args)
      })
    }
    const result = original.call(this) as Promise<unknown>
    result.then(
      () => w.acquired(now() - t),
      () => {},
    )
    return result
  }
  const own = Object.getOwnPropertyDescriptor(raw, method)
  Object.defineProperty(raw, method, { value: timed, writable: true, configurable: true })
  w.undo.push(() => {
    if (raw[method] !== timed) return
    if (own === undefined) delete raw[method]
    else Object.defineProperty(raw, method, own)
  })
  listen('release', settle)
}
