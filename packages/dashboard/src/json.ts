import type { CompressionStats, JsonStats, StatsSource } from '@hotpath/core'
import express, { type RequestHandler, type Router } from 'express'
import { guarded, SCHEMA } from './report'

/** One route's bytes saved by masking (`@hotpath/json`) beside those saved by compression. */
export interface SavingsRow {
  route: string
  masked: number
  bytesOut: number
  savedByMasking: number
  savedByCompression: number
  streams: number
  streamErrors: number
}

/** Joins the two sources on their `routeOf` labels; routes only one of them knows get zeros. */
export function savingsRows(json: JsonStats, compression: CompressionStats | undefined): SavingsRow[] {
  const rows: SavingsRow[] = []
  for (const [route, r] of Object.entries(json.routes)) {
    rows.push({
      route,
      masked: r.masked,
      bytesOut: r.bytesOut,
      savedByMasking: r.bytesSaved,
      savedByCompression: compression?.routes[route]?.bytesSaved ?? 0,
      streams: r.streams,
      streamErrors: r.streamErrors,
    })
  }
  return rows.sort((a, b) => b.savedByMasking - a.savedByMasking || a.route.localeCompare(b.route))
}

/** `GET /json/stats`: the json source's `stats()` and the per-route savings table; `json: null` without one. */
export function jsonRoutes(
  source: StatsSource<JsonStats> | undefined,
  compression: StatsSource<CompressionStats> | undefined,
): Router {
  const router = express.Router()
  const handler: RequestHandler = source
    ? guarded((_req, res) => {
        const stats = source.stats()
        res.json({
          schema: SCHEMA,
          generatedAt: new Date().toISOString(),
          json: stats,
          savings: savingsRows(stats, compression?.stats()),
        })
      })
    : (_req, res) => {
        // 200, not 404: the page asks on every load, and a 404 is a console error in the browser.
        res.json({
          schema: SCHEMA,
          generatedAt: new Date().toISOString(),
          json: null,
          savings: [],
          message: 'No json source: pass sources.json (a @hotpath/json fields() instance).',
        })
      }
  router
    .route('/stats')
    .get(handler)
    .all((_req, res) => {
      res.setHeader('Allow', 'GET, HEAD')
      res.status(405).json({ schema: SCHEMA, error: 'method_not_allowed', message: 'Use GET, HEAD.' })
    })
  return router
}
