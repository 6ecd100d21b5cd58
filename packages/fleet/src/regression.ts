import type { FleetView, HistoryPoint as Point, Regression } from '@hotpath/core'

const DAY = 86_400_000
const HOUR = 3_600_000
/** One-sided z score above which a difference counts (p ≈ 0.00135). */
export const Z_CRITICAL = 3

export interface RegressionConfig {
  minutes: number
  minSamples: number
  minFactor: number
}

/**
 * A route's baseline from the minute points of the last day: the median of its p95 (and error
 * rate) over the same hour of the previous day when that hour has points, else over the previous
 * 24 h — excluding the last `minutes`, which are what is being judged.
 */
export function baselineOf(
  points: readonly Point[],
  route: string,
  at: number,
  minutes: number,
): { p95: number; errorRate: number; points: number } | null {
  const sameHour = points.filter((p) => Math.abs(p.at - (at - DAY)) <= HOUR / 2)
  const previous = points.filter((p) => p.at < at - minutes * 60_000 && p.at >= at - DAY)
  const pick = (ps: readonly Point[]) =>
    ps
      .map((p) => p.routes.find((r) => r[0] === route))
      .filter((r): r is [string, number, number, number, number] => r !== undefined && r[4] > 0)
  let rows = pick(sameHour)
  if (rows.length < 3) rows = pick(previous)
  if (rows.length < 3) return null
  return {
    p95: median(rows.map((r) => r[2])),
    errorRate: median(rows.map((r) => r[3])),
    points: rows.length,
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/**
 * The test. Latency: under "no change" at most 5% of requests are slower than the baseline p95, so
 * with n requests of which k are slower, z = (k/n − 0.05) / √(0.05·0.95/n) (normal approximation
 * of the binomial, valid for n·0.05 ≥ 10, which `minSamples` ≥ 200 ensures). Errors: the same
 * test of the error share against the baseline rate (floored at 0.1%). A regression needs z > 3,
 * the effect to be material (p95 ≥ `minFactor` × baseline, or the error rate ≥ 2× baseline), and
 * both to hold for `minutes` consecutive evaluations.
 */
export function zScore(k: number, n: number, p0: number): number {
  if (n <= 0) return 0
  return (k / n - p0) / Math.sqrt((p0 * (1 - p0)) / n)
}

export function createRegressionDetector(config: RegressionConfig) {
  const onset = new Map<string, number>()
  let current: Regression[] = []

  /** `slower(route, ms)`: requests of the route in the view slower than `ms`. */
  function evaluate(
    view: FleetView,
    minutePoints: readonly Point[],
    slower: (route: string, ms: number) => number,
    markers: ReadonlyArray<{ at: number; label: string }>,
  ): Regression[] {
    const at = view.at
    const found: Regression[] = []
    const seen = new Set<string>()
    for (const r of view.routes) {
      if (r.count < config.minSamples) continue
      const base = baselineOf(minutePoints, r.route, at, config.minutes)
      if (base === null) continue
      const checks: Array<{
        metric: Regression['metric']
        z: number
        material: boolean
        current: number
        baseline: number
      }> = []
      if (base.p95 > 0) {
        checks.push({
          metric: 'p95',
          z: zScore(slower(r.route, base.p95), r.count, 0.05),
          material: r.p95 >= config.minFactor * base.p95,
          current: r.p95,
          baseline: base.p95,
        })
      }
      const p0 = Math.max(0.001, base.errorRate)
      checks.push({
        metric: 'errorRate',
        z: zScore(r.errors, r.count, p0),
        material: r.errorRate >= 2 * p0,
        current: r.errorRate,
        baseline: base.errorRate,
      })
      for (const c of checks) {
        const key = `${c.metric} ${r.route}`
        if (!(c.z > Z_CRITICAL && c.material)) {
          onset.delete(key)
          continue
        }
        seen.add(key)
        const since = onset.get(key) ?? at
        onset.set(key, since)
        if (at - since < config.minutes * 60_000) continue
        const deploy = [...markers].filter((m) => m.at <= since + 60_000).sort((a, b) => b.at - a.at)[0]
        found.push({
          route: r.route,
          metric: c.metric,
          current: c.current,
          baseline: c.baseline,
          z: Math.round(c.z * 100) / 100,
          since,
          deploy: deploy ? deploy.label : null,
        })
      }
    }
    for (const key of [...onset.keys()]) if (!seen.has(key)) onset.delete(key)
    current = found
    return found
  }

  return { evaluate, current: () => current }
}
