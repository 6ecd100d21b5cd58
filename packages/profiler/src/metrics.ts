import { HotpathError } from '@hotpath/core'
import type { RouteRecord, RouteTable } from './routes'
import type { MetricsRegistry, Outcome } from './types'

type Labels = Record<string, string | number>
interface Value {
  value: number
  labels: Labels
  metricName?: string
}
interface MetricData {
  name: string
  help: string
  type: 'histogram' | 'counter' | 'gauge'
  values: Value[]
  aggregator: 'sum' | 'max'
}

/**
 * A metric in the shape prom-client's `Registry` reads (`name`, `help`, `type`, `get()`), filled
 * from the profiler's own counters at scrape time. Nothing is observed through prom-client on
 * the request path, so its label hashing costs nothing per request.
 */
interface Metric {
  readonly name: string
  readonly help: string
  readonly type: MetricData['type']
  readonly aggregator: MetricData['aggregator']
  get(): Promise<MetricData>
  reset(): void
}

export const DURATION_METRIC = 'http_server_request_duration_seconds'
const OUTCOMES: readonly Outcome[] = ['finished', 'aborted', 'errored', 'streaming']

export interface MetricSources {
  readonly routes: RouteTable
  readonly buckets: readonly number[]
  readonly eventLoopP99Ms: () => number
}

function metric(name: string, help: string, type: MetricData['type'], values: () => Value[]): Metric {
  const aggregator = type === 'gauge' ? 'max' : 'sum'
  return {
    name,
    help,
    type,
    aggregator,
    get: async () => ({ name, help, type, aggregator, values: values() }),
    reset() {
      // Cumulative since start by definition; a registry reset does not rewrite history.
    },
  }
}

function durationValues(src: MetricSources): Value[] {
  const out: Value[] = []
  const les = src.buckets.map(String)
  for (const record of src.routes.byLabel.values()) {
    for (const s of record.allSeries()) {
      const base = { route: record.label, method: s.method, status_class: s.statusClass }
      let cumulative = 0
      for (let i = 0; i < les.length; i++) {
        cumulative += s.buckets[i] as number
        out.push({
          metricName: `${DURATION_METRIC}_bucket`,
          labels: { ...base, le: les[i] as string },
          value: cumulative,
        })
      }
      const count = s.requests
      out.push({ metricName: `${DURATION_METRIC}_bucket`, labels: { ...base, le: '+Inf' }, value: count })
      out.push({ metricName: `${DURATION_METRIC}_sum`, labels: base, value: s.sumSeconds })
      out.push({ metricName: `${DURATION_METRIC}_count`, labels: base, value: count })
    }
  }
  return out
}

function perRoute(src: MetricSources, read: (r: RouteRecord) => number): Value[] {
  const out: Value[] = []
  for (const r of src.routes.byLabel.values()) {
    const value = read(r)
    if (value > 0) out.push({ labels: { route: r.label }, value })
  }
  return out
}

function buildMetrics(src: MetricSources): Metric[] {
  return [
    metric(
      DURATION_METRIC,
      'Duration of HTTP requests from the first middleware to the end of the response.',
      'histogram',
      () => durationValues(src),
    ),
    metric(
      'hotpath_profiler_requests_total',
      'HTTP requests by route and how they ended (finished, aborted, errored, streaming).',
      'counter',
      () => {
        const out: Value[] = []
        for (const r of src.routes.byLabel.values()) {
          for (const outcome of OUTCOMES) {
            if (r.outcomes[outcome] > 0)
              out.push({ labels: { route: r.label, outcome }, value: r.outcomes[outcome] })
          }
        }
        return out
      },
    ),
    metric(
      'hotpath_profiler_slow_requests_total',
      'HTTP requests at or over the slow threshold.',
      'counter',
      () => perRoute(src, (r) => r.slow),
    ),
    metric(
      'hotpath_profiler_queries_total',
      'Queries timed with prof.query(), by the route that ran them.',
      'counter',
      () => perRoute(src, (r) => r.queries),
    ),
    metric(
      'hotpath_profiler_n_plus_one_requests_total',
      'Requests that ran one query shape at least nPlusOneThreshold times.',
      'counter',
      () => perRoute(src, (r) => r.nPlusOne),
    ),
    metric(
      'hotpath_profiler_event_loop_delay_p99_seconds',
      'p99 event-loop delay over the last sample interval.',
      'gauge',
      () => [{ labels: {}, value: src.eventLoopP99Ms() / 1000 }],
    ),
  ]
}

/** Registers the metrics on `registry`; returns the function that unregisters them. */
export function registerMetrics(registry: MetricsRegistry, src: MetricSources): () => void {
  const registered: string[] = []
  const unregister = () => {
    for (const name of registered) registry.removeSingleMetric?.(name)
    registered.length = 0
  }
  for (const m of buildMetrics(src)) {
    try {
      registry.registerMetric(m)
    } catch (err) {
      unregister()
      throw new HotpathError(
        'ERR_HOTPATH_PROFILER_METRIC_EXISTS',
        `@hotpath/profiler: the registry already has a metric named "${m.name}" (${(err as Error).message}). Give each profiler its own registry, or close() the previous one first.`,
      )
    }
    registered.push(m.name)
  }
  return unregister
}

/** A new prom-client Registry, or `undefined` (logged once) when prom-client is not installed. */
export function defaultRegistry(): MetricsRegistry | undefined {
  try {
    // Loaded lazily: prom-client is an optional peer dependency.
    const prom = require('prom-client') as { Registry: new () => MetricsRegistry }
    return new prom.Registry()
  } catch {
    return undefined
  }
}
