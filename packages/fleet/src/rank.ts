import { Float64Histogram } from 'hdr-histogram-js'
import { type Layout, round } from './codec'
import type { Run } from './wire'

/** Requests of `run` in buckets at or below `b`: one binary search in its cumulative counts. */
function atOrBelow(run: Run, b: number): number {
  const index = run.index
  let lo = 0
  let hi = index.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((index[mid] as number) <= b) lo = mid + 1
    else hi = mid
  }
  return lo === 0 ? 0 : (run.cum[lo - 1] as number)
}

function below(runs: readonly Run[], b: number): number {
  let n = 0
  for (let r = 0; r < runs.length; r++) n += atOrBelow(runs[r] as Run, b)
  return n
}

/**
 * Percentiles and counts of the union of several runs of one layout, without adding them up.
 *
 * Why not sum them into one dense array first (the obvious merge, and what `Merger` does): a view
 * of 100 routes × 16 instances would add ~2.7 million buckets and scan ~1.2 million more on every
 * read, when all it needs is three ranks per route. The union's cumulative count at a bucket is
 * the sum of each run's (one binary search each, in counts kept cumulative by the decoder), so a
 * percentile is a binary search over bucket indexes: ~14 steps × instances × log2(buckets).
 * The answer is the same bucket a linear scan of the summed array finds (the first whose
 * cumulative count reaches ceil(p × total)), so the merge stays exact within HDR's precision.
 */
export class Ranks {
  private readonly layout: Float64Histogram

  constructor(layout: Layout) {
    // For index → value only: HDR's own bucket arithmetic, so values match the profiler's.
    this.layout = new Float64Histogram(1, layout.highest, layout.digits)
  }

  /** The runs whose buckets all exist in this layout (a corrupt or foreign one is left out). */
  private usable(runs: readonly Run[]): readonly Run[] {
    const length = this.layout.countsArrayLength
    const fits = (r: Run) => r.index.length === 0 || (r.index[r.index.length - 1] as number) < length
    return runs.every(fits) ? runs : runs.filter(fits)
  }

  /** Percentiles in ms of the union of `runs`, by the profiler's rule, never above `maxMs`. */
  percentiles(all: readonly Run[], ps: readonly number[], maxMs: number): number[] {
    const runs = this.usable(all)
    let total = 0
    let low = Number.POSITIVE_INFINITY
    let high = -1
    for (const run of runs) {
      const n = run.index.length
      if (n === 0) continue
      total += run.total
      if ((run.index[0] as number) < low) low = run.index[0] as number
      if ((run.index[n - 1] as number) > high) high = run.index[n - 1] as number
    }
    if (total <= 0) return ps.map(() => 0)
    const h = this.layout
    const out: number[] = []
    let from = low
    for (const p of ps) {
      const want = Math.max(1, Math.ceil((p / 100) * total - 1e-9))
      // The smallest bucket whose cumulative count reaches `want` (it has requests of its own).
      let lo = from
      let hi = high
      while (lo < hi) {
        const mid = lo + Math.floor((hi - lo) / 2)
        if (below(runs, mid) >= want) hi = mid
        else lo = mid + 1
      }
      from = lo
      out.push(round(Math.min(h.highestEquivalentValue(h.valueFromIndex(lo)) / 1000, maxMs)))
    }
    return out
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
