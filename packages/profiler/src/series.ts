import type { Int32Histogram, JsHistogram } from 'hdr-histogram-js'
import {
  Accumulator,
  addFineToCoarse,
  addSparse,
  addTotals,
  type HistogramPool,
  type Sparse,
  sparseOf,
  type Totals,
  toMicros,
} from './intervals'

/** Interval (slot) length: requests are recorded into a dense histogram for one slot. */
export const SLOT_NS = 10_000_000_000
/** Closed slots kept one by one: five minutes of them (the `1m` and `5m` windows). */
export const SLOTS_KEPT = 30
/** Slots per block; the last 12 five-minute blocks make up the `1h` window. */
export const BLOCK_SLOTS = 30
export const BLOCKS_KEPT = 12

/** `10s`: the last closed 10 s slot alone (what a fleet instance publishes each interval). */
export type Span = '10s' | '1m' | '5m' | '1h' | 'all'

/** `1m` and `5m` are merged at fine resolution, `1h` and `all` at coarse. */
export function isCoarse(span: Span): boolean {
  return span === '1h' || span === 'all'
}

/**
 * One route × method × status class. Requests go into a dense histogram for the open 10 s slot.
 * When the slot ends (noticed lazily by the next record or read: an idle series costs no timer)
 * it is kept sparsely in a ring of 30 slots and folded into its five-minute block and the
 * since-start counts; closed blocks are kept in a ring of 12 for the hour.
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
  constructor(
    method: string,
    statusClass: string,
    slot: number,
    boundsNs: Float64Array | null,
    pool: HistogramPool,
  ) {
    this.method = method
    this.statusClass = statusClass
    this.slot = slot
    this.boundsNs = boundsNs
    this.pool = pool
    this.all = new Accumulator(0, pool)
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
    h.recordValue(toMicros(ns))
    const open = this.open
    open.count++
    open.sumNs += ns
    if (ns > open.maxNs) open.maxNs = ns
    if (error) open.errors++
  }

  /**
   * Adds the requests of `span` (as of `nowSlot`) into `into` — a fine histogram for `1m`/`5m`,
   * a coarse one for `1h`/`all` — and their totals into `totals`.
   */
  mergeInto(into: JsHistogram, totals: Totals, span: Span, nowSlot: number): void {
    if (nowSlot > this.slot) this.rotate(nowSlot)
    if (span === 'all') {
      this.all.mergeInto(into, totals)
    } else if (span === '1h') {
      const firstBlock = Math.floor(nowSlot / BLOCK_SLOTS) - BLOCKS_KEPT
      for (const b of this.blocks ?? []) if (b !== undefined && b.id > firstBlock) addSparse(into, totals, b)
      this.block?.mergeInto(into, totals)
    } else if (span === '10s') {
      // Closed only: the open slot is still filling, and an exporter must send each slot once whole.
      const last = this.slots?.[(nowSlot - 1 + SLOTS_KEPT) % SLOTS_KEPT]
      if (last !== undefined && last.id === nowSlot - 1) addSparse(into, totals, last)
      return
    } else {
      const first = nowSlot - (span === '1m' ? 6 : SLOTS_KEPT)
      for (const s of this.slots ?? []) if (s !== undefined && s.id > first) addSparse(into, totals, s)
    }
    if (this.current === null || this.open.count === 0) return
    if (isCoarse(span)) addFineToCoarse(into, this.current, this.pool.coarse)
    else into.add(this.current)
    addTotals(totals, this.open)
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
      const closed = sparseOf(this.current, this.slot, this.open)
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
      if (this.block === null) this.block = new Accumulator(blockId, this.pool)
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
}
