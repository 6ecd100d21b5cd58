import { optionError, parseBytes, rejectUnknownOptions } from '@hotpath/core'
import type { CacheStore, StoredValue, StoreSize } from '../types'
import { type Slab, Slabs, slabSizeFor } from './slabs'

export interface MemoryStoreOptions {
  /** Upper bound of the memory held (bodies and variants in slabs, headers, keys, bookkeeping). Default `'64mb'`. */
  maxBytes?: number | string
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
}

interface Slot {
  value: StoredValue
  deadline: number
  /** Accounted bytes besides the slab memory (key, headers, tags, the objects). */
  meta: number
  tags: readonly string[]
  /** Where the body and variants were copied, and how many bytes of it they take. */
  slab: Slab | undefined
  length: number
  /** What the dashboard calls the entry's size: its body, variant and header bytes. */
  stored: number
}

/**
 * Per-entry cost beyond the bytes counted below (Map slots, the entry and slot objects, the
 * header pair arrays, the index entries), measured on Node 20 (bench/memory.mjs): a 1 KB
 * JSON entry grows the heap by about the non-slab bytes accounted here (~1.6 KB).
 */
const SLOT_OVERHEAD = 640
const TAG_OVERHEAD = 96
/** The view object of one body or variant (its bytes are in a slab). */
const VIEW_OVERHEAD = 64
/**
 * Slab bytes count twice. A dropped slab stays allocated until V8's next full GC finds its
 * last view dead, and the allocator keeps that space afterwards: under churn through
 * distinct URLs about as many bytes wait for the GC as the store holds (bench/memory.mjs).
 */
const SLAB_WEIGHT = 2

const NO_VARIANTS: Readonly<Record<string, Buffer>> = Object.freeze({})

/** What an entry costs besides its body and variant bytes. */
function metaSize(key: string, value: StoredValue, tags: readonly string[]): number {
  let bytes = SLOT_OVERHEAD + key.length * 2
  for (const tag of tags) bytes += TAG_OVERHEAD + tag.length * 2
  if (value.kind === 'vary') {
    for (const field of value.fields) bytes += 32 + field.length * 2
    return bytes
  }
  bytes += VIEW_OVERHEAD * (1 + Object.keys(value.variants).length) + value.route.length * 2
  for (const [name, v] of value.headers) {
    bytes +=
      48 + name.length * 2 + (typeof v === 'string' ? v.length * 2 : v.join('').length * 2 + 32 * v.length)
  }
  return bytes
}

/** Header name and value bytes of a value (the headers replayed with it). */
function headerBytes(value: StoredValue): number {
  if (value.kind === 'vary') return 0
  let bytes = 0
  for (const [name, v] of value.headers) {
    bytes +=
      name.length +
      (typeof v === 'string' ? Buffer.byteLength(v) : v.reduce((n, part) => n + Buffer.byteLength(part), 0))
  }
  return bytes
}

/** The body and variant bytes of a value: what goes into a slab. */
function payloadSize(value: StoredValue): number {
  if (value.kind === 'vary') return 0
  let bytes = value.body.length
  for (const name in value.variants) bytes += (value.variants[name] as Buffer).length
  return bytes
}

/**
 * An in-process LRU bounded by bytes. A `Map` keeps recency order (a hit moves the key to
 * the end); expiry is checked when a key is read and when the oldest keys are evicted, so
 * there is no timer per key and nothing to clean up but the maps. Bodies and variants are
 * copied into slabs (see `Slabs`), accounted whole while any entry uses them.
 */
export class MemoryStore implements CacheStore {
  readonly kind = 'memory'
  /** Bodies are copied into the store's slabs (`copyIn`). */
  readonly copiesBodies = true
  readonly shared = false
  readonly maxBytes: number
  private readonly slots = new Map<string, Slot>()
  /** Tag → key, or → keys once a second key carries it (most URL tags have one key: no Set). */
  private readonly tagIndex = new Map<string, string | Set<string>>()
  private readonly locks = new Map<string, { token: string; until: number }>()
  private readonly now: () => number
  private readonly slabs: Slabs
  private readonly empty = Buffer.alloc(0)
  private metaBytes = 0
  private storedBytes = 0
  private evictions = 0
  private lockSeq = 0
  private cursor: IterableIterator<[string, Slot]> | undefined

  constructor(options: Readonly<MemoryStoreOptions> = {}) {
    rejectUnknownOptions('MemoryStore', options, ['maxBytes', 'now'])
    this.maxBytes = parseBytes(options.maxBytes ?? '64mb', 'MemoryStore: maxBytes')
    if (this.maxBytes < 1024) optionError('MemoryStore', 'maxBytes must be at least 1kb (e.g. "64mb").')
    this.now = options.now ?? Date.now
    this.slabs = new Slabs(slabSizeFor(this.maxBytes))
  }

  get(key: string): StoredValue | undefined {
    const slot = this.slots.get(key)
    if (slot === undefined) return undefined
    if (this.now() >= slot.deadline) {
      this.remove(key, slot)
      return undefined
    }
    // Recency: re-inserting moves the key to the end of the Map's iteration order.
    this.slots.delete(key)
    this.slots.set(key, slot)
    return slot.value
  }

  set(key: string, value: StoredValue, ttlMs: number, tags: readonly string[]): void {
    const old = this.slots.get(key)
    const meta = metaSize(key, value, tags)
    const length = payloadSize(value)
    // One entry may not take more than a quarter of the store: it would flush everything else.
    if (meta + SLAB_WEIGHT * length > this.maxBytes / 4 || !(ttlMs > 0)) {
      if (old !== undefined) this.remove(key, old)
      return
    }
    // Copied before the old entry goes: overwriting the only entry must not drop its slab.
    const stored = length + headerBytes(value)
    const slot: Slot = { value, deadline: this.now() + ttlMs, meta, tags, slab: undefined, length, stored }
    this.copyIn(slot)
    if (old !== undefined) this.remove(key, old)
    this.slots.set(key, slot)
    this.metaBytes += meta
    this.storedBytes += stored
    this.indexTags(key, tags)
    if (this.bytes() > this.maxBytes) this.evict()
  }

  delete(key: string): number {
    const slot = this.slots.get(key)
    if (slot === undefined) return 0
    this.remove(key, slot)
    return 1
  }

  deleteTag(tag: string): number {
    const keys = this.tagIndex.get(tag)
    if (keys === undefined) return 0
    let removed = 0
    for (const key of typeof keys === 'string' ? [keys] : [...keys]) removed += this.delete(key)
    this.tagIndex.delete(tag)
    return removed
  }

  clear(): void {
    this.slots.clear()
    this.tagIndex.clear()
    this.locks.clear()
    this.slabs.clear()
    this.metaBytes = 0
    this.storedBytes = 0
  }

  lock(key: string, ttlMs: number): string | undefined {
    const now = this.now()
    const held = this.locks.get(key)
    if (held !== undefined && held.until > now) return undefined
    const token = String(++this.lockSeq)
    this.locks.set(key, { token, until: now + ttlMs })
    return token
  }

  unlock(key: string, token: string): void {
    if (this.locks.get(key)?.token === token) this.locks.delete(key)
  }

  size(): StoreSize {
    return {
      entries: this.slots.size,
      bytes: this.bytes(),
      evictions: this.evictions,
      storedBytes: this.storedBytes,
      slabBytes: this.slabs.bytes,
    }
  }

  close(): void {
    this.clear()
  }

  private bytes(): number {
    return this.metaBytes + SLAB_WEIGHT * this.slabs.bytes
  }

  /**
   * Replaces the slot's value by a copy whose body and variants live in a slab. The copy is
   * a new object: the caller's entry (and the view an earlier `get` returned) stay as they are.
   */
  private copyIn(slot: Slot): void {
    const value = slot.value
    if (value.kind === 'vary') return
    if (slot.length === 0) {
      slot.value = { ...value, body: this.empty, variants: NO_VARIANTS }
      return
    }
    const slab = this.slabs.reserve(slot.length)
    const body = this.slabs.append(slab, value.body)
    let variants = NO_VARIANTS
    for (const name in value.variants) {
      if (variants === NO_VARIANTS) variants = {}
      ;(variants as Record<string, Buffer>)[name] = this.slabs.append(slab, value.variants[name] as Buffer)
    }
    slot.value = { ...value, body, variants }
    slot.slab = slab
  }

  /**
   * Drops least-recently-used keys (expired ones go first by the same walk) until under the
   * bound — after moving entries out of mostly dead slabs, when that gives memory back.
   */
  private evict(): void {
    if (this.slabs.fragmented()) this.compact()
    while (this.bytes() > this.maxBytes) {
      const oldest = this.oldest()
      if (oldest === undefined) break
      this.remove(oldest[0], oldest[1])
      this.evictions++
      if (this.slabs.fragmented()) this.compact()
    }
  }

  /**
   * The least recently used entry, from an iterator kept across evictions. A Map leaves a
   * hole where a key was deleted until it rehashes, and a fresh iterator walks every hole
   * before the first live key: with an LRU evicting from the front, that walk grew with the
   * store (3% of a 1 KB miss in a CPU profile). Everything before the cursor has been evicted
   * or moved to the end, so it resumes at the oldest entry; Map iterators stay valid through
   * deletes, inserts and rehashing, and yield keys inserted after they were made.
   */
  private oldest(): [string, Slot] | undefined {
    let step = this.cursor?.next()
    if (step === undefined || step.done === true) {
      this.cursor = this.slots.entries()
      step = this.cursor.next()
    }
    return step.done === true ? undefined : step.value
  }

  /** Copies the entries of sparse slabs to the current one, so the sparse slabs can go. */
  private compact(): void {
    for (const slot of this.slots.values()) {
      const slab = slot.slab
      if (slab === undefined || !this.slabs.sparse(slab)) continue
      this.copyIn(slot)
      this.slabs.release(slab, slot.length)
    }
  }

  private indexTags(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      const keys = this.tagIndex.get(tag)
      if (keys === undefined) this.tagIndex.set(tag, key)
      else if (typeof keys !== 'string') keys.add(key)
      else if (keys !== key) this.tagIndex.set(tag, new Set([keys, key]))
    }
  }

  private remove(key: string, slot: Slot): void {
    this.slots.delete(key)
    this.metaBytes -= slot.meta
    this.storedBytes -= slot.stored
    if (slot.slab !== undefined) this.slabs.release(slot.slab, slot.length)
    for (const tag of slot.tags) {
      const keys = this.tagIndex.get(tag)
      if (keys === undefined) continue
      if (typeof keys === 'string') {
        if (keys === key) this.tagIndex.delete(tag)
        continue
      }
      keys.delete(key)
      if (keys.size === 0) this.tagIndex.delete(tag)
    }
  }
}
