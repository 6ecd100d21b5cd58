import type { LatencySummary, WindowName } from '@hotpath/core'
import type { JsHistogram } from 'hdr-histogram-js'
import type { Totals } from './intervals'
import { round } from './queries'
import type { RouteRecord } from './routes'
import { BLOCK_SLOTS, BLOCKS_KEPT, type Series, SLOT_NS, SLOTS_KEPT } from './series'

export function isWindow(value: unknown): value is WindowName {
  return value === '1m' || value === '5m' || value === '1h' || value === 'all'
}

/** Where "now" is: the open slot, and the time since start. */
export interface Now {
  readonly slot: number
  readonly elapsedNs: number
}

/**
 * The seconds `window` really covers: `1m` is the open 10 s slot and the 5 before it, `5m` the
 * open slot and the 29 before it, `1h` the open five-minute block and the 11 before it; never
 * more than the time since start.
 */
export function windowSeconds(window: WindowName, now: Now): number {
  const uptime = now.elapsedNs / 1e9
  if (window === 'all') return uptime
  const unitNs = window === '1h' ? SLOT_NS * BLOCK_SLOTS : SLOT_NS
  const units = window === '1m' ? 6 : window === '5m' ? SLOTS_KEPT : BLOCKS_KEPT
  const into = (now.elapsedNs % unitNs) / 1e9
  return Math.min(((units - 1) * unitNs) / 1e9 + into, uptime)
}

const PERCENTILES = [50, 90, 95, 99, 99.9] as const

/** Merges `series` over one window into `scratch` and summarises it in milliseconds. */
export function summarize(
  series: Iterable<Series>,
  window: WindowName,
  now: Now,
  scratch: JsHistogram,
): LatencySummary {
  scratch.reset()
  const t: Totals = { count: 0, errors: 0, sumNs: 0, maxNs: 0 }
  for (const s of series) s.mergeInto(scratch, t, window, now.slot)
  if (t.count === 0) return emptySummary()
  const seconds = windowSeconds(window, now)
  const maxMs = t.maxNs / 1e6
  // HDR reports the top of a value's bucket (≤ 0.1% above, ≤ 1% for 1h/all); never above the exact maximum.
  const [p50, p90, p95, p99, p999] = percentiles(scratch, t.count).map((us) =>
    round(Math.min(us / 1000, maxMs)),
  )
  return {
    count: t.count,
    errors: t.errors,
    errorRate: round(t.errors / t.count),
    rps: round(seconds > 0 ? t.count / seconds : 0),
    mean: round(t.sumNs / 1e6 / t.count),
    p50: p50 as number,
    p90: p90 as number,
    p95: p95 as number,
    p99: p99 as number,
    p999: p999 as number,
    max: round(maxMs),
  }
}

/**
 * All of {@link PERCENTILES} in one pass over the counts (HDR's `getValueAtPercentile` scans the
 * whole array once per call). Same rule as HDR: the first value whose cumulative count reaches
 * ceil(p × total), reported as the highest value equivalent to it.
 */
function percentiles(h: JsHistogram, total: number): number[] {
  const out: number[] = []
  let k = 0
  let target = Math.max(1, Math.ceil((PERCENTILES[0] / 100) * total - 1e-9))
  let cumulative = 0
  for (let i = 0; i < h.countsArrayLength && k < PERCENTILES.length; i++) {
    cumulative += h.getCountAtIndex(i)
    while (k < PERCENTILES.length && cumulative >= target) {
      out.push(h.highestEquivalentValue(h.valueFromIndex(i)))
      k++
      if (k < PERCENTILES.length)
        target = Math.max(1, Math.ceil(((PERCENTILES[k] as number) / 100) * total - 1e-9))
    }
  }
  while (out.length < PERCENTILES.length) out.push(out[out.length - 1] ?? 0)
  return out
}

export function emptySummary(): LatencySummary {
  return {
    count: 0,
    errors: 0,
    errorRate: 0,
    rps: 0,
    mean: 0,
    p50: 0,
    p90: 0,
    p95: 0,
    p99: 0,
    p999: 0,
    max: 0,
  }
}

export function* seriesOf(records: Iterable<RouteRecord>): Generator<Series> {
  for (const r of records) yield* r.allSeries()
}
