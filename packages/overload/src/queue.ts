/** One request waiting for a concurrency slot. */
export interface Waiter {
  readonly enqueuedAt: number
  /** Admits the request (runs `next()`); `waitedMs` is its time in the queue. */
  readonly admit: (waitedMs: number) => void
  /** Answers 503; called at most once, and never after `admit`. */
  readonly refuse: (reason: 'queue-timeout' | 'queue-full') => void
  /** Set when the client went away while waiting: the entry is skipped. */
  gone: boolean
}

/**
 * A double-ended queue in arrival order: FIFO service takes the head, LIFO (while congested)
 * the tail, and expiry always starts at the head, where the oldest entries are. Gone entries are
 * dropped lazily. `head` moves instead of `shift()`, and the array is compacted when half of it
 * is dead, so every operation is amortised O(1).
 */
export class WaitQueue {
  private items: Array<Waiter | undefined> = []
  private head = 0
  private live = 0

  get length(): number {
    return this.live
  }

  push(waiter: Waiter): void {
    this.items.push(waiter)
    this.live++
  }

  /** The oldest live entry, removed. */
  shift(): Waiter | undefined {
    while (this.head < this.items.length) {
      const waiter = this.items[this.head]
      this.items[this.head++] = undefined
      if (waiter !== undefined && !waiter.gone) {
        this.live--
        this.compact()
        return waiter
      }
    }
    this.compact()
    return undefined
  }

  /** The newest live entry, removed. */
  pop(): Waiter | undefined {
    while (this.items.length > this.head) {
      const waiter = this.items.pop()
      if (waiter !== undefined && !waiter.gone) {
        this.live--
        this.compact()
        return waiter
      }
    }
    this.compact()
    return undefined
  }

  /** The oldest live entry, left in place. */
  peekOldest(): Waiter | undefined {
    while (this.head < this.items.length) {
      const waiter = this.items[this.head]
      if (waiter !== undefined && !waiter.gone) return waiter
      this.items[this.head++] = undefined
    }
    return undefined
  }

  /** Marks an entry gone (its client closed); it no longer counts. */
  remove(waiter: Waiter): void {
    if (waiter.gone) return
    waiter.gone = true
    this.live--
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}
