import type {
  DuplicateQueryFinding,
  IndexAdvice,
  NPlusOneFinding,
  QueryReport,
  QueryShapeStats,
  Severity,
} from '@hotpath/core'
import type { Int32Histogram } from 'hdr-histogram-js'
import { MAX_US, newHistogram } from './intervals'
import { normalizeSql } from './normalize'
import type { RouteRecord, RouteTable } from './routes'
import { type Driver, duplicateHint, nPlusOneHint, type ShapeUse } from './usage'

/** Query shapes are kept at 2 significant digits (≤ 1% error): 200 shapes cost ~2.5 MB, not 20. */
const QUERY_DIGITS = 2
const OTHER_SHAPE = 'other'
const MAX_FINDINGS = 100
/** Sentry's N+1 rule: this many consecutive runs of one shape, taking this long in total. */
const SENTRY_RUN = 5
const SENTRY_TOTAL_NS = 50e6
/** Queries-per-request counts kept exactly up to this; above it they share the last bucket. */
export const MAX_COUNTED = 255

export class Shape {
  readonly shape: string
  readonly histogram: Int32Histogram = newHistogram(QUERY_DIGITS)
  count = 0
  totalNs = 0
  maxNs = 0
  slow = 0
  /** Executions seen by the EXPLAIN sampler, and its latest advice (null: none or not checked). */
  sampled = 0
  advice: IndexAdvice[] | null = null

  constructor(shape: string) {
    this.shape = shape
  }
}

interface Finding {
  route: string
  shape: string
  driver: Driver
  count: number
  requests: number
  lastSeenMs: number
  sites: string[]
  consecutive: number
  totalNs: number
  severity: Severity
}

interface SlowQuery {
  timeMs: number
  route: string
  shape: string
  durationMs: number
}

export interface QueryConfig {
  readonly maxQueryShapes: number
  readonly slowQueryThresholdNs: number
  readonly nPlusOneThreshold: number
  readonly slowRequests: number
}

/**
 * Per-shape aggregation, slow queries, N+1 and duplicate findings. Raw SQL → shape lookups are
 * cached for twice as many texts as shapes; past that (an app inlining literals) every text is
 * normalised.
 */
export class QueryLog {
  private readonly config: QueryConfig
  readonly shapes = new Map<string, Shape>()
  private readonly texts = new Map<string, Shape>()
  private readonly findings = new Map<string, Finding>()
  private readonly duplicates = new Map<string, Finding>()
  private readonly slow: SlowQuery[] = []
  private slowNext = 0
  backgroundQueries = 0
  backgroundNs = 0

  constructor(config: QueryConfig) {
    this.config = config
  }

  shapeOf(sql: string): Shape {
    const cached = this.texts.get(sql)
    if (cached !== undefined) return cached
    const text = typeof sql === 'string' ? sql : String(sql)
    const normal = normalizeSql(text)
    let shape = this.shapes.get(normal)
    if (shape === undefined) {
      const full = this.shapes.size >= this.config.maxQueryShapes
      const name = full ? OTHER_SHAPE : normal
      shape = this.shapes.get(name) ?? new Shape(name)
      this.shapes.set(name, shape)
    }
    if (this.texts.size < this.config.maxQueryShapes * 2) this.texts.set(text, shape)
    return shape
  }

  /** Aggregates one run of `shape`; true when it was slow (the caller then adds it with its route). */
  record(shape: Shape, ns: number): boolean {
    const us = ns < 1000 ? 1 : ns >= MAX_US * 1000 ? MAX_US : Math.floor(ns / 1000)
    shape.histogram.recordValue(us)
    shape.count++
    shape.totalNs += ns
    if (ns > shape.maxNs) shape.maxNs = ns
    if (ns < this.config.slowQueryThresholdNs) return false
    shape.slow++
    return true
  }

  addSlow(wallMs: number, route: string, shape: Shape, ns: number): void {
    const entry = { timeMs: wallMs, route, shape: shape.shape, durationMs: ns / 1e6 }
    if (this.slow.length < this.config.slowRequests) this.slow.push(entry)
    else this.slow[this.slowNext] = entry
    this.slowNext = (this.slowNext + 1) % this.config.slowRequests
  }

  /** Called once per finished request with its use of each shape; true when it had an N+1. */
  endRequest(record: RouteRecord, uses: Map<Shape, ShapeUse>, total: number, wallMs: number): boolean {
    record.countQueries(total)
    const threshold = this.config.nPlusOneThreshold
    let flagged = false
    for (const use of uses.values()) {
      if (use.dupes > 0) this.note(this.duplicates, record.label, use, use.dupes, wallMs)
      if (use.count < threshold) continue
      flagged = true
      this.note(this.findings, record.label, use, use.count, wallMs)
    }
    return flagged
  }

  private note(
    into: Map<string, Finding>,
    route: string,
    use: ShapeUse,
    count: number,
    wallMs: number,
  ): void {
    const key = `${route}\u0000${use.shape.shape}`
    let f = into.get(key)
    if (f === undefined) {
      if (into.size >= MAX_FINDINGS) return
      f = {
        route,
        shape: use.shape.shape,
        driver: use.driver,
        count: 0,
        requests: 0,
        lastSeenMs: wallMs,
        sites: [],
        consecutive: 0,
        totalNs: 0,
        severity: 'warning',
      }
      into.set(key, f)
    }
    f.requests++
    if (count > f.count) f.count = count
    if (use.maxRun > f.consecutive) f.consecutive = use.maxRun
    if (use.ns > f.totalNs) f.totalNs = use.ns
    if (use.maxRun >= SENTRY_RUN && use.maxRunNs >= SENTRY_TOTAL_NS) f.severity = 'critical'
    if (use.sites !== null) {
      for (const s of use.sites) if (f.sites.length < 4 && !f.sites.includes(s)) f.sites.push(s)
    }
    f.lastSeenMs = wallMs
  }

  report(routes: RouteTable): QueryReport {
    const shapes: QueryShapeStats[] = []
    const advice: IndexAdvice[] = []
    for (const s of this.shapes.values()) {
      shapes.push(shapeStats(s))
      if (s.advice !== null) advice.push(...s.advice)
    }
    shapes.sort((a, b) => b.totalMs - a.totalMs)
    const slow = this.recentSlow().map((q) => ({
      time: new Date(q.timeMs).toISOString(),
      route: q.route,
      shape: q.shape,
      durationMs: round(q.durationMs),
    }))
    const nPlusOne: NPlusOneFinding[] = sorted(this.findings).map((f) => ({
      route: f.route,
      shape: f.shape,
      count: f.count,
      requests: f.requests,
      lastSeen: new Date(f.lastSeenMs).toISOString(),
      severity: f.severity,
      consecutive: f.consecutive,
      totalMs: round(f.totalNs / 1e6),
      callSites: [...f.sites],
      driver: f.driver,
      hint: nPlusOneHint(f.driver),
    }))
    const duplicates: DuplicateQueryFinding[] = sorted(this.duplicates).map((f) => ({
      route: f.route,
      shape: f.shape,
      count: f.count,
      requests: f.requests,
      lastSeen: new Date(f.lastSeenMs).toISOString(),
      callSites: [...f.sites],
      driver: f.driver,
      hint: duplicateHint(f.driver),
    }))
    const perRoute: QueryReport['perRoute'] = []
    for (const r of routes.byLabel.values()) {
      if (r.queries === 0 || r.requests === 0) continue
      perRoute.push({
        route: r.label,
        requests: r.requests,
        queriesPerRequest: round(r.queries / r.requests),
        ...r.queryPercentiles(),
      })
    }
    perRoute.sort((a, b) => b.queriesPerRequest - a.queriesPerRequest)
    const background = { queries: this.backgroundQueries, totalMs: round(this.backgroundNs / 1e6) }
    return { shapes, slow, nPlusOne, perRoute, duplicates, advice, background }
  }

  /** Newest first. */
  private recentSlow(): SlowQuery[] {
    const n = this.slow.length
    const out: SlowQuery[] = []
    for (let i = 1; i <= n; i++) out.push(this.slow[(this.slowNext - i + n) % n] as SlowQuery)
    return out
  }
}

function sorted(findings: Map<string, Finding>): Finding[] {
  return [...findings.values()].sort((a, b) => b.requests - a.requests || b.count - a.count)
}

function shapeStats(s: Shape): QueryShapeStats {
  const h = s.histogram
  const maxMs = s.maxNs / 1e6
  const at = (p: number) => round(Math.min(h.getValueAtPercentile(p) / 1000, maxMs))
  return {
    shape: s.shape,
    count: s.count,
    totalMs: round(s.totalNs / 1e6),
    mean: round(s.count === 0 ? 0 : s.totalNs / 1e6 / s.count),
    p50: at(50),
    p95: at(95),
    p99: at(99),
    max: round(maxMs),
    slow: s.slow,
  }
}

/** Milliseconds to 3 decimals (1 µs), which is the histogram's resolution. */
export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
