import { HotpathError, type OverloadStats } from '@hotpath/core'
import type { Counts } from './counts'
import type { MetricsRegistry } from './types'

interface Child {
  inc(value?: number): void
  set(value: number): void
}
interface Metric {
  labels(...values: string[]): Child
  set(value: number): void
}
type Ctor = new (config: object) => Metric
interface Prom {
  Counter: Ctor
  Gauge: Ctor
}

export function loadProm(pkg: string): Prom {
  try {
    return require('prom-client') as Prom
  } catch {
    throw new HotpathError(
      'ERR_HOTPATH_OPTION',
      `${pkg}: the registry option needs the prom-client package: npm install prom-client`,
    )
  }
}

/**
 * `<prefix>requests_total{priority,outcome}` (outcome `admitted` or the refusal reason) and
 * gauges for the limit, in-flight and queued requests, minRTT, queue delay and the event loop.
 * Every value is read from the guard's own counters when the registry is scraped (prom-client's
 * `collect`), so no request pays for a metric call. A second guard on the same registry needs
 * its own `metricsPrefix`.
 */
export function registerMetrics(
  registry: MetricsRegistry,
  prefix: string,
  stats: () => OverloadStats,
  counts: Counts,
): void {
  const prom = loadProm('@hotpath/overload')
  if (registry.getSingleMetric(`${prefix}requests_total`) !== undefined) {
    throw new HotpathError(
      'ERR_HOTPATH_OVERLOAD_METRICS',
      `@hotpath/overload: metrics "${prefix}*" are already registered on this registry; give each guard its own metricsPrefix.`,
    )
  }
  const reported = new Map<string, number>()
  new prom.Counter({
    name: `${prefix}requests_total`,
    help: 'Requests seen by the overload guard, by priority and outcome (admitted or the refusal reason).',
    labelNames: ['priority', 'outcome'],
    registers: [registry],
    collect(this: Metric) {
      const s = stats()
      const values: Array<[string, string, number]> = []
      for (const [priority, c] of Object.entries(s.priorities))
        values.push([priority, 'admitted', c.admitted])
      for (const [reason, n] of Object.entries(s.refused)) values.push(['all', reason, n])
      for (const [priority, outcome, value] of values) {
        const key = `${priority}\u0000${outcome}`
        const delta = value - (reported.get(key) ?? 0)
        if (delta > 0) this.labels(priority, outcome).inc(delta)
        reported.set(key, value)
      }
    },
  })
  const gauge = (name: string, help: string, read: (s: OverloadStats) => number) =>
    new prom.Gauge({
      name: `${prefix}${name}`,
      help,
      registers: [registry],
      collect(this: Metric) {
        this.set(read(stats()))
      },
    })
  gauge('limit', 'The adaptive concurrency limit (0 when the limiter is off).', (s) => s.limit ?? 0)
  gauge('in_flight', 'Requests running under the limit.', (s) => s.inFlight)
  gauge('queued', 'Requests waiting in the admission queue.', (s) => s.queued)
  gauge('abandoned', 'Requests whose client left while they waited.', () => counts.abandoned)
  gauge('min_rtt_seconds', 'The minimum round-trip time the limit follows.', (s) => s.minRttMs / 1000)
  gauge(
    'queue_delay_p99_seconds',
    'p99 of the time admitted requests waited.',
    (s) => s.queueDelayMs.p99 / 1000,
  )
  gauge(
    'event_loop_utilization',
    'Smoothed event-loop utilisation, 0..1.',
    (s) => s.eventLoop?.utilization ?? 0,
  )
  gauge(
    'event_loop_refusal_probability',
    'Share of normal requests the event-loop guard refuses.',
    (s) => s.eventLoop?.refusalProbability ?? 0,
  )
}
