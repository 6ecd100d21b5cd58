import type { Percentiles, TaskNameStats } from './types'

const SAMPLES = 1024
const MAX_NAMES = 200

/** The last {@link SAMPLES} queue-wait and run times per task name, sorted only when read. */
export function createTimings() {
  const byName = new Map<
    string,
    { queue: Float64Array; run: Float64Array; n: number; completed: number; failed: number }
  >()
  const percentiles = (samples: Float64Array, n: number): Percentiles => {
    const count = Math.min(n, SAMPLES)
    if (count === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 }
    const sorted = samples.slice(0, count).sort()
    const at = (q: number) => sorted[Math.min(count - 1, Math.ceil(q * count) - 1)] as number
    return { count: n, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[count - 1] as number }
  }
  return {
    record(name: string, queueMs: number, runMs: number, ok: boolean): void {
      let entry = byName.get(name)
      if (entry === undefined) {
        // Names come from define(), not from requests; the cap only guards against a runaway caller.
        if (byName.size >= MAX_NAMES) return
        entry = {
          queue: new Float64Array(SAMPLES),
          run: new Float64Array(SAMPLES),
          n: 0,
          completed: 0,
          failed: 0,
        }
        byName.set(name, entry)
      }
      const slot = entry.n % SAMPLES
      entry.queue[slot] = queueMs
      entry.run[slot] = runMs
      entry.n++
      if (ok) entry.completed++
      else entry.failed++
    },
    read(): TaskNameStats[] {
      const out: TaskNameStats[] = []
      for (const [name, e] of byName) {
        out.push({
          name,
          queueMs: percentiles(e.queue, e.n),
          runMs: percentiles(e.run, e.n),
          completed: e.completed,
          failed: e.failed,
        })
      }
      return out
    },
  }
}
