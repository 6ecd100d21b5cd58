import { optionError, parseBytes, rejectUnknownOptions } from '@hotpath/core'
import type { CacheStore, StoredValue } from '../types'

export interface MemoryStoreOptions {
  /** Upper bound of the bytes held (bodies, variants, headers, keys, bookkeeping). Default `'64mb'`. */
  maxBytes?: number | string
  /** Clock, for tests. Default `Date.now`. */
  now?: () => number
}

interface Slot {
  value: StoredValue
  deadline: number
  bytes: number
  tags: readonly string[]
}

/**
 * Per-entry cost beyond the bytes counted below (Map slots, the entry and slot objects, the
 * header pair arrays, the index entries), measured on Node 20: 10^5 distinct 1 KB URLs into
 * a 16 MB store grow heap + external memory by about the accounted bytes.
 */
const SLOT_OVERHEAD = 640
const TAG_OVERHEAD = 96

function sizeOf(key: string, value: StoredValue, tags: readonly string[]): number {
  let bytes = SLOT_OVERHEAD + key.length * 2
  for (const tag of tags) bytes += TAG_OVERHEAD + tag.length * 2
  if (value.kind === 'vary') {
    for (const field of value.fields) bytes += 32 + field.length * 2
    return bytes
  }
  bytes += value.body.length + 64 + value.route.length * 2
  for (const name in value.variants) bytes += (value.variants[name] as Buffer).length + 64
  for (const [name, v] of value.headers) {
    bytes +=
      48 + name.length * 2 + (typeof v === 'string' ? v.length * 2 : v.join('').length * 2 + 32 * v.length)
  }
  return bytes
}

/**
 * An in-process LRU bounded by bytes. A `Map` keeps recency order (a hit moves the key to
 * the end); expiry is checked when a key is read and when the oldest keys are evicted, so
 * there is no timer per key and nothing to clean up but the maps.
 */
export class MemoryStore implements CacheStore {
  readonly kind = 'memory'
  readonly shared = false
  readonly maxBytes: number
  private readonly slots = new Map<string, Slot>()
  /** Tag → key, or → keys once a second key carries it (most URL tags have one key: no Set). */
  private readonly tagIndex = new Map<string, string | Set<string>>()
  private readonly locks = new Map<string, { token: string; until: number }>()
  private readonly now: () => number
  private bytes = 0
  private evictions = 0
  private lockSeq = 0

  constructor(options: Readonly<MemoryStoreOptions> = {}) {
    rejectUnknownOptions('MemoryStore', options, ['maxBytes', 'now'])
    this.maxBytes = parseBytes(options.maxBytes ?? '64mb', 'MemoryStore: maxBytes')
    if (this.maxBytes < 1024) optionError('MemoryStore', 'maxBytes must be at least 1kb (e.g. "64mb").')
    this.now = options.now ?? Date.now
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
    if (old !== undefined) this.remove(key, old)
    const bytes = sizeOf(key, value, tags)
    // One entry may not take more than a quarter of the store: it would flush everything else.
    if (bytes > this.maxBytes / 4 || !(ttlMs > 0)) return
    this.slots.set(key, { value, deadline: this.now() + ttlMs, bytes, tags })
    this.bytes += bytes
    for (const tag of tags) {
      const keys = this.tagIndex.get(tag)
      if (keys === undefined) this.tagIndex.set(tag, key)
      else if (typeof keys !== 'string') keys.add(key)
      else if (keys !== key) this.tagIndex.set(tag, new Set([keys, key]))
    }
    if (this.bytes > this.maxBytes) this.evict()
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
    this.bytes = 0
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

  size(): { entries: number; bytes: number; evictions: number } {
    return { entries: this.slots.size, bytes: this.bytes, evictions: this.evictions }
  }

  close(): void {
    this.clear()
  }

  /** Drops least-recently-used keys (expired ones go first by the same walk) until under the bound. */
  private evict(): void {
    for (const [key, slot] of this.slots) {
      if (this.bytes <= this.maxBytes) break
      this.remove(key, slot)
      this.evictions++
    }
  }

  private remove(key: string, slot: Slot): void {
    this.slots.delete(key)
    this.bytes -= slot.bytes
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
