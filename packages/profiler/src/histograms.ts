import type { WindowName } from '@hotpath/core'
import { COARSE_DIGITS, FINE_DIGITS, MAX_US, newScratch, type Totals } from './intervals'
import type { RouteTable } from './routes'
import { isCoarse, SLOT_NS, type Span } from './series'
import { type Now, windowSeconds } from './windows'

/**
 * One route's latency distribution over a window, as the non-zero counts of its HDR histogram
 * (values in µs from 1 to `highest`, `digits` significant digits): `[index, count, …]`. Two of
 * these with the same layout merge exactly by adding counts index by index, which is what lets
 * a fleet report the percentiles of the union of every instance's requests.
 */
export interface RouteHistogram {
  route: string
  /** Seconds the window really covers (see `windowSeconds`), for rates. */
  seconds: number
  count: number
  errors: number
  sumMs: number
  maxMs: number
  lowest: 1
  highest: number
  digits: number
  pairs: number[]
}

/** What `histograms()` takes: a window, or `'10s'` for the last closed 10 s interval alone. */
export type HistogramWindow = WindowName | '10s'

/** Per-route histograms of `window`, for exporters (fleet mode); read side only. */
export function createHistogramExport(routes: RouteTable, now: () => Now) {
  const fine = newScratch(FINE_DIGITS)
  const coarse = newScratch(COARSE_DIGITS)
  return function histograms(window: HistogramWindow = '1m'): RouteHistogram[] {
    const at = now()
    const span: Span = window
    const scratch = isCoarse(span) ? coarse : fine
    const out: RouteHistogram[] = []
    for (const record of routes.byLabel.values()) {
      if (record.requests === 0) continue
      scratch.reset()
      const t: Totals = { count: 0, errors: 0, sumNs: 0, maxNs: 0 }
      for (const s of record.allSeries()) s.mergeInto(scratch, t, span, at.slot)
      if (t.count === 0) continue
      const pairs: number[] = []
      for (let i = 0; i < scratch.countsArrayLength; i++) {
        const c = scratch.getCountAtIndex(i)
        if (c !== 0) pairs.push(i, c)
      }
      out.push({
        route: record.label,
        seconds: window === '10s' ? SLOT_NS / 1e9 : windowSeconds(window, at),
        count: t.count,
        errors: t.errors,
        sumMs: t.sumNs / 1e6,
        maxMs: t.maxNs / 1e6,
        lowest: 1,
        highest: MAX_US,
        digits: isCoarse(span) ? COARSE_DIGITS : FINE_DIGITS,
        pairs,
      })
    }
    return out
  }
}
