/**
 * The memory engine's waiting line for one task name: ordered by priority, then by arrival.
 * Almost every insert lands at the end (equal priority), so it is a push and a pop from a moving
 * head; a higher-priority insert is a binary search and a splice.
 */
export interface Queued {
  readonly seq: number
  readonly priority: number
  queued: boolean
}

export class Line<T extends Queued> {
  private items: T[] = []
  private head = 0

  get size(): number {
    return this.items.length - this.head
  }

  peek(): T | undefined {
    return this.items[this.head]
  }

  push(item: T): void {
    item.queued = true
    const items = this.items
    const last = items[items.length - 1]
    if (last === undefined || this.size === 0 || before(last, item)) {
      items.push(item)
      return
    }
    let lo = this.head
    let hi = items.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (before(items[mid] as T, item)) lo = mid + 1
      else hi = mid
    }
    items.splice(lo, 0, item)
  }

  shift(): T | undefined {
    const item = this.items[this.head]
    if (item === undefined) return undefined
    this.items[this.head] = undefined as unknown as T
    this.head++
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
    item.queued = false
    return item
  }

  remove(item: T): boolean {
    const index = this.items.indexOf(item, this.head)
    if (index < 0) return false
    this.items.splice(index, 1)
    item.queued = false
    return true
  }

  drain(): T[] {
    const out = this.items.slice(this.head)
    for (const item of out) item.queued = false
    this.items = []
    this.head = 0
    return out
  }
}

function before(a: Queued, b: Queued): boolean {
  return a.priority < b.priority || (a.priority === b.priority && a.seq <= b.seq)
}

/** A binary min-heap on `key`, for delayed tasks (one timer at its top). */
export class Heap<T> {
  private readonly items: T[] = []

  constructor(private readonly key: (item: T) => number) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  push(item: T): void {
    const items = this.items
    items.push(item)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.key(items[parent] as T) <= this.key(item)) break
      items[i] = items[parent] as T
      i = parent
    }
    items[i] = item
  }

  pop(): T | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (items.length === 0 || last === undefined) return top
    let i = 0
    const n = items.length
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && this.key(items[r] as T) < this.key(items[l] as T) ? r : l
      if (this.key(items[c] as T) >= this.key(last)) break
      items[i] = items[c] as T
      i = c
    }
    items[i] = last
    return top
  }

  clear(): T[] {
    return this.items.splice(0)
  }
}

/**
 * Finished tasks of one state in finishing order, oldest at the head: a circular buffer whose
 * slots double when full and halve when three quarters are empty. At its bound it is a push and
 * a shift on the same slots forever (an array with a moving head kept up to twice the bound in
 * slots, and the slots it had freed, until its next copy).
 */
export class Ring<T> {
  private items: (T | undefined)[] = []
  private head = 0
  private count = 0

  get size(): number {
    return this.count
  }

  /** Allocated slots (for tests of the bound). */
  get slots(): number {
    return this.items.length
  }

  push(item: T): void {
    if (this.count === this.items.length) this.resize(Math.max(16, this.items.length * 2))
    this.items[(this.head + this.count) & (this.items.length - 1)] = item
    this.count++
  }

  peek(): T | undefined {
    return this.count === 0 ? undefined : this.items[this.head]
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & (this.items.length - 1)
    this.count--
    if (this.items.length > 16 && this.count * 4 < this.items.length) this.resize(this.items.length / 2)
    return item
  }

  /** O(size): only a retry takes a task out of the middle. */
  remove(item: T): void {
    const items = this.items
    const mask = items.length - 1
    let i = 0
    while (i < this.count && items[(this.head + i) & mask] !== item) i++
    if (i === this.count) return
    for (; i < this.count - 1; i++) items[(this.head + i) & mask] = items[(this.head + i + 1) & mask]
    items[(this.head + this.count - 1) & mask] = undefined
    this.count--
  }

  private resize(slots: number): void {
    const items = this.items
    const mask = items.length - 1
    const next = new Array<T | undefined>(slots).fill(undefined)
    for (let i = 0; i < this.count; i++) next[i] = items[(this.head + i) & mask]
    this.items = next
    this.head = 0
  }
}
