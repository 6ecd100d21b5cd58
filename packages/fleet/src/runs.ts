/*
 * Reading a run's buckets where they lie in the snapshot's inflated bytes (format in wire.ts).
 * Nothing here throws: `decodeRoutes` checked each run's header, checkpoints and tail, and a scan
 * stops at the run's end whatever the bytes between hold (zlib's checksum already refused damage
 * in transit), so a bad publisher can only make its own numbers wrong, never a reader fail.
 */

/** One route's (or the instance's overall) buckets inside an inflated snapshot (wire.ts). */
export interface Run {
  /** The snapshot's inflated bytes, shared by its runs. */
  readonly bytes: Uint8Array
  /** This run's bucket bytes: `bytes[start..end)`, `buckets` of them. */
  readonly start: number
  readonly end: number
  readonly buckets: number
  /** Lowest and highest bucket index (-1 when empty), and the sum of the counts. */
  readonly first: number
  readonly last: number
  readonly total: number
  /**
   * Checkpoint j (0: the run's start): where bucket STRIDE·j (wire.ts) starts in `bytes`, the index of the
   * bucket before it (-1 for j = 0), and the requests of the buckets before it.
   */
  readonly cpPos: Int32Array
  readonly cpPrev: Int32Array
  readonly cpCum: Float64Array
}

/**
 * A varint at `bytes[pos]` before `end`, without throwing (a rank never throws): its value, with
 * where the next one starts in `at.pos`; -1 when it runs past `end` or past 7 bytes of payload.
 */
export function more(bytes: Uint8Array, pos: number, end: number, at: { pos: number }): number {
  let v = 0
  let scale = 1
  let p = pos
  for (;;) {
    if (p >= end || scale > 2 ** 49) return -1
    const b = bytes[p++] as number
    v += (b & 0x7f) * scale
    if (b < 0x80) {
      at.pos = p
      return v
    }
    scale *= 0x80
  }
}

/**
 * Requests of `run` in buckets at or below `b`: a binary search in its checkpoints, then a scan
 * of at most {@link STRIDE} buckets. Bounded by the run's bytes whatever they hold.
 */
export function atOrBelow(run: Run, b: number): number {
  if (run.buckets === 0 || b < run.first) return 0
  if (b >= run.last) return run.total
  const prevs = run.cpPrev
  let lo = 0
  let hi = prevs.length - 1
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1
    if ((prevs[mid] as number) <= b) lo = mid
    else hi = mid - 1
  }
  const bytes = run.bytes
  const end = run.end
  const at = { pos: 0 }
  let pos = run.cpPos[lo] as number
  let bucket = prevs[lo] as number
  let cum = run.cpCum[lo] as number
  while (pos < end) {
    const t = bytes[pos++] as number
    let gap = t >> 4
    let c = (t & 15) + 1
    if (gap === 15) {
      const v = more(bytes, pos, end, at)
      if (v < 0) break
      gap += v
      pos = at.pos
    }
    if (c === 16) {
      const v = more(bytes, pos, end, at)
      if (v < 0) break
      c += v
      pos = at.pos
    }
    bucket += gap + 1
    if (bucket > b) break
    cum += c
  }
  return cum
}

/**
 * Adds the counts of `run`'s buckets in `[lo, hi]` into `window[index - lo]` and returns its
 * requests below `lo`: one checkpoint search and one scan, however many ranks the window answers.
 */
export function addWindow(run: Run, lo: number, hi: number, window: Float64Array): number {
  if (run.buckets === 0 || hi < run.first) return 0
  if (lo > run.last) return run.total
  const prevs = run.cpPrev
  let a = 0
  let z = prevs.length - 1
  while (a < z) {
    const mid = (a + z + 1) >>> 1
    if ((prevs[mid] as number) < lo) a = mid
    else z = mid - 1
  }
  const bytes = run.bytes
  const end = run.end
  const at = { pos: 0 }
  let pos = run.cpPos[a] as number
  let bucket = prevs[a] as number
  let below = run.cpCum[a] as number
  while (pos < end) {
    const t = bytes[pos++] as number
    let gap = t >> 4
    let c = (t & 15) + 1
    if (gap === 15) {
      const v = more(bytes, pos, end, at)
      if (v < 0) break
      gap += v
      pos = at.pos
    }
    if (c === 16) {
      const v = more(bytes, pos, end, at)
      if (v < 0) break
      c += v
      pos = at.pos
    }
    bucket += gap + 1
    if (bucket > hi) break
    if (bucket < lo) below += c
    else window[bucket - lo] = (window[bucket - lo] as number) + c
  }
  return below
}

/** Every bucket of a run, in order (for the few callers that need them all). */
export function forEachBucket(run: Run, visit: (index: number, count: number) => void): void {
  const bytes = run.bytes
  const end = run.end
  const at = { pos: 0 }
  let pos = run.start
  let bucket = -1
  for (let j = 0; j < run.buckets && pos < end; j++) {
    const t = bytes[pos++] as number
    let gap = t >> 4
    let c = (t & 15) + 1
    if (gap === 15) {
      const v = more(bytes, pos, end, at)
      if (v < 0) return
      gap += v
      pos = at.pos
    }
    if (c === 16) {
      const v = more(bytes, pos, end, at)
      if (v < 0) return
      c += v
      pos = at.pos
    }
    bucket += gap + 1
    visit(bucket, c)
  }
}

/** A run as `[index, count, …]`. */
export function pairsOfRun(run: Run): number[] {
  const out: number[] = []
  forEachBucket(run, (i, c) => {
    out.push(i, c)
  })
  return out
}
