import { Ring } from './queue'
import { snapshot, type TaskRecord } from './record'
import type { ListQuery, TaskInfo, TaskPage, TaskState } from './types'
import { FINISHED_STATES } from './types'

export type HistoryRecord = TaskRecord & { gone: boolean }

/**
 * Every task the memory engine knows, by id and in creation order (for newest-first pages with a
 * cursor), and the finished ones per state in finishing order, bounded by count and by age.
 */
export class History<R extends HistoryRecord> {
  private readonly records = new Map<string, R>()
  /** Creation order; forgotten records are skipped, and compacted away once they are half of it. */
  private order: R[] = []
  private goneInOrder = 0
  private readonly finished = new Map<TaskState, Ring<R>>()

  constructor(
    private readonly retention: { readonly ageMs: number; readonly count: number },
    private readonly onForget: (rec: R) => void,
  ) {
    for (const state of FINISHED_STATES) this.finished.set(state, new Ring<R>())
  }

  get(id: string): R | undefined {
    return this.records.get(id)
  }

  add(rec: R): void {
    this.records.set(rec.id, rec)
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
    if (query.cursor !== undefined) {
      const before = Number(query.cursor)
      let lo = 0
      let hi = order.length
      while (lo < hi) {
        const mid = (lo + hi) >>> 1
        if ((order[mid] as R).seq < before) lo = mid + 1
        else hi = mid
      }
      i = lo - 1
    }
    const tasks: TaskInfo[] = []
    let lastSeq = 0
    for (; i >= 0 && tasks.length < query.limit; i--) {
      const rec = order[i] as R
      if (rec.gone) continue
      if (query.state !== undefined && rec.state !== query.state) continue
      if (query.name !== undefined && rec.name !== query.name) continue
      tasks.push(snapshot(rec))
      lastSeq = rec.seq
    }
    return i >= 0 && tasks.length === query.limit ? { tasks, nextCursor: String(lastSeq) } : { tasks }
  }

  private forget(rec: R | undefined): void {
    if (rec === undefined) return
    this.records.delete(rec.id)
    rec.gone = true
    this.onForget(rec)
    rec.data = undefined
    rec.result = undefined
    if (++this.goneInOrder > 1024 && this.goneInOrder * 2 > this.order.length) {
      this.order = this.order.filter((r) => !r.gone)
      this.goneInOrder = 0
    }
  }
}
