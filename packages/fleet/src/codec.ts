import { Float64Histogram } from 'hdr-histogram-js'
import { forEachBucket } from './runs'
import type { Run } from './wire'

export type { Run } from './wire'
export { decodePairs, encodePairs } from './wire'

export interface Layout {
  readonly highest: number
  readonly digits: number
}

/**
 * Sums histograms of one layout by bucket index — exact, so percentiles of the sum are those of
 * the union of every instance's requests, within HDR's precision (`digits` significant digits).
 * Counts live in one dense array of the layout (reused); only the range of buckets touched since
 * the last `reset()` is cleared and scanned, so a merge costs what the routes use, not the ~23,000
 * buckets of the layout.
 */
export class Merger {
  private readonly layout: Float64Histogram
  private readonly counts: Float64Array
  private low = Number.POSITIVE_INFINITY
  private high = -1
  private total = 0

  constructor(layout: Layout) {
    // For index → value only: HDR's own bucket arithmetic, so values match the profiler's.
    this.layout = new Float64Histogram(1, layout.highest, layout.digits)
    this.counts = new Float64Array(this.layout.countsArrayLength)
  }

  reset(): void {
    if (this.high >= 0) this.counts.fill(0, this.low, this.high + 1)
    this.low = Number.POSITIVE_INFINITY
    this.high = -1
    this.total = 0
  }

  add(pairs: readonly number[]): void {
    const counts = this.counts
    const max = counts.length
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const index = pairs[i] as number
      if (!(index >= 0 && index < max)) continue
      const count = pairs[i + 1] as number
      counts[index] = (counts[index] as number) + count
      this.total += count
      if (index < this.low) this.low = index
      if (index > this.high) this.high = index
    }
  }

  /** Adds a route's run from a snapshot. */
  addRun(run: Run): void {
    const { first, last } = run
    if (run.buckets === 0 || first < 0 || last >= this.counts.length) return
    const counts = this.counts
    forEachBucket(run, (i, c) => {
      counts[i] = (counts[i] as number) + c
    })
    this.total += run.total
    if (first < this.low) this.low = first
    if (last > this.high) this.high = last
  }

  /** What this merger holds, as `[index, count, …]`. */
  pairs(): number[] {
    const out: number[] = []
    for (let i = this.low; i <= this.high; i++) {
      const c = this.counts[i] as number
      if (c !== 0) out.push(i, c)
    }
    return out
  }

  /** Adds everything another merger of the same layout holds (over its touched range only). */
  addMerger(other: Merger): void {
    if (other.high < 0) return
    const counts = this.counts
    const src = other.counts
    for (let i = other.low; i <= other.high; i++) counts[i] = (counts[i] as number) + (src[i] as number)
    this.total += other.total
    if (other.low < this.low) this.low = other.low
    if (other.high > this.high) this.high = other.high
  }

  get count(): number {
    return this.total
  }

  /**
   * Percentiles in ms, by the profiler's rule: the first bucket whose cumulative count reaches
   * ceil(p × total), reported as the highest value equivalent to it, never above `maxMs`. With
   * `minus`, of this histogram less that one (a part of it: one instance out of the fleet).
   */
  percentiles(ps: readonly number[], maxMs: number, minus?: Merger): number[] {
    const total = this.total - (minus?.total ?? 0)
    if (total <= 0) return ps.map(() => 0)
    const h = this.layout
    const counts = this.counts
    const less = minus?.counts
    const out: number[] = []
    const target = (p: number) => Math.max(1, Math.ceil((p / 100) * total - 1e-9))
    let k = 0
    let cumulative = 0
    let want = target(ps[0] as number)
    for (let i = this.low; i <= this.high && k < ps.length; i++) {
      const c = less ? (counts[i] as number) - (less[i] as number) : (counts[i] as number)
      if (c === 0) continue
      cumulative += c
      while (k < ps.length && cumulative >= want) {
        const us = h.highestEquivalentValue(h.valueFromIndex(i))
        out.push(round(Math.min(us / 1000, maxMs)))
        k++
        if (k < ps.length) want = target(ps[k] as number)
      }
    }
    while (out.length < ps.length) out.push(out[out.length - 1] ?? 0)
    return out
  }

  /** Requests slower than `ms` (counts of buckets wholly above it), for the regression test. */
  countAbove(ms: number): number {
    const h = this.layout
    let n = 0
    for (let i = this.low; i <= this.high; i++) {
      const c = this.counts[i] as number
      if (c !== 0 && h.lowestEquivalentValue(h.valueFromIndex(i)) / 1000 > ms) n += c
    }
    return n
  }
}

export function round(n: number): number {
  return Math.round(n * 1000) / 1000
}
