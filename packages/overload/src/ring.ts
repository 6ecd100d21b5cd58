/**
 * The last `size` samples, for percentiles that follow the present. Fixed memory; a sort of
 * at most `size` numbers per read, which happens on `stats()` and once per sample interval.
 */
export class Ring {
  private readonly values: Float64Array
  private count = 0

  constructor(readonly size: number) {
    this.values = new Float64Array(size)
  }

  push(value: number): void {
    this.values[this.count % this.size] = value
    this.count++
  }

  get length(): number {
    return Math.min(this.count, this.size)
  }

  clear(): void {
    this.count = 0
  }

  /** The q-quantile (0..1) of the samples held, 0 when there are none. */
  quantile(q: number): number {
    const n = this.length
    if (n === 0) return 0
    const sorted = this.values.slice(0, n).sort()
    return sorted[Math.min(n - 1, Math.floor(q * n))] as number
  }
}

export const round3 = (value: number): number => Math.round(value * 1000) / 1000
