import {
  HISTORY_ROUTES,
  HISTORY_STEPS,
  type HistoryPoint,
  type HistoryQuery,
  HistoryRing,
  type HistorySeries,
  historySeries,
} from '@hotpath/core'
import type { DashboardSources } from './types'

export interface LocalHistory {
  history(query: HistoryQuery): HistorySeries
  mark(label: string, at: number): void
  markers(): Array<{ at: number; label: string }>
  /** Takes a point now (it also runs every 10 s). */
  sample(): void
}

/**
 * This process's history when no fleet is given: a point every 10 s (the rolling 1-minute numbers
 * of the profiler, the cache's hit ratio, event loop, CPU and memory) into a ring of an hour, and
 * every minute into a ring of a day. Fixed memory (1,800 points of ≤ 50 routes); one unref'd timer.
 * (`intervalMs` other than 10 s is for tests and demos: the 1 h ring then holds 360 points of it.)
 */
export function createLocalHistory(
  sources: DashboardSources,
  now: () => number,
  intervalMs: number,
): LocalHistory {
  const tens = new HistoryRing(HISTORY_STEPS['1h'].points)
  const minutes = new HistoryRing(HISTORY_STEPS['1d'].points)
  const marks: Array<{ at: number; label: string }> = []
  let lastCpu = process.cpuUsage()
  let lastAt = now()
  let lastMinute = -1
  let lastStatus: Record<string, number> | null = null

  function sample(): void {
    const at = now()
    const cpu = process.cpuUsage()
    const wall = Math.max(1, at - lastAt)
    const mem = process.memoryUsage()
    const point: HistoryPoint = {
      at,
      rps: 0,
      p50: 0,
      p95: 0,
      p99: 0,
      errorRate: 0,
      s2xx: 0,
      s3xx: 0,
      s4xx: 0,
      s5xx: 0,
      cacheHitRatio: 0,
      eventLoopP99: 0,
      cpu: Math.round(((cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000 / wall) * 1000) / 1000,
      heapUsed: mem.heapUsed,
      rss: mem.rss,
      coverage: 1,
      routes: [],
    }
    lastCpu = cpu
    try {
      const prof = sources.profiler
      if (prof) {
        const overview = prof.overview()
        const w = overview.windows['1m']
        Object.assign(point, { rps: w.rps, p50: w.p50, p95: w.p95, p99: w.p99, errorRate: w.errorRate })
        point.eventLoopP99 = overview.eventLoop.p99
        const routes = prof.routes('1m') as Array<{
          route: string
          rps: number
          p95: number
          errorRate: number
          count: number
        }>
        point.routes = routes
          .slice(0, HISTORY_ROUTES)
          .map(
            (r) => [r.route, r.rps, r.p95, r.errorRate, r.count] as [string, number, number, number, number],
          )
        const status: Record<string, number> = {}
        for (const r of prof.routes('all') as Array<{ statusClasses?: Record<string, number> }>) {
          for (const [c, n] of Object.entries(r.statusClasses ?? {})) status[c] = (status[c] ?? 0) + n
        }
        if (lastStatus !== null) {
          for (const c of ['2xx', '3xx', '4xx', '5xx'] as const) {
            point[`s${c}`] = Math.round((((status[c] ?? 0) - (lastStatus[c] ?? 0)) / wall) * 1e6) / 1000
          }
        }
        lastStatus = status
      }
      const cache = sources.cache?.stats()
      if (cache) point.cacheHitRatio = cache.hitRatio
    } catch {
      // A source that throws leaves its numbers at 0 for this point; the next one tries again.
    }
    lastAt = at
    tens.push(point)
    const minute = Math.floor(at / 60_000)
    if (minute !== lastMinute) {
      lastMinute = minute
      minutes.push(point)
    }
  }

  // 0 turns history off (`history: false`): no timer, and the series stay empty.
  if (intervalMs > 0) setInterval(sample, intervalMs).unref()

  return {
    history(query) {
      const window = query.window ?? '1h'
      const from = now() - (window === '1h' ? 3_600_000 : 86_400_000)
      const ring = window === '1h' ? tens : minutes
      return historySeries(
        ring.toArray(),
        query.metric,
        query.route ?? null,
        window,
        marks.filter((m) => m.at >= from),
      )
    },
    mark(label, at) {
      marks.push({ at, label })
      while (marks.length > 100) marks.shift()
    },
    markers: () => [...marks],
    sample,
  }
}
