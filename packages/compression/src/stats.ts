import type { CompressionRouteStats, EncodingStats } from '@hotpath/core'
import type { CompressionReport, Encoding, SkipReason } from './types'

const REASONS: readonly SkipReason[] = [
  'below-threshold',
  'not-compressible',
  'filtered',
  'no-transform',
  'already-encoded',
  'identity',
  'head-or-status',
]

/** Route labels beyond this many are folded into one bucket so memory stays bounded. */
const MAX_ROUTES = 1000
const OVERFLOW_ROUTE = 'other'

interface Counter {
  responses: number
  bytesIn: number
  bytesOut: number
  ms: number
}

interface RouteCounter {
  responses: number
  bytesIn: number
  bytesOut: number
  uncompressedLarge: number
}

/** The counters of one instance. Only lengths are recorded: bodies are never copied. */
export interface Recorder {
  compressed(encoding: Encoding, route: string, bytesIn: number, bytesOut: number, ms: number): void
  skipped(reason: SkipReason): void
  uncompressedLarge(route: string): void
  aborted(): void
  snapshot(): CompressionReport
  reset(): void
}

export function createRecorder(threshold: number, encodings: readonly Encoding[]): Recorder {
  let byEncoding = new Map<Encoding, Counter>()
  let skipped = new Map<SkipReason, number>()
  let routes = new Map<string, RouteCounter>()
  let aborted = 0

  const reset = (): void => {
    byEncoding = new Map(encodings.map((e) => [e, { responses: 0, bytesIn: 0, bytesOut: 0, ms: 0 }]))
    skipped = new Map(REASONS.map((r) => [r, 0]))
    routes = new Map()
    aborted = 0
  }
  reset()

  const routeCounter = (route: string): RouteCounter => {
    const known = routes.get(route)
    if (known !== undefined) return known
    const key = routes.size >= MAX_ROUTES ? OVERFLOW_ROUTE : route
    let counter = routes.get(key)
    if (counter === undefined) {
      counter = { responses: 0, bytesIn: 0, bytesOut: 0, uncompressedLarge: 0 }
      routes.set(key, counter)
    }
    return counter
  }

  return {
    compressed(encoding, route, bytesIn, bytesOut, ms) {
      const counter = byEncoding.get(encoding) as Counter
      counter.responses++
      counter.bytesIn += bytesIn
      counter.bytesOut += bytesOut
      counter.ms += ms
      const perRoute = routeCounter(route)
      perRoute.responses++
      perRoute.bytesIn += bytesIn
      perRoute.bytesOut += bytesOut
    },
    skipped(reason) {
      skipped.set(reason, (skipped.get(reason) as number) + 1)
    },
    uncompressedLarge(route) {
      routeCounter(route).uncompressedLarge++
    },
    aborted() {
      aborted++
    },
    snapshot() {
      const report: CompressionReport = {
        threshold,
        encodings: {},
        skipped: Object.fromEntries(skipped),
        totals: { responses: 0, bytesIn: 0, bytesOut: 0, bytesSaved: 0, ratio: 0 },
        routes: {},
        aborted,
      }
      for (const [encoding, c] of byEncoding) {
        report.encodings[encoding] = encodingStats(c)
        report.totals.responses += c.responses
        report.totals.bytesIn += c.bytesIn
        report.totals.bytesOut += c.bytesOut
      }
      report.totals.bytesSaved = report.totals.bytesIn - report.totals.bytesOut
      report.totals.ratio = ratio(report.totals.bytesOut, report.totals.bytesIn)
      for (const [route, c] of routes) report.routes[route] = routeStats(c)
      return report
    },
    reset,
  }
}

function ratio(out: number, input: number): number {
  return input === 0 ? 0 : out / input
}

function encodingStats(c: Counter): EncodingStats {
  return {
    responses: c.responses,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    ratio: ratio(c.bytesOut, c.bytesIn),
    ms: c.ms,
  }
}

function routeStats(c: RouteCounter): CompressionRouteStats {
  return {
    responses: c.responses,
    bytesIn: c.bytesIn,
    bytesOut: c.bytesOut,
    bytesSaved: c.bytesIn - c.bytesOut,
    uncompressedLarge: c.uncompressedLarge,
  }
}
