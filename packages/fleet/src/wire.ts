import { deflateRawSync, inflateRawSync } from 'node:zlib'

/**
 * The histograms of one snapshot on the wire: every route's non-zero HDR buckets (indexes in the
 * profiler's own bucket space, so nothing is re-bucketed and 3 significant digits stay exact),
 * all routes in ONE raw DEFLATE stream.
 *
 *   blob   = deflateRaw( varint routes · varint buckets · route* )
 *   route  = varint k · bucket{k}
 *   bucket = one byte (gap << 4 | count - 1), each nibble 15 = "15 + a varint follows" (gap first)
 *   gap    = index - previous index - 1 (the first: index from -1)
 *
 * Why this shape (measured, `bench/fleet.mjs` and the notes there):
 * - One stream per snapshot, not one per route: `inflateRawSync` costs ~40 µs a call before it
 *   reads a byte, which was most of a cold merge (1,600 calls for 100 routes × 16 instances).
 * - One byte per non-zero bucket in the common case: in the body of a latency distribution gaps
 *   are 0 and counts small, in its tails gaps are small and counts 1; either fits a nibble. This
 *   halves the bytes inflate writes and the decoder reads against plain varint pairs (1.7 KB vs
 *   3.3 KB per route of 2,000 requests over two decades), and DEFLATE still shrinks it to ~0.96 KB
 *   (varints + zero runs, per route deflate: 1.24 KB; gap and count streams apart: 1.05 KB).
 * - No deflate at all was tried: the nibble bytes alone miss 2 KB at 20,000 requests a minute.
 *   Brotli was 10% smaller but decoded ~2× slower than inflate.
 * - The header's bucket total bounds what a corrupt header can make the reader believe.
 */
export interface Run {
  /** Bucket indexes, ascending. */
  readonly index: Int32Array
  /** Cumulative counts: `cum[j]` is the sum of the counts of buckets `index[0..j]`. */
  readonly cum: Float64Array
  readonly total: number
}

/** Cap on what a blob may inflate to: 200 routes of a full 3-digit layout (~23,000 buckets). */
const MAX_INFLATED = 32 << 20
const MAX_INDEX = 0x7fffffff

export class CorruptHistogram extends Error {
  constructor(why: string) {
    super(`corrupt fleet histogram: ${why}`)
    this.name = 'CorruptHistogram'
  }
}

/** A growable byte buffer. */
class Bytes {
  buf = new Uint8Array(4096)
  length = 0

  byte(b: number): void {
    if (this.length === this.buf.length) this.grow()
    this.buf[this.length++] = b
  }

  varint(n: number): void {
    let v = n
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80)
      v = Math.floor(v / 0x80)
    }
    this.byte(v)
  }

  private grow(): void {
    const next = new Uint8Array(this.buf.length * 2)
    next.set(this.buf)
    this.buf = next
  }
}

/** Whether `pairs` is `[index, count, …]` with ascending integer indexes and integer counts ≥ 1. */
export function validPairs(pairs: readonly number[]): boolean {
  if (pairs.length % 2 !== 0) return false
  let prev = -1
  for (let i = 0; i < pairs.length; i += 2) {
    const index = pairs[i] as number
    const count = pairs[i + 1] as number
    if (!Number.isSafeInteger(index) || index <= prev || index > MAX_INDEX) return false
    if (!Number.isSafeInteger(count) || count < 1) return false
    prev = index
  }
  return true
}

function putRoute(out: Bytes, pairs: readonly number[]): number {
  if (!validPairs(pairs)) {
    throw new RangeError('histogram pairs need ascending integer bucket indexes and integer counts ≥ 1')
  }
  const k = pairs.length >> 1
  out.varint(k)
  let prev = -1
  for (let i = 0; i < 2 * k; i += 2) {
    const index = pairs[i] as number
    const gap = index - prev - 1
    const c = (pairs[i + 1] as number) - 1
    out.byte((Math.min(gap, 15) << 4) | Math.min(c, 15))
    if (gap >= 15) out.varint(gap - 15)
    if (c >= 15) out.varint(c - 15)
    prev = index
  }
  return k
}

/** Encodes every route's `[index, count, …]` (indexes ascending, counts ≥ 1) into one blob. */
export function encodeRoutes(routes: ReadonlyArray<readonly number[]>): Buffer {
  const body = new Bytes()
  let buckets = 0
  for (const pairs of routes) buckets += putRoute(body, pairs)
  const head = new Bytes()
  head.varint(routes.length)
  head.varint(buckets)
  const plain = Buffer.concat([head.buf.subarray(0, head.length), body.buf.subarray(0, body.length)])
  // Level 6 and 9 give the same size on these bytes (measured); 6 is the cheaper to publish.
  return deflateRawSync(plain, { level: 6 })
}

/** A varint at `bytes[pos]`: its value, and in `at.pos` where the next one starts. */
function varintAt(bytes: Uint8Array, pos: number, at: { pos: number }): number {
  let v = 0
  let scale = 1
  let p = pos
  for (;;) {
    if (p >= bytes.length) throw new CorruptHistogram('truncated')
    const b = bytes[p++] as number
    v += (b & 0x7f) * scale
    if (b < 0x80) {
      at.pos = p
      return v
    }
    scale *= 0x80
    if (scale > 2 ** 49) throw new CorruptHistogram('varint too long')
  }
}

/**
 * Decodes {@link encodeRoutes}' blob into one run per route (two typed arrays for the whole
 * snapshot, each route a view of them); throws `CorruptHistogram`. Counts are kept cumulative: a
 * merge answers "how many requests at or below bucket b" for any instance with one binary search
 * (see rank.ts), so it never has to add the buckets of 16 instances into one array.
 */
export function decodeRoutes(blob: Uint8Array): Run[] {
  let bytes: Buffer
  try {
    bytes = inflateRawSync(blob, { maxOutputLength: MAX_INFLATED })
  } catch (err) {
    throw new CorruptHistogram(`not a DEFLATE stream (${(err as Error).message})`)
  }
  const end = bytes.length
  const at = { pos: 0 }
  const routes = varintAt(bytes, 0, at)
  const buckets = varintAt(bytes, at.pos, at)
  let pos = at.pos
  // Every bucket takes at least one byte: a header that says otherwise is not believed.
  if (buckets > end - pos || routes > end - pos) throw new CorruptHistogram('header larger than its body')
  const index = new Int32Array(buckets)
  const cum = new Float64Array(buckets)
  const out: Run[] = []
  let n = 0
  for (let r = 0; r < routes; r++) {
    const k = varintAt(bytes, pos, at)
    pos = at.pos
    if (k > buckets - n) throw new CorruptHistogram('more buckets than the header says')
    const from = n
    const stop = n + k
    let bucket = -1
    let total = 0
    // The hot loop: locals only, one byte per bucket; the rare escapes go through varintAt.
    while (n < stop) {
      if (pos >= end) throw new CorruptHistogram('truncated')
      const t = bytes[pos++] as number
      let gap = t >> 4
      let c = (t & 15) + 1
      if (gap === 15) {
        gap += varintAt(bytes, pos, at)
        pos = at.pos
      }
      if (c === 16) {
        c += varintAt(bytes, pos, at)
        pos = at.pos
      }
      bucket += gap + 1
      total += c
      index[n] = bucket
      cum[n] = total
      n++
    }
    if (bucket > MAX_INDEX) throw new CorruptHistogram('bucket index out of range')
    out.push({ index: index.subarray(from, n), cum: cum.subarray(from, n), total })
  }
  if (n !== buckets) throw new CorruptHistogram('fewer buckets than the header says')
  if (pos !== end) throw new CorruptHistogram('trailing bytes')
  return out
}

/** A run as `[index, count, …]`. */
export function pairsOfRun(run: Run): number[] {
  const out: number[] = []
  let before = 0
  for (let j = 0; j < run.index.length; j++) {
    const c = run.cum[j] as number
    out.push(run.index[j] as number, c - before)
    before = c
  }
  return out
}

/** One route alone, as base64 text (for exporters that want a string; the fleet sends blobs). */
export function encodePairs(pairs: readonly number[]): string {
  return encodeRoutes([pairs]).toString('base64')
}

/** The inverse of {@link encodePairs}, as `[index, count, …]`; throws on a corrupt payload. */
export function decodePairs(encoded: string): number[] {
  const runs = decodeRoutes(Buffer.from(encoded, 'base64'))
  if (runs.length !== 1) throw new CorruptHistogram(`${runs.length} routes where one was expected`)
  return pairsOfRun(runs[0] as Run)
}
