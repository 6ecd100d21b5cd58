import { Ring } from './queue'
import { snapshot, type TaskRecord } from './record'
import type { ListQuery, TaskInfo, TaskPage, TaskState } from './types'
import { FINISHED_STATES } from './types'

/** `pos`: the record's index in the creation-order array, kept up to date across compactions. */
export type HistoryRecord = TaskRecord & { gone: boolean; pos: number }

/** How big the history's indexes are (tests assert that they stay at the bound). */
export interface HistorySizes {
  /** Every task the engine knows (the records the creation-order array holds). */
  readonly records: number
  /** Slots of the creation-order array, free ones included. */
  readonly orderSlots: number
  /** Entries of the id → record map: the tasks submitted with an id of the caller's. */
  readonly byId: number
  /** Per finished state: tasks kept, and the slots of its ring. */
  readonly finished: Readonly<Record<string, { readonly size: number; readonly slots: number }>>
}

/** Free slots in `order` are compacted away once they reach this many and a quarter of it. */
const MIN_FREE_BEFORE_COMPACT = 64

/**
 * Every task the memory engine knows, by id and in creation order (for newest-first pages with a
 * cursor), and the finished ones per state in finishing order, bounded by count and by age.
 */
export class History<R extends HistoryRecord> {
  /**
   * Only the records whose id the engine did not make: an engine id names its `seq` (see
   * `seqOf`), found by a binary search of `order`. Besides saving a set and a delete per task,
   * this keeps the map out of the bound: V8 doubles a Map's table when deleted entries fill it
   * while more than half of it is live (and halves it only below a quarter), so a map at the
   * bound under churn settles at twice the table of its first fill, +13% of this heap.
   */
  private readonly byId = new Map<string, R>()
  /**
   * Creation order (ascending `seq`). A forgotten record leaves an `undefined` slot at once (8
   * bytes instead of the whole record, which is what used to pile up between compactions: up to
   * `retention.count` dead records, twice the bound's heap); the slots are compacted away in place.
   */
  private readonly order: (R | undefined)[] = []
  private free = 0
  private readonly finished = new Map<TaskState, Ring<R>>()

  /** `seqOf(id)`: the seq an engine-made id names (checked against the record), else undefined. */
  constructor(
    private readonly retention: { readonly ageMs: number; readonly count: number },
    private readonly onForget: (rec: R) => void,
    private readonly seqOf: (id: string) => number | undefined = () => undefined,
  ) {
    for (const state of FINISHED_STATES) this.finished.set(state, new Ring<R>())
  }

  get(id: string): R | undefined {
    const seq = this.seqOf(id)
    if (seq !== undefined) {
      const order = this.order
      let i = this.below(seq)
      while (i < order.length && order[i] === undefined) i++
      const rec = order[i]
      if (rec !== undefined && rec.seq === seq && rec.id === id) return rec
    }
    return this.byId.get(id)
  }

  add(rec: R): void {
    if (this.seqOf(rec.id) !== rec.seq) this.byId.set(rec.id, rec)
    rec.pos = this.order.length
    this.order.push(rec)
  }

  /** `rec` has just finished in `state` at `rec.finishedAt`. */
  finish(rec: R, state: TaskState, now: number): void {
    const ring = this.finished.get(state) as Ring<R>
    ring.push(rec)
    if (ring.size > this.retention.count) this.forget(ring.shift())
    const head = ring.peek()
    if (head !== undefined && (head.finishedAt ?? 0) < now - this.retention.ageMs) this.prune(now)
  }

  /** `rec` runs again (retry): it leaves its state's history. */
  reopened(rec: R, state: TaskState): void {
    this.finished.get(state)?.remove(rec)
  }

  prune(now: number): void {
    const cutoff = now - this.retention.ageMs
    for (const ring of this.finished.values()) {
      for (
        let head = ring.peek();
        head !== undefined && (head.finishedAt ?? 0) < cutoff;
        head = ring.peek()
      ) {
        this.forget(ring.shift())
      }
    }
  }

  list(query: ListQuery & { limit: number }): TaskPage {
    const order = this.order
    let i = order.length - 1
    if (query.cursor !== undefined) i = this.below(Number(query.cursor)) - 1
    const tasks: TaskInfo[] = []
    let lastSeq = 0
    for (; i >= 0 && tasks.length < query.limit; i--) {
      const rec = order[i]
      if (rec === undefined) continue
      if (query.state !== undefined && rec.state !== query.state) continue
      if (query.name !== undefined && rec.name !== query.name) continue
      tasks.push(snapshot(rec))
      lastSeq = rec.seq
    }
    return i >= 0 && tasks.length === query.limit ? { tasks, nextCursor: String(lastSeq) } : { tasks }
  }

  sizes(): HistorySizes {
    const finished: Record<string, { size: number; slots: number }> = {}
    for (const [state, ring] of this.finished) finished[state] = { size: ring.size, slots: ring.slots }
    return {
      records: this.order.length - this.free,
      orderSlots: this.order.length,
      byId: this.byId.size,
      finished,
    }
  }

  /**
   * The first index whose record has `seq >= before` (records before it all have a smaller seq):
   * a binary search that reads a run of free slots as belonging to the next record after it.
   */
  private below(before: number): number {
    const order = this.order
    let lo = 0
    let hi = order.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      let j = mid
      while (j < hi && order[j] === undefined) j++
      if (j === hi) hi = mid
      else if ((order[j] as R).seq < before) lo = j + 1
      else hi = mid
    }
    return lo
  }

  private forget(rec: R | undefined): void {
    if (rec === undefined) return
    if (this.seqOf(rec.id) !== rec.seq) this.byId.delete(rec.id)
    rec.gone = true
    this.onForget(rec)
    rec.data = undefined
    rec.result = undefined
    const order = this.order
    if (order[rec.pos] === rec) {
      order[rec.pos] = undefined
      this.free++
    }
    // Amortised O(1): a compaction walks the array once per quarter of it freed.
    if (this.free >= MIN_FREE_BEFORE_COMPACT && this.free * 4 >= order.length) this.compact()
  }

  private compact(): void {
    const order = this.order
    let to = 0
    for (let from = 0; from < order.length; from++) {
      const rec = order[from]
      if (rec === undefined) continue
      rec.pos = to
      order[to++] = rec
    }
    order.length = to
    this.free = 0
  }
}
