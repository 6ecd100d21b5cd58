import { HotpathError } from '@hotpath/core'

/** The part of a prom-client `Registry` this package needs (prom-client stays optional). */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void
  getSingleMetric(name: string): unknown
}

interface MetricLike {
  reset(): void
  inc?(labels: Record<string, string>, value: number): void
  set?(labels: Record<string, string>, value: number): void
}

type MetricClass = new (config: {
  name: string
  help: string
  labelNames: string[]
  registers: MetricsRegistry[]
  collect: (this: MetricLike) => void
}) => MetricLike

/** The numbers the metrics read (the cache's `stats()`). */
interface Snapshot {
  hits: number
  misses: number
  staleServed: number
  bypasses: Record<string, number>
  stores: number
  evictions: number
  storeErrors: number
  entries: number
  storedBytes?: number | null
}

/**
 * Prometheus metrics read from `stats()` when the registry is scraped, so the request path does
 * no metric work: `<prefix>hits_total`, `_misses_total`, `_stale_total`,
 * `_bypasses_total{reason}`, `_stores_total`, `_evictions_total`, `_store_errors_total`, and the
 * gauges `_entries` and `_stored_bytes` (absent while the store cannot tell, e.g. Redis).
 */
export function registerCacheMetrics(
  registry: MetricsRegistry,
  prefix: string,
  snapshot: () => Snapshot,
): void {
  let prom: { Counter: MetricClass; Gauge: MetricClass }
  try {
    prom = require('prom-client') as typeof prom
  } catch {
    throw new HotpathError(
      'ERR_HOTPATH_OPTION',
      '@hotpath/response-cache: the registry option needs the prom-client package: npm install prom-client',
    )
  }
  const define = (
    kind: MetricClass,
    suffix: string,
    help: string,
    labelNames: string[],
    fill: (metric: MetricLike, stats: Snapshot) => void,
  ): void => {
    const name = `${prefix}${suffix}`
    if (registry.getSingleMetric(name) !== undefined) {
      throw new HotpathError(
        'ERR_HOTPATH_OPTION',
        `@hotpath/response-cache: the registry already has ${name}; give each responseCache() on one registry its own metricsPrefix.`,
      )
    }
    new kind({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: MetricLike) {
        this.reset()
        fill(this, snapshot())
      },
    })
  }
  const counter = (suffix: string, help: string, read: (s: Snapshot) => number) =>
    define(prom.Counter, suffix, help, [], (m, s) => m.inc?.({}, read(s)))
  counter('hits_total', 'Responses served from the cache.', (s) => s.hits)
  counter('misses_total', 'Cacheable requests the handler answered.', (s) => s.misses)
  counter(
    'stale_total',
    'Stale responses served (stale-while-revalidate, stale-if-error).',
    (s) => s.staleServed,
  )
  counter('stores_total', 'Responses stored.', (s) => s.stores)
  counter('evictions_total', 'Entries evicted to stay within the bound.', (s) => s.evictions)
  counter('store_errors_total', 'Store failures (the cache failed open).', (s) => s.storeErrors)
  define(
    prom.Counter,
    'bypasses_total',
    'Requests that bypassed the cache, by reason.',
    ['reason'],
    (m, s) => {
      for (const [reason, count] of Object.entries(s.bypasses)) m.inc?.({ reason }, count)
    },
  )
  define(prom.Gauge, 'entries', 'Entries held (0 when the store cannot tell).', [], (m, s) =>
    m.set?.({}, s.entries),
  )
  define(prom.Gauge, 'stored_bytes', 'Body, variant and header bytes of the stored entries.', [], (m, s) => {
    if (typeof s.storedBytes === 'number') m.set?.({}, s.storedBytes)
  })
}
