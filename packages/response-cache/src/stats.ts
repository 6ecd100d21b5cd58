import type { CacheRouteStats, CacheStats } from '@hotpath/core'
import { NOT_STORED_KEYS } from './status'
import type { CacheStore } from './types'

/** Route labels kept per instance; `routeOf` is already bounded, this is a second fence. */
const MAX_ROUTES = 500
const OTHER_ROUTES = 'other'

export interface Counters {
  hit(route: string): void
  /**
   * A miss; with `notStored`, one its own head or body ruled out of storing. A response that
   * says `no-store` (the dashboard's own JSON, an API marked so) was never the cache's to keep:
   * it counts as a bypass, not a miss of the app.
   */
  miss(route: string, notStored?: string): void
  stale(route: string): void
  bypass(route: string, reason: string): void
  /** A miss that was not stored, by its Cache-Status `detail` (known after the miss was counted). */
  notStored(reason: string): string
  stores: number
  invalidations: number
  coalesced: number
  storeErrors: number
  snapshot(
    store: CacheStore,
  ): CacheStats & { store: string; variantsBuilt: number; notStored: Record<string, number> }
  variantsBuilt: number
  reset(): void
}

interface RouteCounts {
  hits: number
  misses: number
  stale: number
  bypasses: number
}

export function createCounters(): Counters {
  let hits = 0
  let misses = 0
  let staleServed = 0
  let bypasses: Record<string, number> = {}
  let notStored: Record<string, number> = {}
  let routes = new Map<string, RouteCounts>()
  const routeOf = (label: string): RouteCounts => {
    let counts = routes.get(label)
    if (counts === undefined) {
      const key = routes.size >= MAX_ROUTES ? OTHER_ROUTES : label
      counts = routes.get(key)
      if (counts === undefined) {
        counts = { hits: 0, misses: 0, stale: 0, bypasses: 0 }
        routes.set(key, counts)
      }
    }
    return counts
  }
  const counters: Counters = {
    stores: 0,
    invalidations: 0,
    coalesced: 0,
    storeErrors: 0,
    variantsBuilt: 0,
    hit(route) {
      hits++
      routeOf(route).hits++
    },
    miss(route, reason) {
      if (reason !== undefined && counters.notStored(reason) === 'noStore') {
        bypasses.noStore = (bypasses.noStore ?? 0) + 1
        routeOf(route).bypasses++
        return
      }
      misses++
      routeOf(route).misses++
    },
    stale(route) {
      staleServed++
      routeOf(route).stale++
    },
    notStored(reason) {
      const key = NOT_STORED_KEYS[reason] ?? 'other'
      notStored[key] = (notStored[key] ?? 0) + 1
      return key
    },
    bypass(route, reason) {
      bypasses[reason] = (bypasses[reason] ?? 0) + 1
      routeOf(route).bypasses++
    },
    snapshot(store) {
      const size = store.size()
      const perRoute: Record<string, CacheRouteStats> = {}
      for (const [label, c] of routes) {
        const served = c.hits + c.misses + c.stale
        perRoute[label] = { ...c, hitRatio: served === 0 ? 0 : c.hits / served }
      }
      const served = hits + misses + staleServed
      return {
        hits,
        misses,
        staleServed,
        bypasses: { ...bypasses },
        notStored: { ...notStored },
        stores: counters.stores,
        evictions: size.evictions,
        invalidations: counters.invalidations,
        coalesced: counters.coalesced,
        storeErrors: counters.storeErrors,
        entries: size.entries,
        bytes: size.bytes,
        storedBytes: size.storedBytes === undefined ? size.bytes : size.storedBytes,
        ...(size.slabBytes === undefined ? {} : { slabBytes: size.slabBytes }),
        hitRatio: served === 0 ? 0 : hits / served,
        estimatedMemoryBytes: store.kind === 'memory' ? size.bytes : 0,
        routes: perRoute,
        store: store.kind,
        variantsBuilt: counters.variantsBuilt,
      }
    },
    reset() {
      hits = 0
      misses = 0
      staleServed = 0
      bypasses = {}
      notStored = {}
      routes = new Map()
      counters.stores = 0
      counters.invalidations = 0
      counters.coalesced = 0
      counters.storeErrors = 0
      counters.variantsBuilt = 0
    },
  }
  return counters
}
