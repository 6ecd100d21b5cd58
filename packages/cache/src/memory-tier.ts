import { optionError, parseBytes, rejectUnknownOptions } from '@hotpath/core'
import type { Entry } from './entry'

export interface MemoryTierOptions {
  /** Process memory the tier may cost (5 × serialized size + key + 400 B per entry). Default `'64mb'`. */
  readonly maxBytes?: number | string
  /** An entry costing more (same estimate) is not stored in memory (counted as oversized). Default: maxBytes / 16. */
  readonly maxEntryBytes?: number | string
}

/**
 * What one entry costs the process beyond its key, measured as RSS growth after gc on Node 20
 * (bench/data-cache.mjs, memory case): the Map slot, item and entry objects, and V8's heap
 * headroom. The value is held live (no decode on a hit), and a live object takes ~4–5× its
 * msgpack size (a product row: 100 B serialized, ~450 B of heap, ~850 B of RSS).
 */
const ENTRY_OVERHEAD = 400
const LIVE_FACTOR = 5

export interface MemoryItem {
  entry: Entry
  bytes: number
  /** When this tier stored it (local clock): the partition cap counts from here. */
  at: number
  /** Second-chance bit: a hit sets it, eviction clears it once instead of evicting. */
  hot: boolean
}

const PKG = '@hotpath/cache MemoryTier'

/**
 * The L1 tier: values kept as the factory returned them (no decode on a hit), bounded by
 * bytes. Eviction is CLOCK (second chance) over the Map's insertion order, so a hit writes
 * one boolean instead of moving the entry.
 */
export class MemoryTier {
  readonly kind = 'memory'
  readonly maxBytes: number
  readonly maxEntryBytes: number
  private readonly items = new Map<string, MemoryItem>()
  private hand: Iterator<[string, MemoryItem]> | undefined
  private used = 0
  evictions = 0
  /** Called with the key of every entry evicted for room. */
  onEvict: ((key: string) => void) | undefined
  private owner: object | undefined

  constructor(options: Readonly<MemoryTierOptions> = {}) {
    rejectUnknownOptions(PKG, options, ['maxBytes', 'maxEntryBytes'])
    this.maxBytes = parseBytes(options.maxBytes ?? '64mb', 'maxBytes')
    if (!(this.maxBytes > 0)) optionError(PKG, 'maxBytes must be greater than 0.')
    this.maxEntryBytes = parseBytes(options.maxEntryBytes ?? Math.floor(this.maxBytes / 16), 'maxEntryBytes')
    if (this.maxEntryBytes > this.maxBytes) optionError(PKG, 'maxEntryBytes cannot exceed maxBytes.')
  }

  /** One cache owns a tier: two caches on one tier would evict and count each other's entries. */
  claim(owner: object): void {
    if (this.owner !== undefined && this.owner !== owner) {
      optionError(
        PKG,
        'this MemoryTier already belongs to another cache; create one per cache (namespaces share theirs).',
      )
    }
    this.owner = owner
  }

  get size(): number {
    return this.items.size
  }

  get bytes(): number {
    return this.used
  }

  get(key: string): MemoryItem | undefined {
    return this.items.get(key)
  }

  /** `false` when the value is larger than `maxEntryBytes` (nothing stored). */
  set(key: string, entry: Entry, payloadBytes: number, at: number): boolean {
    const bytes = payloadBytes * LIVE_FACTOR + key.length * 2 + ENTRY_OVERHEAD
    const previous = this.items.get(key)
    if (previous !== undefined) {
      this.used -= previous.bytes
      this.items.delete(key)
    }
    if (bytes > this.maxEntryBytes) return false
    this.items.set(key, { entry, bytes, at, hot: false })
    this.used += bytes
    if (this.used > this.maxBytes) this.evict(key)
    return true
  }

  delete(key: string): boolean {
    const item = this.items.get(key)
    if (item === undefined) return false
    this.used -= item.bytes
    this.items.delete(key)
    return true
  }

  /** Removes every key starting with `prefix` (a namespace clear). */
  deletePrefix(prefix: string): number {
    if (prefix === '') {
      const count = this.items.size
      this.clear()
      return count
    }
    let count = 0
    for (const key of this.items.keys()) {
      if (key.startsWith(prefix) && this.delete(key)) count++
    }
    return count
  }

  clear(): void {
    this.items.clear()
    this.hand = undefined
    this.used = 0
  }

  /**
   * CLOCK: one hand goes round the Map's insertion order across calls (a live iterator sees
   * new keys and skips deleted ones), so each eviction is O(1) amortized. A fresh iterator per
   * call would rescan the deleted slots at the front of V8's table every time.
   */
  private evict(keep: string): void {
    // Each step evicts or clears one hot bit: two turns of the hand bound the loop.
    let steps = this.items.size * 2 + 2
    while (this.used > this.maxBytes && steps-- > 0) {
      let next = this.hand?.next()
      if (next === undefined || next.done) {
        this.hand = this.items.entries()
        next = this.hand.next()
        if (next.done) return
      }
      const [key, item] = next.value
      if (key === keep) continue
      if (item.hot) {
        item.hot = false
        continue
      }
      this.items.delete(key)
      this.used -= item.bytes
      this.evictions++
      this.onEvict?.(key)
    }
  }
}
