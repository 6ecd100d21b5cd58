import type { Insight, OverloadStats } from '@hotpath/core'
import type { InsightThresholds } from './types'

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits

/** Share of requests (since start) refused by the overload guard at which it warns, and is critical. */
const SHED_WARN = 0.01
const SHED_CRITICAL = 0.1

/**
 * Findings from an `@hotpath/overload` guard: requests it refused (why, and at what limit), and
 * circuit breakers that are not closed. Counts are since the guard started.
 */
export function overloadInsights(overload: OverloadStats | undefined, t: InsightThresholds): Insight[] {
  if (!overload) return []
  const out: Insight[] = []
  const refused =
    overload.refused['queue-timeout'] + overload.refused['queue-full'] + overload.refused['event-loop']
  const total = overload.admitted + refused
  const share = total > 0 ? refused / total : 0
  if (total >= t.minRequests && share >= SHED_WARN) {
    const byLoop = overload.refused['event-loop'] >= refused / 2
    out.push({
      id: 'overload-shedding',
      severity: share >= SHED_CRITICAL ? 'critical' : 'warning',
      source: 'dashboard',
      title: `The overload guard refused ${round(share * 100, 1)}% of requests`,
      evidence: {
        refused,
        admitted: overload.admitted,
        queueTimeout: overload.refused['queue-timeout'],
        queueFull: overload.refused['queue-full'],
        eventLoop: overload.refused['event-loop'],
        limit: overload.limit ?? 'off',
        minRttMs: overload.minRttMs,
        queueDelayP99Ms: overload.queueDelayMs.p99,
      },
      action: byLoop
        ? 'Most refusals come from a busy event loop: find the synchronous CPU work on the request path (a CPU profile, the slowest routes), or add instances.'
        : 'Requests waited for a concurrency slot longer than the target: add instances, or make the slowest routes (or what they wait on) cheaper; mark background routes sheddable.',
    })
  }
  for (const b of overload.breakers) {
    if (b.state === 'closed') continue
    out.push({
      id: 'breaker-open',
      severity: b.state === 'open' ? 'critical' : 'warning',
      source: 'dashboard',
      title: `Circuit breaker "${b.name}" is ${b.state}`,
      evidence: {
        name: b.name,
        state: b.state,
        failureRate: b.failureRate,
        slowRate: b.slowRate,
        timeouts: b.timeouts,
        rejected: b.rejected,
        openedAt: b.openedAt ?? '',
      },
      action: `Calls to "${b.name}" fail fast (or get the fallback): check that service's health and latency; the breaker lets a probe through after its reset timeout.`,
    })
  }
  return out
}
