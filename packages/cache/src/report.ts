import type { DataCacheStats } from '@hotpath/core'
import type { Engine } from './engine'

const round = (value: number) => Math.round(value * 1000) / 1000

/** One plain JSON snapshot of the cache (all namespaces), cheap enough for every dashboard poll. */
export function statsOf(engine: Engine): DataCacheStats {
  const c = engine.counters
  const hits = c.l1Hits + c.l2Hits
  const misses = Object.values(c.misses).reduce((a, b) => a + b, 0)
  let runs = 0
  let errors = 0
  let p50 = 0
  let p95 = 0
  const namespaces: DataCacheStats['namespaces'] = {}
  for (const [name, ns] of c.namespaces) {
    const lookups = ns.hits + ns.misses
    const q50 = ns.quantile(0.5)
    const q95 = ns.quantile(0.95)
    runs += ns.factoryRuns
    errors += ns.factoryErrors
    p50 = Math.max(p50, q50)
    p95 = Math.max(p95, q95)
    namespaces[name] = {
      hits: ns.hits,
      misses: ns.misses,
      hitRatio: lookups === 0 ? 0 : round(ns.hits / lookups),
      factoryRuns: ns.factoryRuns,
      factoryErrors: ns.factoryErrors,
      factoryP50: round(q50),
      factoryP95: round(q95),
      ttlMs: ns.ttlMs,
    }
  }
  const bloom = engine.bloom as (typeof engine.bloom & { bits?: number; hashes?: number }) | undefined
  return {
    hits: { l1: c.l1Hits, l2: c.l2Hits },
    misses: { ...c.misses },
    hitRatio: hits + misses === 0 ? 0 : round(hits / (hits + misses)),
    factory: { runs, errors, p50: round(p50), p95: round(p95) },
    staleServed: c.staleServed,
    timeouts: { soft: c.softTimeouts, hard: c.hardTimeouts, l2: engine.l2?.timeouts ?? 0 },
    locks: { acquired: c.lockAcquired, waits: c.lockWaits, waitTimeouts: c.lockWaitTimeouts },
    bus: {
      enabled: engine.bus !== undefined,
      connected: engine.bus?.connected ?? false,
      sent: c.busSent,
      received: c.busReceived,
      errors: c.busErrors + (engine.bus?.errors ?? 0),
    },
    l2: {
      kind: engine.l2?.kind ?? 'none',
      errors: engine.l2?.errors ?? 0,
      circuit: engine.l2?.circuit ?? 'closed',
      pendingInvalidations: engine.pendingCount,
      tagsLoaded: engine.tagsLoaded,
    },
    bloom: bloom
      ? { ready: bloom.ready, bits: bloom.bits ?? 0, hashes: bloom.hashes ?? 0, rejected: c.bloomRejected }
      : null,
    oversized: c.oversized,
    entries: engine.l1?.size ?? 0,
    bytes: engine.l1?.bytes ?? 0,
    maxBytes: engine.l1?.maxBytes ?? 0,
    evictions: engine.l1?.evictions ?? 0,
    namespaces,
  }
}
