import {
  HotpathError,
  type Insight,
  type PoolHealth,
  type ProfilerOverview,
  type QueryReport,
  WINDOWS,
  type WindowName,
} from '@hotpath/core'
import { findInsights } from './insights'
import { COARSE_DIGITS, FINE_DIGITS, newScratch } from './intervals'
import type { QueryLog } from './queries'
import { type RouteRecord, type RouteTable, STATUS_CLASSES } from './routes'
import type { RuntimeSampler } from './runtime'
import { isCoarse } from './series'
import type { SlowLog } from './slow'
import type { ProfilerFullStats, RouteDetail, SlowRequestReport } from './types'
import { isWindow, type Now, seriesOf, summarize } from './windows'

/** The window read APIs use when none is given. */
export const DEFAULT_WINDOW: WindowName = '5m'

export interface ReportSources {
  readonly routes: RouteTable
  readonly queryLog: QueryLog
  readonly slowLog: SlowLog
  readonly sampler: RuntimeSampler
  readonly nPlusOneThreshold: number
  readonly pools: () => PoolHealth[]
  readonly instrumented: () => string[]
  readonly startedAtMs: number
  readonly now: () => Now
}

export interface Reports {
  overview(): ProfilerOverview
  routes(window?: WindowName): RouteDetail[]
  slowest(limit?: number, window?: WindowName): RouteDetail[]
  slowRequests(limit?: number): SlowRequestReport
  queries(): QueryReport
  insights(): Insight[]
  stats(): ProfilerFullStats
}

/** The read side: everything here runs when someone looks, never on the request path. */
export function createReports(src: ReportSources): Reports {
  // Scratch histograms per instance, reused by every merge (reads are synchronous).
  const fine = newScratch(FINE_DIGITS)
  const coarse = newScratch(COARSE_DIGITS)
  const scratch = (w: WindowName) => (isCoarse(w) ? coarse : fine)

  function overview(): ProfilerOverview {
    const now = src.now()
    const windows = {} as ProfilerOverview['windows']
    for (const w of WINDOWS) windows[w] = summarize(seriesOf(src.routes.byLabel.values()), w, now, scratch(w))
    return {
      windows,
      eventLoop: src.sampler.eventLoop(),
      memory: src.sampler.memory(),
      cpu: src.sampler.cpu(),
      startedAt: new Date(src.startedAtMs).toISOString(),
      uptimeSeconds: Math.round(now.elapsedNs / 1e6) / 1000,
    }
  }

  function routes(window: WindowName = DEFAULT_WINDOW): RouteDetail[] {
    checkWindow(window)
    const now = src.now()
    const out: RouteDetail[] = []
    for (const record of src.routes.byLabel.values()) {
      if (record.requests === 0) continue
      const summary = summarize(record.allSeries(), window, now, scratch(window))
      if (summary.count === 0) continue
      out.push({
        route: record.label,
        ...summary,
        outcomes: { ...record.outcomes },
        statusClasses: classesOf(record),
      })
    }
    return out.sort((a, b) => b.count - a.count || (a.route < b.route ? -1 : 1))
  }

  function slowest(limit = 10, window: WindowName = DEFAULT_WINDOW): RouteDetail[] {
    return routes(window)
      .sort((a, b) => b.p99 - a.p99 || b.mean - a.mean)
      .slice(0, Math.max(0, limit))
  }

  function queries(): QueryReport {
    return { ...src.queryLog.report(src.routes), pools: src.pools(), instrumented: src.instrumented() }
  }

  function insights(): Insight[] {
    return findInsights(routes(DEFAULT_WINDOW), queries(), overview(), DEFAULT_WINDOW, src.nPlusOneThreshold)
  }

  return {
    overview,
    routes,
    slowest,
    slowRequests: (limit?: number) => src.slowLog.report(limit),
    queries,
    insights,
    stats: () => ({
      overview: overview(),
      routes: routes(),
      queries: queries(),
      slowRequests: src.slowLog.report(),
      insights: insights(),
    }),
  }
}

function classesOf(record: RouteRecord): Record<string, number> {
  const out: Record<string, number> = {}
  for (const c of STATUS_CLASSES) out[c] = 0
  for (const s of record.allSeries()) out[s.statusClass] = (out[s.statusClass] ?? 0) + s.requests
  return out
}

function checkWindow(window: unknown): void {
  if (!isWindow(window)) {
    throw new HotpathError(
      'ERR_HOTPATH_PROFILER_WINDOW',
      `@hotpath/profiler: unknown window ${JSON.stringify(window)}; use one of '1m', '5m', '1h', 'all'.`,
    )
  }
}
