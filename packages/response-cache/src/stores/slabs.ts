/**
 * Large append-only buffers the memory store copies bodies and variants into. One small
 * `Buffer` per entry costs far more than its bytes: a `malloc` block freed only when a full
 * GC finds the entry dead, so a store churning through distinct URLs leaves the allocator
 * fragmented (measured: RSS several times the store's bound).
 *
 * A region once handed out is never written again: a slab is not reused, it is dropped when
 * no stored entry uses it any more, and a response still sending an old view keeps the
 * memory alive through the GC — nobody can overwrite what it sends.
 */
export interface Slab {
  readonly buffer: Buffer
  /** Append offset: the bytes below it are handed out and never written again. */
  used: number
  /** Bytes of it that stored entries still hold. */
  live: number
}

/** Largest slab: small enough that a partly dead one costs little, big enough to pool thousands of entries. */
const MAX_SLAB = 1024 * 1024

/** A slab size for a store bound: a power of two near 1/64 of it (the slab being filled is accounted whole), at most 1 MB. */
export function slabSizeFor(maxBytes: number): number {
  return Math.min(MAX_SLAB, 2 ** Math.floor(Math.log2(maxBytes / 64)))
}

export class Slabs {
  /** Bytes of every slab alive, whole: a slab costs its full size until it is dropped. */
  bytes = 0
  /** Size and live bytes of the slabs no longer appended to (the measure of waste). */
  private closedBytes = 0
  private closedLive = 0
  private current: Slab | undefined

  constructor(readonly slabSize: number) {}

  /**
   * A slab with `length` bytes free. A payload above a quarter of a slab gets a slab of its
   * own size: appended to the shared one it would leave too much of its tail unused.
   */
  reserve(length: number): Slab {
    if (length > this.slabSize / 4) return this.open(length, true)
    const current = this.current
    if (current !== undefined && current.used + length <= current.buffer.length) return current
    if (current !== undefined) this.close(current)
    this.current = this.open(this.slabSize, false)
    return this.current
  }

  /** Copies `data` to the end of `slab` (reserved for it) and returns the copy. */
  append(slab: Slab, data: Buffer): Buffer {
    const start = slab.used
    data.copy(slab.buffer, start)
    slab.used = start + data.length
    slab.live += data.length
    if (slab !== this.current) this.closedLive += data.length
    return slab.buffer.subarray(start, slab.used)
  }

  /** An entry let go of `length` bytes of `slab`; the slab is dropped with its last entry. */
  release(slab: Slab, length: number): void {
    slab.live -= length
    const closed = slab !== this.current
    if (closed) this.closedLive -= length
    if (slab.live > 0) return
    this.bytes -= slab.buffer.length
    if (closed) this.closedBytes -= slab.buffer.length
    else this.current = undefined
  }

  /** Whether `slab` is closed and less than half used by entries: its entries are worth moving. */
  sparse(slab: Slab): boolean {
    return slab !== this.current && slab.live * 2 < slab.buffer.length
  }

  /**
   * Whether moving the entries of sparse slabs would give back memory. More than half of the
   * closed bytes dead means at least one closed slab is sparse (so compaction always frees
   * something), and the walk it costs is paid for by that many dead bytes.
   */
  fragmented(): boolean {
    const dead = this.closedBytes - this.closedLive
    return dead >= this.slabSize && dead * 2 > this.closedBytes
  }

  clear(): void {
    this.current = undefined
    this.bytes = 0
    this.closedBytes = 0
    this.closedLive = 0
  }

  /** A slab of its own is closed from the start: nothing else is ever appended to it. */
  private open(size: number, own: boolean): Slab {
    const slab: Slab = { buffer: Buffer.allocUnsafeSlow(size), used: 0, live: 0 }
    this.bytes += size
    if (own) this.closedBytes += size
    return slab
  }

  private close(slab: Slab): void {
    this.current = undefined
    if (slab.live === 0) {
      this.bytes -= slab.buffer.length
      return
    }
    this.closedBytes += slab.buffer.length
    this.closedLive += slab.live
  }
}
