import type { Outcome, SlowRequest, SlowRequestReport } from './types'

export interface SlowEntry {
  readonly timeMs: number
  readonly method: string
  readonly route: string
  readonly status: number
  readonly outcome: Outcome
  readonly durationNs: number
  readonly spans: ReadonlyArray<{ readonly name: string; readonly ns: number }> | null
}

/**
 * The N slowest requests since start (kept sorted, slowest first) and the last N over the
 * threshold (a ring). Only method, route label, status and timings are kept: never a URL, a
 * query string, a header value or a body.
 */
export class SlowLog {
  private readonly capacity: number
  readonly thresholdNs: number
  private readonly slowest: SlowEntry[] = []
  private readonly recent: SlowEntry[] = []
  private next = 0

  constructor(capacity: number, thresholdNs: number) {
    this.capacity = capacity
    this.thresholdNs = thresholdNs
  }

  /** Cheap rejection first: most requests are neither slow nor among the slowest. */
  wants(durationNs: number): boolean {
    if (durationNs >= this.thresholdNs) return true
    const s = this.slowest
    return s.length < this.capacity || durationNs > (s[s.length - 1] as SlowEntry).durationNs
  }

  add(entry: SlowEntry): void {
    const s = this.slowest
    if (s.length < this.capacity || entry.durationNs > (s[s.length - 1] as SlowEntry).durationNs) {
      let i = s.length
      while (i > 0 && (s[i - 1] as SlowEntry).durationNs < entry.durationNs) i--
      s.splice(i, 0, entry)
      if (s.length > this.capacity) s.pop()
    }
    if (entry.durationNs >= this.thresholdNs) {
      if (this.recent.length < this.capacity) this.recent.push(entry)
      else this.recent[this.next] = entry
      this.next = (this.next + 1) % this.capacity
    }
  }

  report(limit = this.capacity): SlowRequestReport {
    const n = this.recent.length
    const recent: SlowEntry[] = []
    for (let i = 1; i <= n; i++) recent.push(this.recent[(this.next - i + n) % n] as SlowEntry)
    return {
      thresholdMs: this.thresholdNs / 1e6,
      slowest: this.slowest.slice(0, limit).map(view),
      recent: recent.slice(0, limit).map(view),
    }
  }
}

function view(e: SlowEntry): SlowRequest {
  return {
    time: new Date(e.timeMs).toISOString(),
    method: e.method,
    route: e.route,
    status: e.status,
    outcome: e.outcome,
    durationMs: ms(e.durationNs),
    spans: e.spans === null ? [] : e.spans.map((s) => ({ name: s.name, durationMs: ms(s.ns) })),
  }
}

function ms(ns: number): number {
  return Math.round(ns / 1000) / 1000
}
