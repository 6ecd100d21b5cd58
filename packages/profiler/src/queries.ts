import type { NPlusOneFinding, QueryReport, QueryShapeStats } from '@hotpath/core'
import type { Int32Histogram } from 'hdr-histogram-js'
import { MAX_US, newHistogram } from './intervals'
import { normalizeSql } from './normalize'
import type { RouteTable } from './routes'

/** Query shapes are kept at 2 significant digits (≤ 1% error): 200 shapes cost ~2.5 MB, not 20. */
const QUERY_DIGITS = 2
const OTHER_SHAPE = 'other'
const MAX_FINDINGS = 100

export class Shape {
  readonly shape: string
  readonly histogram: Int32Histogram = newHistogram(QUERY_DIGITS)
  count = 0
  totalNs = 0
  maxNs = 0
  slow = 0

  constructor(shape: string) {
    this.shape = shape
  }
}

interface Finding {
  route: string
  shape: string
  count: number
  requests: number
  lastSeenMs: number
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
 * Per-shape aggregation, slow queries and N+1 findings. Raw SQL → shape lookups are cached for
 * twice as many texts as shapes; past that (an app inlining literals) every text is normalised.
 */
export class QueryLog {
  private readonly config: QueryConfig
  private readonly shapes = new Map<string, Shape>()
  private readonly texts = new Map<string, Shape>()
  private readonly findings = new Map<string, Finding>()
  private readonly slow: SlowQuery[] = []
  private slowNext = 0

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

  /** Called once per finished request with the times it ran each shape. */
  endRequest(route: string, perShape: Map<Shape, number>, wallMs: number): boolean {
    const threshold = this.config.nPlusOneThreshold
    let flagged = false
    for (const [shape, count] of perShape) {
      if (count < threshold) continue
      flagged = true
      const key = `${route}\u0000${shape.shape}`
      let finding = this.findings.get(key)
      if (finding === undefined) {
        if (this.findings.size >= MAX_FINDINGS) continue
        finding = { route, shape: shape.shape, count: 0, requests: 0, lastSeenMs: wallMs }
        this.findings.set(key, finding)
      }
      finding.requests++
      if (count > finding.count) finding.count = count
      finding.lastSeenMs = wallMs
    }
    return flagged
  }

  report(routes: RouteTable): QueryReport {
    const shapes: QueryShapeStats[] = []
    for (const s of this.shapes.values()) shapes.push(shapeStats(s))
    shapes.sort((a, b) => b.totalMs - a.totalMs)
    const slow = this.recentSlow().map((q) => ({
      time: new Date(q.timeMs).toISOString(),
      route: q.route,
      shape: q.shape,
      durationMs: round(q.durationMs),
    }))
    const nPlusOne: NPlusOneFinding[] = [...this.findings.values()]
      .sort((a, b) => b.requests - a.requests || b.count - a.count)
      .map((f) => ({
        route: f.route,
        shape: f.shape,
        count: f.count,
        requests: f.requests,
        lastSeen: new Date(f.lastSeenMs).toISOString(),
      }))
    const perRoute: QueryReport['perRoute'] = []
    for (const r of routes.byLabel.values()) {
      if (r.queries === 0 || r.requests === 0) continue
      perRoute.push({
        route: r.label,
        requests: r.requests,
        queriesPerRequest: round(r.queries / r.requests),
      })
    }
    perRoute.sort((a, b) => b.queriesPerRequest - a.queriesPerRequest)
    return { shapes, slow, nPlusOne, perRoute }
  }

  /** Newest first. */
  private recentSlow(): SlowQuery[] {
    const n = this.slow.length
    const out: SlowQuery[] = []
    for (let i = 1; i <= n; i++) out.push(this.slow[(this.slowNext - i + n) % n] as SlowQuery)
    return out
  }
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
