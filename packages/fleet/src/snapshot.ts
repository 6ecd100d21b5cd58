import { type StatsSource, startLoopDelayProbe } from '@hotpath/core'
import { Merger } from './codec'
import { encodeRoutes, validPairs } from './wire'

/**
 * The wire format's version. 3: each route's histogram is the last closed 10 s interval (2 sent the
 * rolling minute, so every request was published six times). 2: the histograms of all routes in
 * one binary blob after the JSON (1 had one base64 string per route inside it). A reader refuses
 * any other version (logged once).
 */
export const SNAPSHOT_VERSION = 3

/**
 * What one instance publishes every interval, under a key with a TTL: this object as JSON without
 * `blob`, a newline (JSON.stringify never writes a raw one), then `blob` as raw bytes — base64
 * would add a third to the largest part.
 */
export interface Snapshot {
  v: typeof SNAPSHOT_VERSION
  id: string
  at: number
  intervalMs: number
  version: string
  runtime: {
    uptimeSeconds: number
    /** CPU time over wall time since the previous snapshot (1 = one core busy). */
    cpu: number
    rss: number
    heapUsed: number
    heapTotal: number
    eventLoopP99: number
  }
  /**
   * Per route, the profiler's last closed 10 s interval (what the view merges; see README "How
   * numbers merge"); its histogram of layout `hi`/`d` is the route's run in `blob`, in this order.
   */
  routes: Array<{
    r: string
    s: number
    c: number
    e: number
    sum: number
    max: number
    hi: number
    d: number
    /** This instance's own p95 of the route (ms), to pick outlier candidates without a merge. */
    p95?: number
  }>
  /** Responses by status class per second over the last interval. */
  statusRps: Record<string, number>
  /** Numeric counters of every source, flattened (`cache.hits`, `rateLimit.limited`, …). */
  sources: Record<string, Record<string, number>>
  /** `encodeRoutes` of the routes' histograms, then of their sum over the default layout (see wire.ts). */
  blob: Uint8Array
}

const NEWLINE = 0x0a

/**
 * The blob of a snapshot: each route's pairs, then the overall run — the routes of the default
 * layout summed, which is what the fleet's totals merge (one run per instance, not one per route).
 */
export function encodeHistograms(
  routes: ReadonlyArray<{ hi: number; d: number }>,
  pairs: ReadonlyArray<readonly number[]>,
  scratch = new Merger({ highest: 3_600_000_000, digits: 3 }),
): Buffer {
  scratch.reset()
  routes.forEach((r, i) => {
    if (r.hi === 3_600_000_000 && r.d === 3) scratch.add(pairs[i] as number[])
  })
  return encodeRoutes([...pairs, scratch.pairs()])
}

export function serializeSnapshot(snapshot: Snapshot): Buffer {
  const { blob, ...meta } = snapshot
  return Buffer.concat([Buffer.from(`${JSON.stringify(meta)}\n`), blob])
}

/**
 * A snapshot read from Redis, or null (absent, unreadable, or of another format version: an
 * instance running another release of this package is then shown as stale, and `warn` says why).
 */
export function parseSnapshot(
  raw: Buffer | null,
  warn: (code: string, message: string) => void,
): Snapshot | null {
  if (raw === null) return null
  try {
    const cut = raw.indexOf(NEWLINE)
    const meta = JSON.parse(raw.subarray(0, cut < 0 ? raw.length : cut).toString('utf8')) as Snapshot
    if (!meta || typeof meta.id !== 'string' || typeof meta.at !== 'number') return null
    if (meta.v !== SNAPSHOT_VERSION) {
      warn(
        'ERR_HOTPATH_FLEET_SNAPSHOT_VERSION',
        `@hotpath/fleet: instance ${JSON.stringify(meta.id)} publishes snapshot format ${JSON.stringify(meta.v)}, this one reads ${SNAPSHOT_VERSION}; it is shown as stale until every instance runs the same @hotpath/fleet.`,
      )
      return null
    }
    if (cut < 0 || !Array.isArray(meta.routes)) return null
    meta.blob = raw.subarray(cut + 1)
    return meta
  } catch {
    return null
  }
}

interface HistogramSource {
  histograms(window?: '10s'): Array<{
    route: string
    seconds: number
    count: number
    errors: number
    sumMs: number
    maxMs: number
    highest: number
    digits: number
    pairs: number[]
  }>
  routes(window?: 'all'): Array<{ statusClasses?: Record<string, number> }>
}

const MAX_ROUTES = 200
const MAX_COUNTERS = 200

function isHistogramSource(s: unknown): s is HistogramSource {
  return (
    (typeof s === 'object' || typeof s === 'function') &&
    s !== null &&
    typeof (s as HistogramSource).histograms === 'function' &&
    typeof (s as HistogramSource).routes === 'function'
  )
}

/** Numbers of a stats object, one level of nesting flattened with dots; arrays left out. */
export function flattenCounters(stats: unknown): Record<string, number> {
  const out: Record<string, number> = {}
  if (typeof stats !== 'object' || stats === null) return out
  let n = 0
  for (const [key, value] of Object.entries(stats)) {
    if (n >= MAX_COUNTERS) break
    if (typeof value === 'number' && Number.isFinite(value)) {
      out[key] = value
      n++
    } else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      for (const [inner, v] of Object.entries(value)) {
        if (n >= MAX_COUNTERS) break
        if (typeof v === 'number' && Number.isFinite(v)) {
          out[`${key}.${inner}`] = v
          n++
        }
      }
    }
  }
  return out
}

/** Builds snapshots of this process; keeps what rates need between two of them. */
export function createSnapshotter(
  id: string,
  version: string,
  intervalMs: number,
  sources: Readonly<Record<string, StatsSource | undefined>>,
  now: () => number,
  onSourceError: (name: string, err: unknown) => void,
) {
  // Core's probe: a reset here never loses a stall that ended just before it.
  const probe = startLoopDelayProbe()
  const loop = probe.histogram
  let lastCpu = process.cpuUsage()
  let lastAt = now()
  let lastStatus: Record<string, number> | null = null
  const scratch = new Merger({ highest: 3_600_000_000, digits: 3 })
  const overall = new Merger({ highest: 3_600_000_000, digits: 3 })

  function take(): Snapshot {
    const at = now()
    const cpu = process.cpuUsage()
    const wallMs = Math.max(1, at - lastAt)
    const cpuShare = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000 / wallMs
    lastCpu = cpu
    const mem = process.memoryUsage()
    const snapshot: Snapshot = {
      v: SNAPSHOT_VERSION,
      id,
      at,
      intervalMs,
      version,
      runtime: {
        uptimeSeconds: Math.round(process.uptime()),
        cpu: Math.round(cpuShare * 1000) / 1000,
        rss: mem.rss,
        heapUsed: mem.heapUsed,
        heapTotal: mem.heapTotal,
        eventLoopP99: Math.round(loop.percentile(99) / 1e4) / 100,
      },
      routes: [],
      statusRps: {},
      sources: {},
      blob: new Uint8Array(0),
    }
    const histograms: number[][] = []
    loop.reset()
    for (const [name, source] of Object.entries(sources)) {
      if (source === undefined || source === null) continue
      try {
        if (isHistogramSource(source)) {
          const routes = source.histograms('10s').sort((a, b) => b.count - a.count)
          for (const h of routes) {
            if (snapshot.routes.length >= MAX_ROUTES) break
            // A histogram the codec cannot carry is left out rather than failing the snapshot.
            if (!validPairs(h.pairs)) continue
            histograms.push(h.pairs)
            snapshot.routes.push({
              r: h.route,
              s: h.seconds,
              c: h.count,
              e: h.errors,
              sum: Math.round(h.sumMs * 1000) / 1000,
              max: Math.round(h.maxMs * 1000) / 1000,
              hi: h.highest,
              d: h.digits,
              p95: p95Of(h, scratch),
            })
          }
          const status: Record<string, number> = {}
          for (const r of source.routes('all')) {
            for (const [cls, n] of Object.entries(r.statusClasses ?? {})) status[cls] = (status[cls] ?? 0) + n
          }
          for (const [cls, n] of Object.entries(status)) {
            const before = lastStatus?.[cls] ?? 0
            snapshot.statusRps[cls] =
              lastStatus === null ? 0 : Math.round(((n - before) / wallMs) * 1e6) / 1000
          }
          lastStatus = status
        } else {
          snapshot.sources[name] = flattenCounters(source.stats())
        }
      } catch (err) {
        onSourceError(name, err)
      }
    }
    snapshot.blob = encodeHistograms(snapshot.routes, histograms, overall)
    lastAt = at
    return snapshot
  }

  return { take, close: () => probe.close() }
}

function p95Of(
  h: { pairs: number[]; maxMs: number; highest: number; digits: number },
  scratch: Merger,
): number | undefined {
  if (h.highest !== 3_600_000_000 || h.digits !== 3) return undefined
  scratch.reset()
  scratch.add(h.pairs)
  return scratch.percentiles([95], h.maxMs)[0]
}
