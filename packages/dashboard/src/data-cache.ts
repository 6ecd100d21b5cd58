import type { DataCacheSource, DataCacheStats, Insight } from '@hotpath/core'
import express, { type RequestHandler, type Router } from 'express'
import { guarded, SCHEMA } from './report'

/** Lookups a namespace needs before its hit ratio is judged. */
const MIN_LOOKUPS = 100
/** Hit ratio below which a namespace is reported. */
const LOW_HIT_RATIO = 0.5

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits

/**
 * Findings about the data cache: a namespace that rarely hits, a factory slower than the ttl
 * it fills (every entry is recomputed before it is used much), and a failing Redis tier.
 */
export function dataCacheInsights(stats: DataCacheStats): Insight[] {
  const out: Insight[] = []
  // One finding per rule, naming every namespace it applies to, the worst one in the evidence:
  // the page lists findings by rule, and one per namespace would bury the others.
  const entries = Object.entries(stats.namespaces)
  const low = entries
    .filter(([, ns]) => ns.hits + ns.misses >= MIN_LOOKUPS && ns.hitRatio < LOW_HIT_RATIO)
    .sort(([, a], [, b]) => a.hitRatio - b.hitRatio)
  if (low.length > 0) {
    const [namespace, ns] = low[0] as [string, DataCacheStats['namespaces'][string]]
    out.push({
      id: 'data-cache-low-hit-ratio',
      severity: 'warning',
      source: 'data-cache',
      title: `Data cache hits ${Math.round(ns.hitRatio * 100)}% of lookups in "${namespace}"${low.length > 1 ? ` (and ${low.length - 1} more namespaces)` : ''}`,
      evidence: {
        namespace,
        hitRatio: round(ns.hitRatio),
        lookups: ns.hits + ns.misses,
        ttlMs: ns.ttlMs,
        namespaces: low.map(([name]) => name).join(', '),
      },
      action:
        'Raise the ttl (with grace for stale values), check that keys do not carry per-request parts (timestamps, random ids), or warm the hot keys.',
    })
  }
  const slow = entries
    .filter(([, ns]) => ns.factoryRuns > 0 && ns.factoryP95 > ns.ttlMs)
    .sort(([, a], [, b]) => b.factoryP95 / b.ttlMs - a.factoryP95 / a.ttlMs)
  if (slow.length > 0) {
    const [namespace, ns] = slow[0] as [string, DataCacheStats['namespaces'][string]]
    out.push({
      id: 'data-cache-factory-slower-than-ttl',
      severity: 'warning',
      source: 'data-cache',
      title: `Data cache factory p95 exceeds the ttl in "${namespace}"${slow.length > 1 ? ` (and ${slow.length - 1} more namespaces)` : ''}`,
      evidence: {
        namespace,
        factoryP95Ms: round(ns.factoryP95, 1),
        ttlMs: ns.ttlMs,
        runs: ns.factoryRuns,
        namespaces: slow.map(([name]) => name).join(', '),
      },
      action:
        "Raise the ttl above the factory's time, or use refreshAhead: 'auto' so values are recomputed before they expire.",
    })
  }
  if (stats.l2.errors > 0) {
    out.push({
      id: 'data-cache-l2-errors',
      severity: stats.l2.circuit === 'closed' ? 'warning' : 'critical',
      source: 'data-cache',
      title: `Data cache Redis tier: ${stats.l2.errors} failed commands (circuit ${stats.l2.circuit})`,
      evidence: {
        errors: stats.l2.errors,
        timeouts: stats.timeouts.l2,
        circuit: stats.l2.circuit,
        pendingInvalidations: stats.l2.pendingInvalidations,
      },
      action:
        'Check Redis health and latency against commandTimeout; the cache serves from memory and the factories meanwhile, and replays invalidations when Redis answers.',
    })
  }
  return out
}

/** `GET /cache/data`: the data cache's `stats()` and its insights; 404 without a source. */
export function dataCacheRoutes(source: DataCacheSource | undefined): Router {
  const router = express.Router()
  const handler: RequestHandler = source
    ? guarded((_req, res) => {
        const stats = source.stats()
        res.json({
          schema: SCHEMA,
          generatedAt: new Date().toISOString(),
          dataCache: stats,
          insights: dataCacheInsights(stats),
        })
      })
    : (_req, res) => {
        res.status(404).json({
          schema: SCHEMA,
          error: 'not_found',
          message: 'No data cache source: pass sources.dataCache (a @hotpath/cache instance).',
        })
      }
  router
    .route('/')
    .get(handler)
    .all((_req, res) => {
      res.setHeader('Allow', 'GET, HEAD')
      res.status(405).json({ schema: SCHEMA, error: 'method_not_allowed', message: 'Use GET, HEAD.' })
    })
  return router
}
