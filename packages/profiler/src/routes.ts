import { routeOf, UNMATCHED } from '@hotpath/core'
import type { Request } from 'express'
import type { HistogramPool } from './intervals'
import { MAX_COUNTED } from './queries'
import { Series } from './series'
import type { Outcome } from './types'

/** The label every route beyond `maxRoutes` is folded into. */
export const OTHER_ROUTE = 'other'

export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'OTHER'] as const
const METHOD_INDEX: ReadonlyMap<string, number> = new Map(METHODS.slice(0, 7).map((m, i) => [m, i]))
const OTHER_METHOD = 7
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const

/** Everything recorded for one route label. */
export class RouteRecord {
  readonly label: string
  /** Indexed by method × status class, created on first use. */
  readonly series: Array<Series | undefined> = new Array(METHODS.length * STATUS_CLASSES.length)
  readonly outcomes: Record<Outcome, number> = { finished: 0, aborted: 0, errored: 0, streaming: 0 }
  /** Queries run by this route's requests, for queries-per-request. */
  queries = 0
  requests = 0
  slow = 0
  nPlusOne = 0
  /** Requests by how many queries they ran (index = count, last = more), made on first use. */
  private queryCounts: Uint32Array | null = null
  private maxQueries = 0

  constructor(label: string) {
    this.label = label
  }

  /** Counts one finished request that ran `n` queries (every request of a route that queries). */
  countQueries(n: number): void {
    if (this.queryCounts === null) this.queryCounts = new Uint32Array(MAX_COUNTED + 2)
    const counts = this.queryCounts
    counts[n > MAX_COUNTED ? MAX_COUNTED + 1 : n] =
      (counts[n > MAX_COUNTED ? MAX_COUNTED + 1 : n] as number) + 1
    if (n > this.maxQueries) this.maxQueries = n
  }

  /** Queries per request at p50 / p95 / max; requests that ran none count as 0. */
  queryPercentiles(): { p50: number; p95: number; max: number } {
    const counts = this.queryCounts
    if (counts === null || this.requests === 0) return { p50: 0, p95: 0, max: this.maxQueries }
    let counted = 0
    for (const c of counts) counted += c
    const zeros = Math.max(0, this.requests - counted)
    const at = (q: number): number => {
      const rank = Math.ceil(q * this.requests)
      let seen = zeros
      if (seen >= rank) return 0
      for (let i = 0; i < counts.length; i++) {
        seen += counts[i] as number
        if (seen >= rank) return i > MAX_COUNTED ? this.maxQueries : i
      }
      return this.maxQueries
    }
    return { p50: at(0.5), p95: at(0.95), max: this.maxQueries }
  }

  /** The series of one request; `slot` is the current interval, `bounds` the Prometheus buckets. */
  seriesFor(
    method: string,
    status: number,
    slot: number,
    bounds: Float64Array | null,
    pool: HistogramPool,
  ): Series {
    const m = METHOD_INDEX.get(method) ?? OTHER_METHOD
    let c = (status / 100) | 0
    c = c < 1 ? 4 : c > 5 ? 4 : c - 1
    const i = m * STATUS_CLASSES.length + c
    const existing = this.series[i]
    if (existing !== undefined) return existing
    const created = new Series(METHODS[m] as string, STATUS_CLASSES[c] as string, slot, bounds, pool)
    this.series[i] = created
    return created
  }

  *allSeries(): Generator<Series> {
    for (const s of this.series) if (s !== undefined) yield s
  }
}

interface Cached {
  readonly base: string
  readonly method: string
  readonly record: RouteRecord
}

/**
 * Route label → record, bounded by `maxRoutes`. The label of a matched request is cached per
 * Express `Route` object (checked against the base URL and method, which can differ for the same
 * Route under a parameterised mount), so the common request builds no string at all.
 */
export class RouteTable {
  readonly byLabel = new Map<string, RouteRecord>()
  readonly unmatched = new RouteRecord(UNMATCHED)
  private readonly byRoute = new WeakMap<object, Cached>()
  private readonly maxRoutes: number
  private templates = 0

  constructor(maxRoutes: number) {
    this.maxRoutes = maxRoutes
    this.byLabel.set(UNMATCHED, this.unmatched)
  }

  recordFor(req: Request): RouteRecord {
    const route = (req as { route?: unknown }).route
    const base = req.baseUrl
    if (route === undefined || route === null || typeof route !== 'object') {
      // routeOf labels a request answered before routing (a 429, a static file) by the route it
      // would have reached or its mount path; a request nobody answered is UNMATCHED.
      return this.byName(routeOf(req))
    }
    const cached = this.byRoute.get(route)
    if (cached !== undefined && cached.base === base && cached.method === req.method) {
      return cached.record
    }
    const record = this.byName(routeOf(req))
    this.byRoute.set(route, { base, method: req.method, record })
    return record
  }

  byName(label: string): RouteRecord {
    const existing = this.byLabel.get(label)
    if (existing !== undefined) return existing
    // Bounded cardinality: templates beyond the limit share one label.
    if (this.templates >= this.maxRoutes) return this.byName0(OTHER_ROUTE)
    this.templates++
    return this.byName0(label)
  }

  private byName0(label: string): RouteRecord {
    let record = this.byLabel.get(label)
    if (record === undefined) {
      record = new RouteRecord(label)
      this.byLabel.set(label, record)
    }
    return record
  }
}
