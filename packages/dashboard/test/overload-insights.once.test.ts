import type { BreakerStats, OverloadStats } from '@hotpath/core'
import { overloadInsights } from '../src/overload'
import type { InsightThresholds } from '../src/types'

const DEFAULT_THRESHOLDS: InsightThresholds = {
  slowMs: 200,
  minRequests: 20,
  lowHitRatio: 0.5,
  minLookups: 100,
  limitedRatio: 0.1,
  eventLoopWarnMs: 100,
  eventLoopCriticalMs: 500,
  errorRateWarn: 0.01,
  errorRateCritical: 0.05,
}

function stats(
  admitted: number,
  refused: Partial<OverloadStats['refused']>,
  breakers: BreakerStats[] = [],
): OverloadStats {
  return {
    admitted,
    refused: { 'queue-timeout': 0, 'queue-full': 0, 'event-loop': 0, ...refused },
    priorities: {
      critical: { admitted: 0, refused: 0 },
      normal: { admitted, refused: 0 },
      sheddable: { admitted: 0, refused: 0 },
    },
    limit: 12,
    inFlight: 3,
    queued: 0,
    abandoned: 0,
    congested: false,
    queueDelayMs: { p50: 0, p99: 4 },
    minRttMs: 8,
    sampleRttMs: 9,
    eventLoop: null,
    breakers,
  }
}

const breakerIn = (state: BreakerStats['state']): BreakerStats => ({
  name: 'prices',
  state,
  calls: 20,
  successes: 5,
  failures: 15,
  timeouts: 3,
  rejected: 0,
  fallbacks: 0,
  slow: 0,
  failureRate: 0.75,
  slowRate: 0,
  latencyMs: { p50: 10, p99: 200 },
  openedAt: '2026-01-01T00:00:00.000Z',
  shared: false,
})

describe('overload insights', () => {
  it('says nothing without an overload source', () => {
    expect(overloadInsights(undefined, DEFAULT_THRESHOLDS)).toEqual([])
  })

  it('says nothing below minRequests, however many were refused', () => {
    expect(overloadInsights(stats(5, { 'queue-timeout': 5 }), DEFAULT_THRESHOLDS)).toEqual([])
  })

  it('warns when 1% or more of the requests were refused', () => {
    const [insight] = overloadInsights(stats(980, { 'queue-timeout': 20 }), DEFAULT_THRESHOLDS)
    expect(insight).toMatchObject({
      id: 'overload-shedding',
      severity: 'warning',
      title: 'The overload guard refused 2% of requests',
    })
    expect(insight?.evidence).toMatchObject({ refused: 20, admitted: 980, queueTimeout: 20, limit: 12 })
  })

  it('is critical at 10% refused, and points at the CPU when the event loop refused most', () => {
    const [insight] = overloadInsights(stats(800, { 'event-loop': 200 }), DEFAULT_THRESHOLDS)
    expect(insight?.severity).toBe('critical')
    expect(insight?.action).toContain('event loop')
  })

  it('says nothing under 1% refused', () => {
    expect(overloadInsights(stats(10_000, { 'queue-full': 5 }), DEFAULT_THRESHOLDS)).toEqual([])
  })

  it('is critical for an open breaker and a warning for a half-open one, none for a closed one', () => {
    const out = overloadInsights(
      stats(100, {}, [breakerIn('open'), breakerIn('half-open'), breakerIn('closed')]),
      DEFAULT_THRESHOLDS,
    )
    expect(out.map((i) => [i.id, i.severity])).toEqual([
      ['breaker-open', 'critical'],
      ['breaker-open', 'warning'],
    ])
    expect(out[0]?.title).toBe('Circuit breaker "prices" is open')
  })
})
