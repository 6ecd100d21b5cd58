import { Float64Histogram, Int32Histogram, type JsHistogram } from 'hdr-histogram-js'

/**
 * Latency is recorded in microseconds from 1 µs to 1 h at 3 significant digits (≤ 0.1% error).
 * The plain-JS Int32 build is used: the WebAssembly build records ~3× faster (≈40 ns vs ≈120 ns)
 * but needs an async init and explicit `destroy()` of every histogram (its memory is not
 * garbage-collected); at well under 1% of a request's cost that trade is not worth it.
 */
export const MAX_US = 3_600_000_000
export const SIGNIFICANT_DIGITS = 3
/** Interval (slot) length: requests are recorded into a dense histogram for one slot. */
export const SLOT_NS = 10_000_000_000
/** Closed slots kept one by one: five minutes of them (the `1m` and `5m` windows). */
export const SLOTS_KEPT = 30
/** Slots per block; closed blocks (five minutes each) make up the `1h` window. */
export const BLOCK_SLOTS = 30
export const BLOCKS_KEPT = 12

export function newHistogram(digits = SIGNIFICANT_DIGITS): Int32Histogram {
  return new Int32Histogram(1, MAX_US, digits)
}

/** The histogram windows are merged into: float counts, so a long-running total cannot wrap. */
export function newScratch(): Float64Histogram {
  return new Float64Histogram(1, MAX_US, SIGNIFICANT_DIGITS)
}

/** Past this many distinct buckets a Map costs more than a dense array of all of them. */
const DENSE_AFTER = 1024

/** Spare dense histograms kept for reuse; beyond this a returned one is left to the GC. */
const POOL_SPARES = 32

/**
 * Dense interval histograms (~95 KB each) shared by all series of one instance: a series holds one
 * only while it has traffic in the open slot, so memory follows the routes that are busy now, not
 * every route ever seen.
 */
export class HistogramPool {
  private readonly spares: Int32Histogram[] = []
  /** Length of the counts array every histogram of these settings has. */
  readonly length = newHistogram().countsArrayLength

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
interface Sparse extends Totals {
  readonly id: number
  readonly pairs: Uint32Array
}

/**
 * An accumulating interval (a block being built, or everything since start): sparse while few
 * buckets are used, dense once a Map would cost more than the array.
 */
class Accumulator implements Totals {
  readonly id: number
  private sparse: Map<number, number> | null = new Map()
  private dense: Float64Array | null = null
  private readonly length: number
  count = 0
  errors = 0
  sumNs = 0
  maxNs = 0

  constructor(id: number, length: number) {
    this.id = id
    this.length = length
  }

  add(s: Sparse): void {
    const p = s.pairs
    const map = this.sparse
    if (map !== null) {
      for (let i = 0; i < p.length; i += 2) {
        const index = p[i] as number
        map.set(index, (map.get(index) ?? 0) + (p[i + 1] as number))
      }
      if (map.size > DENSE_AFTER) this.densify(map)
    } else {
      const d = this.dense as Float64Array
      for (let i = 0; i < p.length; i += 2) d[p[i] as number] += p[i + 1] as number
    }
    addTotals(this, s)
  }

  mergeInto(into: JsHistogram): void {
    if (this.sparse !== null) {
      for (const [index, count] of this.sparse) into.addToCountAtIndex(index, count)
    } else {
      const d = this.dense as Float64Array
      for (let i = 0; i < d.length; i++) if (d[i] !== 0) into.addToCountAtIndex(i, d[i] as number)
    }
    into.addToTotalCount(this.count)
  }

  seal(): Sparse {
    let used = 0
    this.forEach(() => used++)
    const pairs = new Uint32Array(used * 2)
    let j = 0
    this.forEach((index, count) => {
      pairs[j++] = index
      pairs[j++] = count
    })
    return { id: this.id, pairs, count: this.count, errors: this.errors, sumNs: this.sumNs, maxNs: this.maxNs }
  }

  private forEach(fn: (index: number, count: number) => void): void {
    if (this.sparse !== null) for (const [index, count] of this.sparse) fn(index, count)
    else {
      const d = this.dense as Float64Array
      for (let i = 0; i < d.length; i++) if (d[i] !== 0) fn(i, d[i] as number)
    }
  }

  private densify(map: Map<number, number>): void {
    const d = new Float64Array(this.length)
    for (const [index, count] of map) d[index] = count
    this.dense = d
    this.sparse = null
  }
}

export type Span = '1m' | '5m' | '1h' | 'all'

/**
 * One route × method × status class. Requests go into a dense histogram for the open 10 s slot.
 * When the slot ends (noticed lazily by the next record or read: an idle series costs no timer)
 * it is stored sparsely in a ring of 30 slots and added to its five-minute block; blocks are kept
 * in a ring of 12 for the hour, and everything is added to the since-start counts.
 */
export class Series {
  readonly method: string
  readonly statusClass: string
  /** Per Prometheus bucket (non-cumulative), plus the +Inf overflow at the end. */
  readonly buckets: Float64Array
  private readonly boundsNs: Float64Array | null
  private readonly pool: HistogramPool
  private current: Int32Histogram | null = null
  private readonly open: Totals = { count: 0, errors: 0, sumNs: 0, maxNs: 0 }
  private slot: number
  private slots: Array<Sparse | undefined> | null = null
  private blocks: Array<Sparse | undefined> | null = null
  private block: Accumulator | null = null
  private readonly all: Accumulator

  /** `boundsNs`: upper bounds of the Prometheus buckets in ns, or `null` when metrics are off. */
  constructor(method: string, statusClass: string, slot: number, boundsNs: Float64Array | null, pool: HistogramPool) {
    this.method = method
    this.statusClass = statusClass
    this.slot = slot
    this.boundsNs = boundsNs
    this.pool = pool
    this.all = new Accumulator(0, pool.length)
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
    let h = this.current
    if (h === null) {
      h = this.pool.take()
      this.current = h
    }
    h.recordValue(ns < 1000 ? 1 : ns >= MAX_US * 1000 ? MAX_US : Math.floor(ns / 1000))
    const open = this.open
    open.count++
    open.sumNs += ns
    if (ns > open.maxNs) open.maxNs = ns
    if (error) open.errors++
  }

  /** Adds the requests of `span` (as of `nowSlot`) into `into` and `totals`. */
  mergeInto(into: JsHistogram, totals: Totals, span: Span, nowSlot: number): void {
    if (nowSlot > this.slot) this.rotate(nowSlot)
    if (span === 'all') {
      this.all.mergeInto(into)
      addTotals(totals, this.all)
    } else if (span === '1h') {
      const firstBlock = Math.floor(nowSlot / BLOCK_SLOTS) - BLOCKS_KEPT
      for (const b of this.blocks ?? []) if (b !== undefined && b.id > firstBlock) addSparse(into, totals, b)
      if (this.block !== null) addSparse(into, totals, this.block.seal())
    } else {
      const first = nowSlot - (span === '1m' ? 6 : SLOTS_KEPT)
      for (const s of this.slots ?? []) if (s !== undefined && s.id > first) addSparse(into, totals, s)
    }
    if (this.current !== null && this.open.count > 0) {
      into.add(this.current)
      addTotals(totals, this.open)
    }
  }

  /** Every request since start (closed slots and the open one), for the Prometheus counters. */
  get requests(): number {
    return this.all.count + this.open.count
  }

  get sumSeconds(): number {
    return (this.all.sumNs + this.open.sumNs) / 1e9
  }

  /** Closes the open slot (if it had requests) and starts `slot`. */
  private rotate(slot: number): void {
    if (this.current !== null) {
      const closed = this.seal(this.current)
      this.pool.give(this.current)
      this.current = null
      this.open.count = 0
      this.open.errors = 0
      this.open.sumNs = 0
      this.open.maxNs = 0
      if (this.slots === null) this.slots = new Array<Sparse | undefined>(SLOTS_KEPT)
      this.slots[closed.id % SLOTS_KEPT] = closed
      this.all.add(closed)
      const blockId = Math.floor(closed.id / BLOCK_SLOTS)
      if (this.block !== null && this.block.id !== blockId) this.closeBlock()
      if (this.block === null) this.block = new Accumulator(blockId, this.pool.length)
      this.block.add(closed)
    }
    if (this.block !== null && this.block.id !== Math.floor(slot / BLOCK_SLOTS)) this.closeBlock()
    this.slot = slot
  }

  private closeBlock(): void {
    const block = this.block as Accumulator
    if (this.blocks === null) this.blocks = new Array<Sparse | undefined>(BLOCKS_KEPT)
    this.blocks[block.id % BLOCKS_KEPT] = block.seal()
    this.block = null
  }

  private seal(h: Int32Histogram): Sparse {
    const first = h.countsArrayIndex(h.minNonZeroValue)
    const last = h.countsArrayIndex(h.maxValue)
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
    const o = this.open
    return { id: this.slot, pairs, count: o.count, errors: o.errors, sumNs: o.sumNs, maxNs: o.maxNs }
  }
}

/** Adds counts by index: the same layout (same histogram settings), no value→index round trip. */
function addSparse(into: JsHistogram, totals: Totals, s: Sparse): void {
  const p = s.pairs
  for (let i = 0; i < p.length; i += 2) into.addToCountAtIndex(p[i] as number, p[i + 1] as number)
  into.addToTotalCount(s.count)
  addTotals(totals, s)
}

function addTotals(t: Totals, s: Totals): void {
  t.count += s.count
  t.errors += s.errors
  t.sumNs += s.sumNs
  if (s.maxNs > t.maxNs) t.maxNs = s.maxNs
}
