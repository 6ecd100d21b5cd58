import { deflateSync, inflateSync } from 'node:zlib'
import { more, pairsOfRun, type Run } from './runs'

/**
 * The histograms of one snapshot on the wire: every route's non-zero HDR buckets (indexes in the
 * profiler's own bucket space, so nothing is re-bucketed and 3 significant digits stay exact),
 * then the instance's overall histogram (its routes summed), all in ONE zlib stream.
 *
 *   blob       = zlib( varint runs · varint buckets · varint checkpoints · run* )
 *   run        = varint k · varint nbytes · checkpoint{⌊(k-1)/64⌋} · bucket{k} (nbytes bytes)
 *   bucket     = one byte (gap << 4 | count - 1), each nibble 15 = "15 + a varint follows" (gap first)
 *   gap        = index - previous index - 1 (the first: index from -1)
 *   checkpoint = before bucket 64·j: varints Δ byte offset, Δ previous index, Δ count (each less 64)
 *
 * Why this shape (measured with `bench/fleet.mjs`, sizes exact, merge cost in instructions):
 * - One stream per snapshot, not one per route: `inflateRawSync` costs ~40 µs a call before it
 *   reads a byte, which was most of a cold merge (1,600 calls for 100 routes × 16 instances).
 * - One byte per non-zero bucket in the common case: in the body of a latency distribution gaps
 *   are 0 and counts small, in its tails gaps are small and counts 1; either fits a nibble. This
 *   halves the bytes inflate writes against plain varint pairs (1.7 KB vs 3.3 KB per route of
 *   2,000 requests over two decades) and DEFLATE still shrinks it to ~1 KB (varints + zero runs,
 *   deflated per route as in format 1: 1.24 KB; gap and count streams apart: 1.05 KB). Without
 *   DEFLATE the nibble bytes alone miss 2 KB at 20,000 requests a minute; Brotli was 10% smaller
 *   but decoded ~2× slower. zlib rather than raw DEFLATE: its Adler-32 turns a damaged value into
 *   an error instead of other numbers.
 * - Checkpoints, so a reader never decodes every bucket: a merge needs a few ranks per route
 *   ("requests at or below bucket b"), and a checkpoint table gives one with a binary search and
 *   a scan of at most 64 bytes (rank.ts). Decoding all ~2.7 million buckets of 100 routes × 16
 *   instances into arrays was ~80% of a cold merge's instructions; the table costs ~5% more bytes.
 */
export type { Run } from './runs'

/** Buckets between two checkpoints: the longest scan a rank costs. */
export const STRIDE = 128
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

  bytes(other: Bytes): void {
    while (this.length + other.length > this.buf.length) this.grow()
    this.buf.set(other.buf.subarray(0, other.length), this.length)
    this.length += other.length
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
  const body = new Bytes()
  const marks = new Bytes()
  let prev = -1
  let cum = 0
  let markPos = 0
  let markPrev = -1
  let markCum = 0
  for (let j = 0; j < k; j++) {
    if (j > 0 && j % STRIDE === 0) {
      // Less the least each can be (every bucket ≥ 1 byte, 1 index, 1 request): smaller varints.
      marks.varint(body.length - markPos - STRIDE)
      marks.varint(prev - markPrev - STRIDE)
      marks.varint(cum - markCum - STRIDE)
      markPos = body.length
      markPrev = prev
      markCum = cum
    }
    const index = pairs[2 * j] as number
    const count = pairs[2 * j + 1] as number
    const gap = index - prev - 1
    const c = count - 1
    body.byte((Math.min(gap, 15) << 4) | Math.min(c, 15))
    if (gap >= 15) body.varint(gap - 15)
    if (c >= 15) body.varint(c - 15)
    prev = index
    cum += count
  }
  out.varint(k)
  out.varint(body.length)
  out.bytes(marks)
  out.bytes(body)
  return k
}

function checkpointsOf(k: number): number {
  return k > 0 ? 1 + Math.floor((k - 1) / STRIDE) : 1
}

/** Encodes every run's `[index, count, …]` (indexes ascending, counts ≥ 1) into one blob. */
export function encodeRoutes(routes: ReadonlyArray<readonly number[]>): Buffer {
  const body = new Bytes()
  let buckets = 0
  let checkpoints = 0
  for (const pairs of routes) {
    const k = putRoute(body, pairs)
    buckets += k
    checkpoints += checkpointsOf(k)
  }
  const head = new Bytes()
  head.varint(routes.length)
  head.varint(buckets)
  head.varint(checkpoints)
  head.bytes(body)
  // Level 6 and 9 give the same size on these bytes (measured); 6 is the cheaper to publish.
  return deflateSync(head.buf.subarray(0, head.length), { level: 6 })
}

/** A varint at `bytes[pos]` before `end`: its value, and in `at.pos` where the next one starts. */
function varintAt(bytes: Uint8Array, pos: number, at: { pos: number }, end = bytes.length): number {
  const v = more(bytes, pos, end, at)
  if (v < 0) throw new CorruptHistogram('truncated or overlong varint')
  return v
}

/**
 * Inflates {@link encodeRoutes}' blob and reads its checkpoint tables (not its buckets: those are
 * read where a rank needs them, runs.ts); throws `CorruptHistogram`. Each run's first bucket and its
 * last checkpoint's tail are decoded, which gives its range and total and checks its end.
 */
export function decodeRoutes(blob: Uint8Array): Run[] {
  let bytes: Buffer
  try {
    // 256 KB output chunks instead of zlib's 16 KB: a snapshot of 100 routes inflates to ~190 KB,
    // so one chunk, no concatenation (inflate measured ~25% faster on the bench's snapshots).
    bytes = inflateSync(blob, { maxOutputLength: MAX_INFLATED, chunkSize: 1 << 18 })
  } catch (err) {
    throw new CorruptHistogram(`not a zlib stream (${(err as Error).message})`)
  }
  const length = bytes.length
  const at = { pos: 0 }
  const routes = varintAt(bytes, 0, at)
  const buckets = varintAt(bytes, at.pos, at)
  const entries = varintAt(bytes, at.pos, at)
  let pos = at.pos
  // Every bucket takes a byte, every run two: a header that says otherwise is not believed.
  if (buckets > length || routes > length || entries > routes + buckets) {
    throw new CorruptHistogram('header larger than its body')
  }
  const cpPos = new Int32Array(entries)
  const cpPrev = new Int32Array(entries)
  const cpCum = new Float64Array(entries)
  const out: Run[] = []
  let n = 0
  let e = 0
  for (let r = 0; r < routes; r++) {
    const k = varintAt(bytes, pos, at)
    const nbytes = varintAt(bytes, at.pos, at)
    pos = at.pos
    const m = checkpointsOf(k)
    if (k > buckets - n || e + m > entries || nbytes < k)
      throw new CorruptHistogram('counts beyond the header')
    let p = 0
    let prev = -1
    let cum = 0
    for (let j = 1; j < m; j++) {
      // Each delta is at least STRIDE (see putRoute), so the table is ascending by construction.
      p += varintAt(bytes, pos, at) + STRIDE
      prev += varintAt(bytes, at.pos, at) + STRIDE
      cum += varintAt(bytes, at.pos, at) + STRIDE
      pos = at.pos
      cpPos[e + j] = p
      cpPrev[e + j] = Math.min(prev, MAX_INDEX)
      cpCum[e + j] = cum
    }
    const start = pos
    const end = start + nbytes
    if (end > length || p >= nbytes + (m === 1 ? 1 : 0) || prev > MAX_INDEX) {
      throw new CorruptHistogram('checkpoints beyond the run')
    }
    cpPos[e] = start
    cpPrev[e] = -1
    cpCum[e] = 0
    for (let j = 1; j < m; j++) cpPos[e + j] = (cpPos[e + j] as number) + start
    // The tail after the last checkpoint, decoded: the run's last bucket, total and exact end.
    let q = cpPos[e + m - 1] as number
    let bucket = cpPrev[e + m - 1] as number
    let total = cpCum[e + m - 1] as number
    let first = -1
    for (let j = (m - 1) * STRIDE; j < k; j++) {
      if (q >= end) throw new CorruptHistogram('truncated')
      const t = bytes[q++] as number
      let gap = t >> 4
      let c = (t & 15) + 1
      if (gap === 15) {
        gap += varintAt(bytes, q, at, end)
        q = at.pos
      }
      if (c === 16) {
        c += varintAt(bytes, q, at, end)
        q = at.pos
      }
      bucket += gap + 1
      total += c
    }
    if (q !== end || bucket > MAX_INDEX) throw new CorruptHistogram('a run that does not end where it says')
    if (k > 0) {
      const t = bytes[start] as number
      first = t >> 4 === 15 ? 15 + varintAt(bytes, start + 1, at, end) : t >> 4
    }
    out.push({
      bytes,
      start,
      end,
      buckets: k,
      first,
      last: k > 0 ? bucket : -1,
      total,
      cpPos: cpPos.subarray(e, e + m),
      cpPrev: cpPrev.subarray(e, e + m),
      cpCum: cpCum.subarray(e, e + m),
    })
    n += k
    e += m
    pos = end
  }
  if (n !== buckets || e !== entries) throw new CorruptHistogram('fewer buckets than the header says')
  if (pos !== length) throw new CorruptHistogram('trailing bytes')
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
