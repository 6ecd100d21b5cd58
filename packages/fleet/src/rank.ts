import { Float64Histogram } from 'hdr-histogram-js'
import { type Layout, round } from './codec'
import { addWindow, atOrBelow } from './runs'
import type { Run } from './wire'

/** The widest bracket summed into a window; a wider one is searched rank by rank. */
const WINDOW = 16_384

function below(runs: readonly Run[], b: number): number {
  let n = 0
  for (let r = 0; r < runs.length; r++) n += atOrBelow(runs[r] as Run, b)
  return n
}

/** The checkpoint chunk of `run` holding its first bucket whose cumulative count reaches `t`. */
function chunkOf(run: Run, t: number): number {
  const cum = run.cpCum
  const last = cum.length - 1
  let lo = 0
  let hi = last
  // Chunk j ends where chunk j + 1 starts (the last chunk at the run's total).
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((mid < last ? (cum[mid + 1] as number) : run.total) >= t) hi = mid
    else lo = mid + 1
  }
  return lo
}

/**
 * Percentiles and counts of the union of several runs of one layout, without adding them up.
 *
 * Why not sum them into one dense array (the obvious merge, which `Merger` does): a view of 100
 * routes × 16 instances would decode and add ~2.7 million buckets and scan ~1.2 million more on
 * every read, when all it needs is three ranks per route. The union's count at or below a bucket is
 * the sum of each run's (`atOrBelow`: checkpoints + a short scan), so a percentile is a binary
 * search over bucket indexes. The search starts bracketed: the union's p-quantile lies between the
 * smallest and the largest of the runs' own p-quantiles, and the checkpoints alone place each of
 * those within one chunk. The answer is the bucket a linear scan of the summed array finds (the
 * first whose cumulative count reaches ceil(p × total)), so the merge is exact within HDR's precision.
 */
export class Ranks {
  private readonly layout: Float64Histogram
  private readonly window = new Float64Array(WINDOW)

  constructor(layout: Layout) {
    // For index → value only: HDR's own bucket arithmetic, so values match the profiler's.
    this.layout = new Float64Histogram(1, layout.highest, layout.digits)
  }

  /** The runs whose buckets all exist in this layout (a corrupt or foreign one is left out). */
  private usable(runs: readonly Run[]): readonly Run[] {
    const length = this.layout.countsArrayLength
    const fits = (r: Run) => r.buckets > 0 && r.last < length
    return runs.every(fits) ? runs : runs.filter(fits)
  }

  /** Percentiles in ms of the union of `runs`, by the profiler's rule, never above `maxMs`. */
  percentiles(all: readonly Run[], ps: readonly number[], maxMs: number): number[] {
    const runs = this.usable(all)
    let total = 0
    let high = -1
    let from = Number.POSITIVE_INFINITY
    for (const run of runs) {
      total += run.total
      if (run.first < from) from = run.first
      if (run.last > high) high = run.last
    }
    if (total <= 0) return ps.map(() => 0)
    const h = this.layout
    const out: number[] = []
    for (const p of ps) {
      const share = p / 100
      const want = Math.max(1, Math.ceil(share * total - 1e-9))
      // Each run's own quantile, with a margin either side for rounding, bounds the union's.
      let lo = Number.POSITIVE_INFINITY
      let hi = -1
      for (const run of runs) {
        const t = share * run.total
        const tLow = t * (1 - 1e-9) - 1e-6
        const tHigh = t * (1 + 1e-9) + 1e-6
        const a = tLow <= 0 ? run.first : (run.cpPrev[chunkOf(run, tLow)] as number) + 1
        const j = tHigh > run.total ? -1 : chunkOf(run, tHigh)
        const b = j < 0 || j === run.cpPrev.length - 1 ? run.last : (run.cpPrev[j + 1] as number)
        if (a < lo) lo = a
        if (b > hi) hi = b
      }
      if (lo < from) lo = from
      if (hi > high) hi = high
      if (lo > hi) {
        lo = from
        hi = high
      }
      if (hi - lo < WINDOW) lo = this.scanWindow(runs, lo, hi, want)
      else {
        while (lo < hi) {
          const mid = lo + Math.floor((hi - lo) / 2)
          if (below(runs, mid) >= want) hi = mid
          else lo = mid + 1
        }
      }
      from = lo
      out.push(round(Math.min(h.highestEquivalentValue(h.valueFromIndex(lo)) / 1000, maxMs)))
    }
    return out
  }

  /**
   * The first bucket of `[lo, hi]` where the union's cumulative count reaches `want`: each run's
   * buckets in the bracket summed into a window (one scan per run), then one pass over it.
   */
  private scanWindow(runs: readonly Run[], lo: number, hi: number, want: number): number {
    const window = this.window
    window.fill(0, 0, hi - lo + 1)
    let cumulative = 0
    for (const run of runs) cumulative += addWindow(run, lo, hi, window)
    for (let i = 0; i < hi - lo; i++) {
      cumulative += window[i] as number
      if (cumulative >= want) return lo + i
    }
    return hi
  }

  /** Requests of the union of `runs` in buckets wholly above `ms`, for the regression test. */
  countAbove(all: readonly Run[], ms: number): number {
    const runs = this.usable(all)
    const h = this.layout
    // Buckets wholly above `ms` are a suffix of the layout: find its first bucket.
    let lo = 0
    let hi = h.countsArrayLength
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (h.lowestEquivalentValue(h.valueFromIndex(mid)) / 1000 > ms) hi = mid
      else lo = mid + 1
    }
    let n = 0
    for (const run of runs) n += run.total - atOrBelow(run, lo - 1)
    return n
  }
}
