import { HotpathError } from '@hotpath/core'
import type { MetricsRegistry } from './types'

export type MissReason = 'cold' | 'expired' | 'tag' | 'bus' | 'evicted'

/** The last N factory durations of a namespace: enough for a p95 without a histogram per key. */
const RING = 512

export class NamespaceCounters {
  hits = 0
  misses = 0
  factoryRuns = 0
  factoryErrors = 0
  private readonly ring = new Float64Array(RING)
  private filled = 0
  private next = 0

  constructor(readonly ttlMs: number) {}

  recordFactory(ms: number): void {
    this.factoryRuns++
    this.ring[this.next] = ms
    this.next = (this.next + 1) % RING
    if (this.filled < RING) this.filled++
  }

  /** `q` in 0..1 of the recent factory durations, ms; 0 before the first run. */
  quantile(q: number): number {
    if (this.filled === 0) return 0
    const sorted = Array.from(this.ring.subarray(0, this.filled)).sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
  }
}

export class Counters {
  l1Hits = 0
  l2Hits = 0
  readonly misses: Record<MissReason, number> = { cold: 0, expired: 0, tag: 0, bus: 0, evicted: 0 }
  staleServed = 0
  softTimeouts = 0
  hardTimeouts = 0
  l2Timeouts = 0
  l2Errors = 0
  lockAcquired = 0
  lockWaits = 0
  lockWaitTimeouts = 0
  busSent = 0
  busReceived = 0
  busErrors = 0
  oversized = 0
  bloomRejected = 0
  readonly namespaces = new Map<string, NamespaceCounters>()

  namespace(name: string, ttlMs: number): NamespaceCounters {
    let counters = this.namespaces.get(name)
    if (counters === undefined) {
      counters = new NamespaceCounters(ttlMs)
      this.namespaces.set(name, counters)
    }
    return counters
  }
}

interface MetricLike {
  reset(): void
  set?(labels: Record<string, string>, value: number): void
  inc?(labels: Record<string, string>, value: number): void
}

/**
 * `hotpath_data_cache_*` on the caller's registry, read from the counters at scrape time:
 * the hot path never touches prom-client. A second cache on the registry adds its own
 * `cache` label value to the same metrics.
 */
export function registerMetrics(
  registry: MetricsRegistry,
  cacheName: string,
  read: () => import('@hotpath/core').DataCacheStats,
): void {
  let prom: {
    Counter: new (config: object) => MetricLike
    Gauge: new (config: object) => MetricLike
  }
  try {
    prom = require('prom-client') as typeof prom
  } catch {
    throw new HotpathError(
      'ERR_HOTPATH_OPTION',
      '@hotpath/cache: the registry option needs the prom-client package: npm install prom-client',
    )
  }
  const readers = new Map<string, Array<(metric: MetricLike) => void>>()
  const define = (
    type: 'Counter' | 'Gauge',
    name: string,
    help: string,
    labelNames: string[],
    fill: (
      stats: import('@hotpath/core').DataCacheStats,
      put: (labels: Record<string, string>, v: number) => void,
    ) => void,
  ) => {
    const full = `hotpath_data_cache_${name}`
    const reader = (metric: MetricLike) => {
      const stats = read()
      fill(stats, (labels, value) => {
        const withCache = { cache: cacheName, ...labels }
        if (type === 'Gauge') metric.set?.(withCache, value)
        else metric.inc?.(withCache, value)
      })
    }
    let list = readers.get(full)
    if (registry.getSingleMetric(full) !== undefined) {
      // Another cache registered it: chain our reader into its collect via a shared list.
      const shared = (registry.getSingleMetric(full) as { hotpathReaders?: Array<(m: MetricLike) => void> })
        .hotpathReaders
      shared?.push(reader)
      return
    }
    list = [reader]
    readers.set(full, list)
    const metric = new prom[type]({
      name: full,
      help,
      labelNames: ['cache', ...labelNames],
      registers: [registry],
      collect(this: MetricLike) {
        this.reset()
        for (const fn of list as Array<(m: MetricLike) => void>) fn(this)
      },
    }) as MetricLike & { hotpathReaders?: Array<(m: MetricLike) => void> }
    metric.hotpathReaders = list
  }
  define('Counter', 'hits_total', 'Lookups answered from a tier.', ['tier'], (s, put) => {
    put({ tier: 'l1' }, s.hits.l1)
    put({ tier: 'l2' }, s.hits.l2)
  })
  define(
    'Counter',
    'misses_total',
    'Lookups that found no usable value, by reason.',
    ['reason'],
    (s, put) => {
      for (const [reason, count] of Object.entries(s.misses)) put({ reason }, count)
    },
  )
  define('Counter', 'factory_runs_total', 'Factory runs, by namespace.', ['namespace'], (s, put) => {
    for (const [namespace, ns] of Object.entries(s.namespaces)) put({ namespace }, ns.factoryRuns)
  })
  define(
    'Gauge',
    'factory_p95_seconds',
    'p95 of recent factory runs, by namespace.',
    ['namespace'],
    (s, put) => {
      for (const [namespace, ns] of Object.entries(s.namespaces)) put({ namespace }, ns.factoryP95 / 1000)
    },
  )
  define(
    'Counter',
    'stale_served_total',
    'Graced values served instead of a failed or slow factory.',
    [],
    (s, put) => put({}, s.staleServed),
  )
  define(
    'Counter',
    'l2_errors_total',
    'Redis tier commands that failed or passed their deadline.',
    [],
    (s, put) => put({}, s.l2.errors),
  )
  define('Counter', 'bus_messages_total', 'Coherence bus messages.', ['direction'], (s, put) => {
    put({ direction: 'sent' }, s.bus.sent)
    put({ direction: 'received' }, s.bus.received)
  })
  define('Gauge', 'entries', 'Entries in the memory tier.', [], (s, put) => put({}, s.entries))
  define('Gauge', 'bytes', 'Bytes accounted in the memory tier.', [], (s, put) => put({}, s.bytes))
}
