import { deflateRawSync, inflateRawSync } from 'node:zlib'
import { Float64Histogram } from 'hdr-histogram-js'

/**
 * A route's histogram on the wire: the non-zero `[index, count, …]` pairs of the profiler's HDR
 * layout, indexes delta-encoded, everything as unsigned LEB128 varints, then raw DEFLATE and
 * base64. A busy route with latencies over three decades uses a few hundred buckets: ~1 KB.
 */
export function encodePairs(pairs: readonly number[]): string {
  const bytes: number[] = []
  const put = (n: number) => {
    let v = Math.max(0, Math.round(n))
    while (v >= 0x80) {
      bytes.push((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    bytes.push(v)
  }
  let last = 0
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const index = pairs[i] as number
    put(index - last)
    put(pairs[i + 1] as number)
    last = index
  }
  return deflateRawSync(Buffer.from(bytes)).toString('base64')
}

/** The inverse of {@link encodePairs}; throws on a corrupt payload (the caller skips it). */
export function decodePairs(encoded: string): number[] {
  const bytes = inflateRawSync(Buffer.from(encoded, 'base64'), { maxOutputLength: 1 << 20 })
  const out: number[] = []
  let pos = 0
  const get = (): number => {
    let v = 0
    let scale = 1
    for (;;) {
      if (pos >= bytes.length) throw new Error('truncated histogram')
      const b = bytes[pos++] as number
      v += (b & 0x7f) * scale
      if (b < 0x80) return v
      scale *= 0x80
    }
  }
  let index = 0
  while (pos < bytes.length) {
    index += get()
    out.push(index, get())
  }
  return out
}

export interface Layout {
  readonly highest: number
  readonly digits: number
}

/**
 * Sums histograms of one layout by index — exact, so percentiles of the sum are those of the
 * union of every instance's requests, within HDR's precision (`digits` significant digits).
 */
export class Merger {
  private readonly scratch: Float64Histogram
  private total = 0

  constructor(layout: Layout) {
    this.scratch = new Float64Histogram(1, layout.highest, layout.digits)
  }

  reset(): void {
    this.scratch.reset()
    this.total = 0
  }

  add(pairs: readonly number[]): void {
    const h = this.scratch
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const index = pairs[i] as number
      if (index < 0 || index >= h.countsArrayLength) continue
      const count = pairs[i + 1] as number
      h.addToCountAtIndex(index, count)
      this.total += count
    }
  }

  get count(): number {
    return this.total
  }

  /**
   * Percentiles in ms, by the profiler's rule: the first bucket whose cumulative count reaches
   * ceil(p × total), reported as the highest value equivalent to it, never above `maxMs`.
   */
  percentiles(ps: readonly number[], maxMs: number): number[] {
    const h = this.scratch
    const out: number[] = []
    if (this.total === 0) return ps.map(() => 0)
    let k = 0
    let cumulative = 0
    const target = (p: number) => Math.max(1, Math.ceil((p / 100) * this.total - 1e-9))
    let want = target(ps[0] as number)
    for (let i = 0; i < h.countsArrayLength && k < ps.length; i++) {
      cumulative += h.getCountAtIndex(i)
      while (k < ps.length && cumulative >= want) {
        const us = h.highestEquivalentValue(h.valueFromIndex(i))
        out.push(round(Math.min(us / 1000, maxMs)))
        k++
        if (k < ps.length) want = target(ps[k] as number)
      }
    }
    while (out.length < ps.length) out.push(out[out.length - 1] ?? 0)
    return out
  }

  /** Requests slower than `ms` (counts of buckets wholly above it), for the regression test. */
  countAbove(ms: number): number {
    const h = this.scratch
    let n = 0
    for (let i = 0; i < h.countsArrayLength; i++) {
      const c = h.getCountAtIndex(i)
      if (c !== 0 && h.lowestEquivalentValue(h.valueFromIndex(i)) / 1000 > ms) n += c
    }
    return n
  }
}

export function round(n: number): number {
  return Math.round(n * 1000) / 1000
}
