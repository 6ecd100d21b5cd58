type Outcome = 'ok' | 'slow' | 'failure'

/**
 * Calls, failures and slow calls over the last `windowMs`, in `buckets` slots stamped with the
 * slot number they count; a stale slot is zeroed when reused or skipped when read. Fixed memory,
 * no timer (the same shape as opossum's window, so both rates cover the same span).
 */
export class RollingWindow {
  private readonly bucketMs: number
  private readonly stamp: Float64Array
  private readonly calls: Uint32Array
  private readonly failures: Uint32Array
  private readonly slow: Uint32Array

  constructor(
    windowMs: number,
    private readonly buckets: number,
  ) {
    this.bucketMs = Math.max(1, windowMs / buckets)
    this.stamp = new Float64Array(buckets).fill(-1)
    this.calls = new Uint32Array(buckets)
    this.failures = new Uint32Array(buckets)
    this.slow = new Uint32Array(buckets)
  }

  add(now: number, outcome: Outcome): void {
    const slot = Math.floor(now / this.bucketMs)
    const i = slot % this.buckets
    if (this.stamp[i] !== slot) {
      this.stamp[i] = slot
      this.calls[i] = 0
      this.failures[i] = 0
      this.slow[i] = 0
    }
    ;(this.calls[i] as number)++
    if (outcome === 'failure') (this.failures[i] as number)++
    else if (outcome === 'slow') (this.slow[i] as number)++
  }

  totals(now: number): { calls: number; failures: number; slow: number } {
    const current = Math.floor(now / this.bucketMs)
    let calls = 0
    let failures = 0
    let slow = 0
    for (let i = 0; i < this.buckets; i++) {
      const stamp = this.stamp[i] as number
      if (stamp < 0 || current - stamp >= this.buckets) continue
      calls += this.calls[i] as number
      failures += this.failures[i] as number
      slow += this.slow[i] as number
    }
    return { calls, failures, slow }
  }

  reset(): void {
    this.stamp.fill(-1)
  }
}
