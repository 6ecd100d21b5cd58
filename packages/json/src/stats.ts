import type { JsonRouteStats, JsonStats } from '@hotpath/core'
import type { StreamResult } from './types'

interface RouteCounters extends JsonRouteStats {
  /** Unmasked and masked bytes of the measured responses: their ratio estimates the rest. */
  sampledFull: number
  sampledMasked: number
}

function zero(): RouteCounters {
  return {
    responses: 0,
    masked: 0,
    bytesOut: 0,
    bytesSaved: 0,
    streams: 0,
    streamedItems: 0,
    streamedBytes: 0,
    streamErrors: 0,
    streamsAborted: 0,
    sampledFull: 0,
    sampledMasked: 0,
  }
}

export interface Recorder {
  /** Counts a `res.json`; `measure` says whether this one should report its unmasked size. */
  response(route: string, masked: boolean): boolean
  /** The sizes of a masked body, and of its unmasked form when it was measured. */
  bytes(route: string, masked: number, full: number | undefined): void
  rejected(code: string): void
  stream(route: string, result: StreamResult): void
  compiled(): void
  fallback(): void
  snapshot(schemas: number, masks: number): JsonStats
  reset(): void
}

const ROUTE_FIELDS = [
  'responses',
  'masked',
  'bytesOut',
  'bytesSaved',
  'streams',
  'streamedItems',
  'streamedBytes',
  'streamErrors',
  'streamsAborted',
] as const

export function createRecorder(measureEvery: number): Recorder {
  let routes = new Map<string, RouteCounters>()
  let rejected: Record<string, number> = {}
  let compiled = 0
  let fallback = 0
  const of = (route: string): RouteCounters => {
    let counters = routes.get(route)
    if (counters === undefined) routes.set(route, (counters = zero()))
    return counters
  }
  return {
    response(route, masked) {
      const c = of(route)
      c.responses++
      if (!masked) return false
      c.masked++
      // The first masked response of a route is always measured, then one in `measureEvery`.
      return (c.masked - 1) % measureEvery === 0
    },
    bytes(route, masked, full) {
      const c = of(route)
      c.bytesOut += masked
      if (full !== undefined) {
        c.sampledFull += full
        c.sampledMasked += masked
      }
    },
    rejected(code) {
      rejected[code] = (rejected[code] ?? 0) + 1
    },
    stream(route, result) {
      const c = of(route)
      c.streams++
      c.streamedItems += result.items
      c.streamedBytes += result.bytes
      if (result.aborted) c.streamsAborted++
      else if (result.error !== undefined) c.streamErrors++
    },
    compiled: () => {
      compiled++
    },
    fallback: () => {
      fallback++
    },
    snapshot(schemas, masks) {
      const out: Record<string, JsonRouteStats> = {}
      const totals = zero()
      for (const [route, c] of routes) {
        const saved = c.sampledMasked > 0 ? Math.round(c.bytesOut * (c.sampledFull / c.sampledMasked - 1)) : 0
        const row = {} as JsonRouteStats
        for (const field of ROUTE_FIELDS) row[field] = c[field]
        row.bytesSaved = Math.max(0, saved)
        out[route] = row
        for (const field of ROUTE_FIELDS) totals[field] += row[field]
      }
      const totalRow = {} as JsonRouteStats
      for (const field of ROUTE_FIELDS) totalRow[field] = totals[field]
      return {
        totals: totalRow,
        routes: out,
        rejected: { ...rejected },
        serializers: { schemas, masks, compiled, fallback },
        measureEvery,
      }
    },
    reset() {
      routes = new Map()
      rejected = {}
      compiled = 0
      fallback = 0
    },
  }
}
