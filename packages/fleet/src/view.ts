import type { FleetInstance, FleetOutlier, FleetRoute, FleetView } from '@hotpath/core'
import { round } from './codec'
import { Ranks } from './rank'
import type { Snapshot } from './snapshot'
import { decodeRoutes, type Run } from './wire'

const PS = [50, 95, 99] as const
/** An instance this many times slower than the rest of the fleet on a route is an outlier. */
const OUTLIER_FACTOR = 2
/** Requests an instance needs on a route before it is compared. */
const OUTLIER_MIN = 20
const DEFAULT_LAYOUT = '3600000000:3'
/** Routes compared instance by instance, busiest first. */
const OUTLIER_ROUTES = 20

interface Decoded {
  snapshot: Snapshot
  /** The instance's routes of the default layout summed (the last run of its blob). */
  overall: Run | null
  routes: Map<string, { run: Run; c: number; e: number; max: number; s: number; key: string; p95?: number }>
}

/**
 * Merges the fresh snapshots into one view. Stale instances (no snapshot within two intervals)
 * are listed with their age and left out of the merged numbers, which say their coverage.
 */
export function mergeView(
  app: string,
  self: string,
  at: number,
  ids: readonly string[],
  snapshots: ReadonlyArray<Snapshot | null>,
  decoded?: DecodeCache,
): Merged {
  const fresh: Decoded[] = []
  const stale: string[] = []
  const instances: FleetInstance[] = []
  ids.forEach((id, i) => {
    const s = snapshots[i]
    const ageMs = s ? Math.max(0, at - s.at) : Number.POSITIVE_INFINITY
    const isStale = !s || ageMs > 2 * s.intervalMs
    if (isStale) stale.push(id)
    if (s && !isStale) fresh.push((decoded ?? new DecodeCache()).get(s))
    instances.push(instanceRow(id, s, ageMs, isStale))
  })
  const ranks = new Ranks({ highest: 3_600_000_000, digits: 3 })
  const byId = new Map(fresh.map((d) => [d.snapshot.id, d]))
  for (const row of instances) {
    const d = byId.get(row.id)
    if (d) Object.assign(row, instanceLatency(d, ranks))
  }

  const routes: FleetRoute[] = []
  const labels = new Set<string>()
  for (const d of fresh) for (const r of d.routes.keys()) labels.add(r)
  let totalCount = 0
  let totalErrors = 0
  let totalRps = 0
  let totalMax = 0
  for (const label of labels) {
    const parts = fresh.map((d) => d.routes.get(label)).filter((r) => r !== undefined)
    const layoutKey = parts[0]?.key
    // Histograms merge only within one layout; a route reported in two (mixed versions) keeps the first's.
    const same = parts.filter((p) => p.key === layoutKey)
    const [highest, digits] = (layoutKey ?? DEFAULT_LAYOUT).split(':').map(Number)
    const r =
      layoutKey === DEFAULT_LAYOUT
        ? ranks
        : new Ranks({ highest: highest as number, digits: digits as number })
    const runs: Run[] = []
    let count = 0
    let errors = 0
    let max = 0
    let rps = 0
    for (const p of same) {
      runs.push(p.run)
      count += p.c
      errors += p.e
      if (p.max > max) max = p.max
      rps += p.s > 0 ? p.c / p.s : 0
    }
    const [p50, p95, p99] = r.percentiles(runs, PS, max)
    routes.push({
      route: label,
      count,
      errors,
      errorRate: count > 0 ? round(errors / count) : 0,
      rps: round(rps),
      p50: p50 as number,
      p95: p95 as number,
      p99: p99 as number,
      max: round(max),
      instances: same.length,
    })
    totalCount += count
    totalErrors += errors
    totalRps += rps
    if (max > totalMax) totalMax = max
  }
  routes.sort((a, b) => b.count - a.count || (a.route < b.route ? -1 : 1))
  // The fleet's totals: the union of every instance's overall run (16 runs, not 1,600).
  const overall: Run[] = []
  for (const d of fresh) if (d.overall) overall.push(d.overall)
  const [t50, t95, t99] = ranks.percentiles(overall, PS, totalMax)

  const sources: Record<string, Record<string, number>> = {}
  for (const d of fresh) {
    for (const [name, counters] of Object.entries(d.snapshot.sources)) {
      const into = (sources[name] ??= {})
      for (const [k, v] of Object.entries(counters)) into[k] = (into[k] ?? 0) + v
    }
  }
  const view: FleetView = {
    app,
    self,
    at,
    window: '10s',
    coverage: { fresh: fresh.length, total: ids.length, stale },
    totals: {
      count: totalCount,
      errors: totalErrors,
      rps: round(totalRps),
      p50: t50 as number,
      p95: t95 as number,
      p99: t99 as number,
    },
    routes,
    instances,
    outliers: findOutliers(
      fresh,
      routes.map((r) => r.route),
      ranks,
    ),
    sources,
  }
  const slower = (route: string, ms: number): number => {
    const runs: Run[] = []
    for (const d of fresh) {
      const r = d.routes.get(route)
      if (r && r.key === DEFAULT_LAYOUT) runs.push(r.run)
    }
    return ranks.countAbove(runs, ms)
  }
  const statusRps: Record<string, number> = {}
  for (const d of fresh) {
    for (const [cls, n] of Object.entries(d.snapshot.statusRps ?? {}))
      statusRps[cls] = (statusRps[cls] ?? 0) + n
  }
  return { view, slower, statusRps }
}

export interface Merged {
  view: FleetView
  /** Requests of `route` in the window slower than `ms`, from the merged histogram. */
  slower(route: string, ms: number): number
  /** Responses per second by status class, summed over the fresh instances. */
  statusRps: Record<string, number>
}

/**
 * Decoded snapshots kept between reads: an instance's snapshot changes once per interval, the view
 * is read more often (every poll of every open page), so each snapshot is inflated once.
 */
export class DecodeCache {
  private readonly byId = new Map<string, { at: number; decoded: Decoded }>()
  private readonly warn: Warn | undefined

  constructor(warn?: Warn) {
    this.warn = warn
  }

  get(snapshot: Snapshot): Decoded {
    const hit = this.byId.get(snapshot.id)
    if (hit && hit.at === snapshot.at) return hit.decoded
    const decoded = decode(snapshot, this.warn)
    this.byId.set(snapshot.id, { at: snapshot.at, decoded })
    return decoded
  }

  /** Forgets instances no longer in the fleet. */
  keep(ids: readonly string[]): void {
    const live = new Set(ids)
    for (const id of this.byId.keys()) if (!live.has(id)) this.byId.delete(id)
  }
}

type Warn = (code: string, message: string, ...meta: unknown[]) => void

/** One inflate and one pass for all of an instance's routes (see wire.ts for why). */
function decode(snapshot: Snapshot, warn?: Warn): Decoded {
  const routes: Decoded['routes'] = new Map()
  const meta = snapshot.routes ?? []
  let runs: Run[]
  try {
    runs = decodeRoutes(snapshot.blob)
    if (runs.length !== meta.length + 1) {
      throw new Error(`${runs.length} histograms for ${meta.length} routes and the overall one`)
    }
  } catch (err) {
    // A corrupt snapshot's routes are left out; its instance row (runtime, counters) still counts.
    warn?.(
      'ERR_HOTPATH_FLEET_CORRUPT_SNAPSHOT',
      `@hotpath/fleet: the histograms of instance ${JSON.stringify(snapshot.id)} could not be read; its routes are left out of the view.`,
      err,
    )
    return { snapshot, routes, overall: null }
  }
  meta.forEach((r, i) => {
    routes.set(r.r, {
      run: runs[i] as Run,
      c: r.c,
      e: r.e,
      max: r.max,
      s: r.s,
      key: `${r.hi}:${r.d}`,
      ...(typeof r.p95 === 'number' ? { p95: r.p95 } : {}),
    })
  })
  return { snapshot, routes, overall: runs[meta.length] as Run }
}

function instanceRow(id: string, s: Snapshot | null, ageMs: number, stale: boolean): FleetInstance {
  return {
    id,
    ageMs: Number.isFinite(ageMs) ? ageMs : -1,
    stale,
    rps: 0,
    p95: 0,
    errorRate: 0,
    eventLoopP99: s?.runtime.eventLoopP99 ?? 0,
    rss: s?.runtime.rss ?? 0,
    heapUsed: s?.runtime.heapUsed ?? 0,
    cpu: s?.runtime.cpu ?? 0,
    uptimeSeconds: s?.runtime.uptimeSeconds ?? 0,
    version: s?.version ?? '',
  }
}

/** The instance's numbers over the interval the view shows, from its routes. */
function instanceLatency(d: Decoded, ranks: Ranks): Pick<FleetInstance, 'rps' | 'p95' | 'errorRate'> {
  let count = 0
  let errors = 0
  let rps = 0
  let max = 0
  for (const r of d.routes.values()) {
    if (r.key !== DEFAULT_LAYOUT) continue
    count += r.c
    errors += r.e
    rps += r.s > 0 ? r.c / r.s : 0
    if (r.max > max) max = r.max
  }
  const [p95] = ranks.percentiles(d.overall ? [d.overall] : [], [95], max)
  return { rps: round(rps), p95: p95 as number, errorRate: count > 0 ? round(errors / count) : 0 }
}

/**
 * Per route, among the busiest `OUTLIER_ROUTES` (where a slow instance costs the most users):
 * an instance whose p95 is ≥ 2× the p95 of all the other instances together.
 */
function findOutliers(fresh: readonly Decoded[], busiest: readonly string[], ranks: Ranks): FleetOutlier[] {
  if (fresh.length < 2) return []
  const out: FleetOutlier[] = []
  const labels = busiest.slice(0, OUTLIER_ROUTES)
  for (const label of labels) {
    // Each instance against the union of the others.
    const parts = fresh
      .map((d) => ({ d, r: d.routes.get(label) }))
      .filter((p) => p.r !== undefined && p.r.key === DEFAULT_LAYOUT)
    if (parts.length < 2) continue
    let allMax = 0
    for (const p of parts) if ((p.r?.max ?? 0) > allMax) allMax = p.r?.max ?? 0
    // The candidate is the instance slowest on this route by its own published p95; only it is
    // compared with the rest (one rank search, not one per instance).
    let candidate: (typeof parts)[number] | undefined
    for (const p of parts) {
      if (!p.r || p.r.c < OUTLIER_MIN) continue
      if (candidate === undefined || (p.r.p95 ?? 0) > (candidate.r?.p95 ?? 0)) candidate = p
    }
    const r = candidate?.r
    if (!candidate || !r) continue
    const others: Run[] = []
    let othersCount = 0
    for (const p of parts) {
      if (p === candidate || !p.r) continue
      others.push(p.r.run)
      othersCount += p.r.run.total
    }
    if (othersCount < OUTLIER_MIN) continue
    const [a] = ranks.percentiles([r.run], [95], r.max)
    const [b] = ranks.percentiles(others, [95], allMax)
    if ((b as number) > 0 && (a as number) >= OUTLIER_FACTOR * (b as number)) {
      const factor = round((a as number) / (b as number))
      out.push({
        instance: candidate.d.snapshot.id,
        route: label,
        factor,
        message: `instance ${candidate.d.snapshot.id} is ${Math.round(factor * 10) / 10}× slower on ${label} (p95 ${a} ms against ${b} ms on the others)`,
      })
    }
  }
  return out.sort((x, y) => y.factor - x.factor)
}
