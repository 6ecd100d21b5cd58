import { HotpathError } from '@hotpath/core'
import type { CompressionReport } from './types'

/** The part of a prom-client `Registry` this package needs (prom-client stays optional). */
export interface MetricsRegistry {
  registerMetric(metric: unknown): void
  getSingleMetric(name: string): unknown
}

interface CounterLike {
  reset(): void
  inc(labels: Record<string, string>, value: number): void
}

type CounterClass = new (config: {
  name: string
  help: string
  labelNames: string[]
  registers: MetricsRegistry[]
  collect: (this: CounterLike) => void
}) => CounterLike

/**
 * Prometheus counters read from the instance's statistics when the registry is scraped, so the
 * request path does no metric work at all:
 * `<prefix>responses_total{encoding}`, `<prefix>bytes_in_total{encoding}`,
 * `<prefix>bytes_out_total{encoding}`, `<prefix>skipped_total{reason}`, `<prefix>aborted_total`.
 * `reset()` sets the counters back to zero (Prometheus reads that as a counter reset).
 */
export function registerMetrics(
  registry: MetricsRegistry,
  prefix: string,
  snapshot: () => CompressionReport,
): void {
  let Counter: CounterClass
  try {
    Counter = (require('prom-client') as { Counter: CounterClass }).Counter
  } catch {
    throw new HotpathError(
      'ERR_HOTPATH_OPTION',
      '@hotpath/compression: the registry option needs the prom-client package: npm install prom-client',
    )
  }
  const define = (
    suffix: string,
    help: string,
    labelNames: string[],
    fill: (counter: CounterLike, report: CompressionReport) => void,
  ): void => {
    const name = `${prefix}${suffix}`
    if (registry.getSingleMetric(name) !== undefined) {
      throw new HotpathError(
        'ERR_HOTPATH_OPTION',
        `@hotpath/compression: the registry already has ${name}; give each compression() on one registry its own metricsPrefix.`,
      )
    }
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: CounterLike) {
        this.reset()
        fill(this, snapshot())
      },
    })
  }
  const perEncoding =
    (field: 'responses' | 'bytesIn' | 'bytesOut') => (counter: CounterLike, report: CompressionReport) => {
      for (const [encoding, stats] of Object.entries(report.encodings))
        counter.inc({ encoding }, stats[field])
    }
  define('responses_total', 'Responses compressed, by coding.', ['encoding'], perEncoding('responses'))
  define('bytes_in_total', 'Body bytes before compression, by coding.', ['encoding'], perEncoding('bytesIn'))
  define('bytes_out_total', 'Body bytes after compression, by coding.', ['encoding'], perEncoding('bytesOut'))
  define('skipped_total', 'Responses sent uncompressed, by reason.', ['reason'], (counter, report) => {
    for (const [reason, count] of Object.entries(report.skipped)) counter.inc({ reason }, count)
  })
  define('aborted_total', 'Compressed responses whose client left before the end.', [], (counter, report) => {
    counter.inc({}, report.aborted)
  })
}
