import { Float64Histogram, Int32Histogram, type JsHistogram } from 'hdr-histogram-js'

/**
 * Latency is recorded in microseconds from 1 µs to 1 h at 3 significant digits (≤ 0.1% error).
 * The plain-JS Int32 build is used: the WebAssembly build records ~3× faster (≈40 ns vs ≈120 ns)
 * but needs an async init and an explicit `destroy()` of every histogram (its memory is not
 * garbage-collected); at well under 1% of a request's cost that trade is not worth it.
 *
 * Intervals older than five minutes (the `1h` blocks and the since-start counts) are kept at
 * 2 significant digits (≤ 1% error): a long-horizon distribution then costs ~26 KB at most
 * instead of ~190 KB, which is what keeps a hundred busy routes within a few MB.
 */
export const MAX_US = 3_600_000_000
export const FINE_DIGITS = 3
export const COARSE_DIGITS = 2

export function newHistogram(digits = FINE_DIGITS): Int32Histogram {
  return new Int32Histogram(1, MAX_US, digits)
}

/** A histogram windows are merged into: float counts, so a long-running total cannot wrap. */
export function newScratch(digits: number): Float64Histogram {
  return new Float64Histogram(1, MAX_US, digits)
}

export function toMicros(ns: number): number {
  return ns < 1000 ? 1 : ns >= MAX_US * 1000 ? MAX_US : Math.floor(ns / 1000)
}

/** Spare dense histograms kept for reuse; beyond this a returned one is left to the GC. */
const POOL_SPARES = 32
/** Past this many distinct buckets a Map costs more than a dense array of all of them. */
const DENSE_AFTER = 512

/**
 * Per instance: dense fine histograms (~95 KB each) shared by all series — a series holds one only
 * while it has traffic in the open slot, so memory follows the routes busy now, not every route
 * ever seen — and the fine → coarse index table.
 */
export class HistogramPool {
  private readonly spares: Int32Histogram[] = []
  /** Fine counts index → coarse counts index. */
  readonly coarse: Uint16Array
  readonly coarseLength: number

  constructor() {
    const fine = newHistogram(FINE_DIGITS)
    const coarse = newHistogram(COARSE_DIGITS)
    this.coarse = new Uint16Array(fine.countsArrayLength)
    for (let i = 0; i < this.coarse.length; i++) {
      this.coarse[i] = Math.min(coarse.countsArrayIndex(fine.valueFromIndex(i)), coarse.countsArrayLength - 1)
    }
    this.coarseLength = coarse.countsArrayLength
    this.spares.push(fine)
  }

  take(): Int32Histogram {
    return this.spares.pop() ?? newHistogram()
  }

  give(h: Int32Histogram): void {
    h.reset()
    if (this.spares.length < POOL_SPARES) this.spares.push(h)
  }
}

/** Request totals of an interval; percentiles come from the histogram counts. */
export interface Totals {
  count: number
  errors: number
  sumNs: number
  maxNs: number
}

/**
 * A closed interval kept sparsely: `[index, count, index, count, …]` of the non-zero histogram
 * counts only, so a slot costs a few hundred bytes and an idle one nothing.
 */
export interface Sparse extends Totals {
  readonly id: number
  readonly pairs: Uint32Array
}

/** The non-zero counts of a dense histogram, as a sparse interval. */
export function sparseOf(h: Int32Histogram, id: number, totals: Totals): Sparse {
  const first = h.countsArrayIndex(h.minNonZeroValue)
  const last = Math.min(h.countsArrayIndex(h.maxValue), h.countsArrayLength - 1)
  let used = 0
  for (let i = first; i <= last; i++) if (h.getCountAtIndex(i) !== 0) used++
  const pairs = new Uint32Array(used * 2)
  let j = 0
  for (let i = first; i <= last; i++) {
    const c = h.getCountAtIndex(i)
    if (c === 0) continue
    pairs[j++] = i
    pairs[j++] = c
  }
  return { id, pairs, count: totals.count, errors: totals.errors, sumNs: totals.sumNs, maxNs: totals.maxNs }
}

/** Adds counts by index (same histogram settings): no value → index round trip. */
export function addSparse(into: JsHistogram, totals: Totals, s: Sparse): void {
  const p = s.pairs
  for (let i = 0; i < p.length; i += 2) into.addToCountAtIndex(p[i] as number, p[i + 1] as number)
  into.addToTotalCount(s.count)
  addTotals(totals, s)
}

/** Adds a dense fine histogram into a coarse one through the index table. */
export function addFineToCoarse(into: JsHistogram, h: Int32Histogram, coarse: Uint16Array): void {
  const last = Math.min(h.countsArrayIndex(h.maxValue), h.countsArrayLength - 1)
  for (let i = h.countsArrayIndex(h.minNonZeroValue); i <= last; i++) {
    const c = h.getCountAtIndex(i)
    if (c !== 0) into.addToCountAtIndex(coarse[i] as number, c)
  }
  into.addToTotalCount(h.totalCount)
}

export function addTotals(t: Totals, s: Totals): void {
  t.count += s.count
  t.errors += s.errors
  t.sumNs += s.sumNs
  if (s.maxNs > t.maxNs) t.maxNs = s.maxNs
}

/**
 * A coarse interval being accumulated from fine slots (a five-minute block, or everything since
 * start): sparse while few buckets are used, dense once a Map would cost more than the array.
 */
export class Accumulator implements Totals {
  readonly id: number
  private readonly pool: HistogramPool
  private sparse: Map<number, number> | null = new Map()
  private dense: Float64Array | null = null
  count = 0
  errors = 0
  sumNs = 0
  maxNs = 0

  constructor(id: number, pool: HistogramPool) {
    this.id = id
    this.pool = pool
  }

  /** Adds a fine sparse slot, folding its indexes to the coarse layout. */
  add(s: Sparse): void {
    const p = s.pairs
    const coarse = this.pool.coarse
    const map = this.sparse
    if (map !== null) {
      for (let i = 0; i < p.length; i += 2) {
        const index = coarse[p[i] as number] as number
        map.set(index, (map.get(index) ?? 0) + (p[i + 1] as number))
      }
      if (map.size > DENSE_AFTER) this.densify(map)
    } else {
      const d = this.dense as Float64Array
      for (let i = 0; i < p.length; i += 2) d[coarse[p[i] as number] as number] += p[i + 1] as number
    }
    addTotals(this, s)
  }

  /** Adds the counts into a coarse histogram and the totals into `totals`. */
  mergeInto(into: JsHistogram, totals: Totals): void {
    this.each((index, count) => {
      into.addToCountAtIndex(index, count)
    })
    into.addToTotalCount(this.count)
    addTotals(totals, this)
  }

  seal(): Sparse {
    let used = 0
    this.each(() => {
      used++
    })
    const pairs = new Uint32Array(used * 2)
    let j = 0
    this.each((index, count) => {
      pairs[j++] = index
      pairs[j++] = count
    })
    return {
      id: this.id,
      pairs,
      count: this.count,
      errors: this.errors,
      sumNs: this.sumNs,
      maxNs: this.maxNs,
    }
  }

  private each(fn: (index: number, count: number) => void): void {
    if (this.sparse !== null) {
      for (const [index, count] of this.sparse) fn(index, count)
      return
    }
    const d = this.dense as Float64Array
    for (let i = 0; i < d.length; i++) if (d[i] !== 0) fn(i, d[i] as number)
  }

  private densify(map: Map<number, number>): void {
    const d = new Float64Array(this.pool.coarseLength)
    for (const [index, count] of map) d[index] = count
    this.dense = d
    this.sparse = null
  }
}
