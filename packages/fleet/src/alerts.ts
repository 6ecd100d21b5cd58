import type { AlertState, FleetView } from '@hotpath/core'
import { globToRegExp, HotpathError, parseDuration } from '@hotpath/core'
import { PKG } from './options'
import type { AlertEvent, AlertPredicate, AlertRule } from './types'

type Metric = 'p50' | 'p95' | 'p99' | 'rps' | 'errorRate'

export interface Condition {
  readonly text: string
  readonly metric: Metric | null
  readonly op: '>' | '>=' | '<' | '<='
  readonly threshold: number
  readonly forMs: number
  readonly route: { method: string | null; path: RegExp } | null
  readonly predicate: AlertPredicate | null
}

const RULE =
  /^\s*(p50|p95|p99|rps|errorRate)\s*(>=|<=|>|<)\s*(\d+(?:\.\d+)?)\s*(ms|s|%)?\s+for\s+(\S+)(?:\s+on\s+(?:([A-Z]+)\s+)?(\/\S*))?\s*$/

/** Parses `'p95 > 300ms for 5m on GET /api/**'`; throws a coded error naming the grammar. */
export function parseCondition(when: string | AlertPredicate, forMs = 0): Condition {
  if (typeof when === 'function') {
    return { text: 'function', metric: null, op: '>', threshold: 0, forMs, route: null, predicate: when }
  }
  const m = typeof when === 'string' ? RULE.exec(when) : null
  if (!m) {
    throw new HotpathError(
      'ERR_HOTPATH_FLEET_ALERT',
      `${PKG}: cannot read the alert rule ${JSON.stringify(when)}; write '<p50|p95|p99|rps|errorRate> <op> <value>[ms|s|%] for <duration> [on [METHOD] /glob]', e.g. 'p95 > 300ms for 5m on GET /api/**'.`,
    )
  }
  const [, metric, op, value, unit, duration, method, path] = m
  let threshold = Number(value)
  if (unit === 's') threshold *= 1000
  if (unit === '%') threshold /= 100
  let ms: number
  try {
    ms = parseDuration(duration as string)
  } catch {
    throw new HotpathError(
      'ERR_HOTPATH_FLEET_ALERT',
      `${PKG}: the alert rule ${JSON.stringify(when)} has a bad duration.`,
    )
  }
  return {
    text: when as string,
    metric: metric as Metric,
    op: op as Condition['op'],
    threshold,
    forMs: ms,
    route: path ? { method: method ?? null, path: globToRegExp(path) } : null,
    predicate: null,
  }
}

function compare(op: Condition['op'], a: number, b: number): boolean {
  return op === '>' ? a > b : op === '>=' ? a >= b : op === '<' ? a < b : a <= b
}

/**
 * The rule's value in a view: the worst matching route for a route rule (its label), the fleet's
 * totals otherwise. `null` when no route matches (no traffic: the condition does not hold).
 */
export function measure(
  c: Condition,
  view: FleetView,
): { value: number | null; route: string | null; holds: boolean } {
  if (c.predicate) {
    let holds = false
    try {
      holds = c.predicate(view) === true
    } catch {
      holds = false
    }
    return { value: null, route: null, holds }
  }
  const metric = c.metric as Metric
  if (c.route === null) {
    const t = view.totals
    const value = metric === 'errorRate' ? (t.count > 0 ? t.errors / t.count : 0) : t[metric]
    return { value, route: null, holds: compare(c.op, value, c.threshold) }
  }
  let worst: { value: number; route: string } | null = null
  const high = c.op === '>' || c.op === '>='
  for (const r of view.routes) {
    const space = r.route.indexOf(' ')
    const method = space === -1 ? '' : r.route.slice(0, space)
    const path = space === -1 ? r.route : r.route.slice(space + 1)
    if (c.route.method !== null && c.route.method !== method) continue
    if (!c.route.path.test(path)) continue
    const value = r[metric]
    if (worst === null || (high ? value > worst.value : value < worst.value))
      worst = { value, route: r.route }
  }
  if (worst === null) return { value: null, route: null, holds: false }
  return { ...worst, holds: compare(c.op, worst.value, c.threshold) }
}

/**
 * One rule's incident state. Pending once the condition holds; firing once it has held for the
 * rule's duration; back to ok once it has *not* held for half that duration (hysteresis: a value
 * hovering at the line does not flap). `claim`/`release` make a fleet fire and resolve once:
 * only the instance whose claim wins notifies.
 */
export function createAlert(
  id: string,
  rule: AlertRule,
  condition: Condition,
  app: string,
  claim: (id: string, incident: string) => Promise<boolean>,
  release: (id: string) => Promise<boolean>,
  notify: (event: AlertEvent) => void,
) {
  let state: AlertState['state'] = 'ok'
  let since: number | null = null
  let clearSince: number | null = null
  let last: { value: number | null; route: string | null } = { value: null, route: null }
  let startedAt = 0

  async function step(view: FleetView, at: number): Promise<void> {
    const v = measure(condition, view)
    last = v
    if (v.holds) {
      clearSince = null
      if (state === 'ok') {
        state = 'pending'
        since = at
      }
      if (state === 'pending' && at - (since as number) >= condition.forMs) {
        state = 'firing'
        startedAt = at
        if (await claim(id, `${at}`)) notify(event('firing', at))
      }
      return
    }
    if (state === 'pending') {
      state = 'ok'
      since = null
      return
    }
    if (state === 'firing') {
      clearSince ??= at
      if (at - clearSince >= condition.forMs / 2) {
        state = 'ok'
        since = null
        clearSince = null
        if (await release(id)) notify(event('resolved', at))
      }
    }
  }

  function event(status: AlertEvent['status'], at: number): AlertEvent {
    return {
      status,
      id,
      rule: typeof rule.when === 'string' ? rule.when : condition.text,
      app,
      route: last.route,
      value: last.value,
      threshold: condition.predicate ? null : condition.threshold,
      startedAt,
      at,
    }
  }

  return {
    step,
    state: (): AlertState => ({
      id,
      rule: typeof rule.when === 'string' ? rule.when : condition.text,
      state,
      since,
      value: last.value,
      route: last.route,
    }),
  }
}
