import { Int32Histogram } from 'hdr-histogram-js'

/**
 * Latency is recorded in microseconds from 1 µs to 1 h at 3 significant digits (≤ 0.1% error).
 * The plain-JS Int32 build is used: the WebAssembly build records ~3× faster (≈40 ns vs ≈120 ns)
 * but needs an async init and explicit `destroy()` of every histogram (its memory is not
 * garbage-collected); at well under 1% of a request's cost that trade is not worth it.
 */
export const MAX_US = 3_600_000_000
export const SIGNIFICANT_DIGITS = 3
/** Interval (slot) length of the rolling windows, and how many slots are kept (one hour). */
export const SLOT_NS = 10_000_000_000
export const SLOT_MS = SLOT_NS / 1e6
export const RING_SLOTS = 360

export function newHistogram(digits = SIGNIFICANT_DIGITS): Int32Histogram {
  return new Int32Histogram(1, MAX_US, digits)
}

/** A closed interval kept sparsely: only the non-zero counts, so an idle slot costs nothing. */
interface Snapshot {
  readonly slot: number
  readonly count: number
  readonly errors: number
  readonly sumNs: number
  readonly maxNs: number
  readonly index: Uint32Array
  readonly counts: Uint32Array
}

/** Totals of a merge; the distribution itself is left in the scratch histogram. */
export interface Merged {
  count: number
  errors: number
  sumNs: number
  maxNs: number
}

/**
 * One route × method × status class. Requests are recorded into a dense interval histogram;
 * when its 10 s slot ends (checked lazily on the next record or read, so an idle series costs no
 * timer) the interval is stored sparsely in a one-hour ring and folded into the since-start totals.
 */
export class Series {
  readonly method: string
  readonly statusClass: string
  /** Per Prometheus bucket (non-cumulative), plus the +Inf overflow at the end. */
  readonly buckets: Float64Array
  private readonly current = newHistogram()
  private readonly all = newHistogram()
  private ring: Array<Snapshot | null> | null = null
  private slot: number
  private count = 0
  private errors = 0
  private sumNs = 0
  private maxNs = 0
  private totalCount = 0
  private totalErrors = 0
  private totalSumNs = 0
  private totalMaxNs = 0

  private readonly boundsNs: Float64Array | null

  /** `boundsNs`: upper bounds of the Prometheus buckets in ns, or `null` when metrics are off. */
  constructor(method: string, statusClass: string, slot: number, boundsNs: Float64Array | null) {
    this.method = method
    this.statusClass = statusClass
    this.slot = slot
    this.boundsNs = boundsNs
    this.buckets = new Float64Array(boundsNs === null ? 0 : boundsNs.length + 1)
  }

  record(ns: number, slot: number, error: boolean): void {
    if (slot !== this.slot) this.rotate(slot)
    const bounds = this.boundsNs
    if (bounds !== null) {
      let b = 0
      while (b < bounds.length && ns > bounds[b]) b++
      this.buckets[b]++
    }
    const us = ns < 1000 ? 1 : ns >= MAX_US * 1000 ? MAX_US : Math.floor(ns / 1000)
    this.current.recordValue(us)
    this.count++
    this.sumNs += ns
    if (ns > this.maxNs) this.maxNs = ns
    if (error) this.errors++
  }

  /** Closes the current interval (if it has data) and starts `slot`. */
  rotate(slot: number): void {
    if (slot === this.slot) return
    if (this.count > 0) {
      const snapshot = this.snapshot()
      if (this.ring === null) this.ring = new Array<Snapshot | null>(RING_SLOTS).fill(null)
      this.ring[this.slot % RING_SLOTS] = snapshot
      this.fold(snapshot)
      this.current.reset()
      this.count = 0
      this.errors = 0
      this.sumNs = 0
      this.maxNs = 0
    }
    this.slot = slot
  }

  /**
   * Adds every interval with `slot > fromSlot` (or everything since start when `fromSlot` is
   * `-Infinity`) into `into` and `totals`.
   */
  mergeInto(into: Int32Histogram, totals: Merged, fromSlot: number): void {
    if (fromSlot === Number.NEGATIVE_INFINITY) {
      into.add(this.all)
      addTotals(totals, this.totalCount, this.totalErrors, this.totalSumNs, this.totalMaxNs)
    } else if (this.ring !== null) {
      for (const snapshot of this.ring) {
        if (snapshot === null || snapshot.slot <= fromSlot) continue
        addSnapshot(into, snapshot)
        addTotals(totals, snapshot.count, snapshot.errors, snapshot.sumNs, snapshot.maxNs)
      }
    }
    if (this.count > 0 && this.slot > fromSlot) {
      into.add(this.current)
      addTotals(totals, this.count, this.errors, this.sumNs, this.maxNs)
    }
  }

  /** Every request recorded since start (closed intervals + the open one). */
  get requests(): number {
    return this.totalCount + this.count
  }

  get sumSeconds(): number {
    return (this.totalSumNs + this.sumNs) / 1e9
  }

  private snapshot(): Snapshot {
    const h = this.current
    const first = h.countsArrayIndex(h.minNonZeroValue)
    const last = h.countsArrayIndex(h.maxValue)
    let used = 0
    for (let i = first; i <= last; i++) if (h.getCountAtIndex(i) !== 0) used++
    const index = new Uint32Array(used)
    const counts = new Uint32Array(used)
    let j = 0
    for (let i = first; i <= last; i++) {
      const c = h.getCountAtIndex(i)
      if (c === 0) continue
      index[j] = i
      counts[j++] = c
    }
    return {
      slot: this.slot,
      count: this.count,
      errors: this.errors,
      sumNs: this.sumNs,
      maxNs: this.maxNs,
      index,
      counts,
    }
  }

  private fold(snapshot: Snapshot): void {
    addSnapshot(this.all, snapshot)
    this.totalCount += snapshot.count
    this.totalErrors += snapshot.errors
    this.totalSumNs += snapshot.sumNs
    if (snapshot.maxNs > this.totalMaxNs) this.totalMaxNs = snapshot.maxNs
  }
}

function addSnapshot(into: Int32Histogram, snapshot: Snapshot): void {
  const { index, counts } = snapshot
  for (let i = 0; i < index.length; i++) {
    into.recordValueWithCount(into.valueFromIndex(index[i] as number), counts[i] as number)
  }
}

function addTotals(t: Merged, count: number, errors: number, sumNs: number, maxNs: number): void {
  t.count += count
  t.errors += errors
  t.sumNs += sumNs
  if (maxNs > t.maxNs) t.maxNs = maxNs
}
