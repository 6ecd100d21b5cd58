import type { OverloadPriority, OverloadRefusal } from '@hotpath/core'

/** Plain counters; Prometheus reads them at scrape time, so a request pays for no metric call. */
export class Counts {
  admitted = 0
  abandoned = 0
  readonly refused: Record<OverloadRefusal, number> = { 'queue-timeout': 0, 'queue-full': 0, 'event-loop': 0 }
  private readonly admittedBy: Record<OverloadPriority, number> = { critical: 0, normal: 0, sheddable: 0 }
  private readonly refusedBy: Record<OverloadPriority, number> = { critical: 0, normal: 0, sheddable: 0 }

  admit(priority: OverloadPriority): void {
    this.admitted++
    this.admittedBy[priority]++
  }

  refuse(reason: OverloadRefusal, priority: OverloadPriority): void {
    this.refused[reason]++
    this.refusedBy[priority]++
  }

  byPriority(): Record<OverloadPriority, { admitted: number; refused: number }> {
    const out = {} as Record<OverloadPriority, { admitted: number; refused: number }>
    for (const p of ['critical', 'normal', 'sheddable'] as const) {
      out[p] = { admitted: this.admittedBy[p], refused: this.refusedBy[p] }
    }
    return out
  }
}
