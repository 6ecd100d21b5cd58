import type { BreakerStats } from '@hotpath/core'
import { loadProm } from './metrics'
import type { MetricsRegistry } from './types'

const SOURCES = Symbol('hotpath.breaker.sources')
const STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const

interface Child {
  inc(value?: number): void
  set(value: number): void
}
interface Metric {
  labels(...values: string[]): Child
  [SOURCES]?: Set<() => BreakerStats>
}

/**
 * `<prefix>state{name}` (0 closed, 1 half-open, 2 open) and `<prefix>calls_total{name,outcome}`.
 * Breakers on one registry share the two metrics (one label value each), which read every
 * breaker's stats at scrape time: a call pays for no metric update.
 */
export function registerBreakerMetrics(
  registry: MetricsRegistry,
  prefix: string,
  stats: () => BreakerStats,
): void {
  const prom = loadProm('@hotpath/overload')
  const sourcesOf = (name: string, make: (sources: Set<() => BreakerStats>) => Metric) => {
    const existing = registry.getSingleMetric(name) as Metric | undefined
    if (existing?.[SOURCES]) {
      existing[SOURCES].add(stats)
      return
    }
    const sources = new Set([stats])
    const metric = make(sources)
    metric[SOURCES] = sources
  }
  sourcesOf(
    `${prefix}state`,
    (sources) =>
      new prom.Gauge({
        name: `${prefix}state`,
        help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
        labelNames: ['name'],
        registers: [registry],
        collect(this: Metric) {
          for (const read of sources) {
            const s = read()
            this.labels(s.name).set(STATE_VALUE[s.state])
          }
        },
      }) as unknown as Metric,
  )
  const reported = new Map<string, number>()
  sourcesOf(
    `${prefix}calls_total`,
    (sources) =>
      new prom.Counter({
        name: `${prefix}calls_total`,
        help: 'Calls through a circuit breaker, by outcome.',
        labelNames: ['name', 'outcome'],
        registers: [registry],
        collect(this: Metric) {
          for (const read of sources) {
            const s = read()
            const outcomes: Array<[string, number]> = [
              ['success', s.successes],
              ['failure', s.failures],
              ['timeout', s.timeouts],
              ['rejected', s.rejected],
              ['fallback', s.fallbacks],
              ['slow', s.slow],
            ]
            for (const [outcome, value] of outcomes) {
              const key = `${s.name}\u0000${outcome}`
              const delta = value - (reported.get(key) ?? 0)
              if (delta > 0) this.labels(s.name, outcome).inc(delta)
              reported.set(key, value)
            }
          }
        },
      }) as unknown as Metric,
  )
}
