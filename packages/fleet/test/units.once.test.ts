import type { FleetView, HistoryPoint } from '@hotpath/core'
import { measure, parseCondition } from '../src/alerts'
import { Merger } from '../src/codec'
import { minuteOf } from '../src/history'
import { decodePairs, encodePairs, fleet } from '../src/index'
import { baselineOf, createRegressionDetector, zScore } from '../src/regression'

const view = (routes: Array<Partial<FleetView['routes'][number]> & { route: string }>): FleetView => ({
  app: 'shop',
  self: 'a',
  at: 1_000_000,
  window: '10s',
  coverage: { fresh: 1, total: 1, stale: [] },
  totals: { count: 100, errors: 2, rps: 10, p50: 5, p95: 20, p99: 40 },
  routes: routes.map((r) => ({
    count: 100,
    errors: 0,
    errorRate: 0,
    rps: 1,
    p50: 1,
    p95: 1,
    p99: 1,
    max: 1,
    instances: 1,
    ...r,
  })),
  instances: [],
  outliers: [],
  sources: {},
})

describe('histogram codec', () => {
  it('round-trips the sparse pairs exactly', () => {
    const pairs = [0, 3, 17, 1, 4322, 250, 20000, 1_000_000]
    expect(decodePairs(encodePairs(pairs))).toEqual(pairs)
  })

  it('encodes a route spread over three decades of latency in well under 2 KB', () => {
    const pairs: number[] = []
    for (let i = 1000; i < 6000; i += 8) pairs.push(i, 1 + (i % 97))
    expect(Buffer.byteLength(encodePairs(pairs))).toBeLessThan(2048)
  })

  it('refuses a corrupt payload with an error, not a wrong histogram', () => {
    expect(() => decodePairs('not base64 deflate')).toThrow()
  })

  it('merges two histograms to the percentiles of their union', () => {
    const m = new Merger({ highest: 3_600_000_000, digits: 3 })
    m.add([10, 50])
    m.add([20, 50])
    expect(m.count).toBe(100)
    const [p50, p99] = m.percentiles([50, 99], 1000)
    expect(p50).toBeLessThan(p99 as number)
  })
})

describe('alert rules', () => {
  it('reads metric, threshold in ms, duration and route glob', () => {
    const c = parseCondition('p95 > 300ms for 5m on GET /api/**')
    expect([c.metric, c.op, c.threshold, c.forMs, c.route?.method]).toEqual(['p95', '>', 300, 300_000, 'GET'])
  })

  it('takes seconds and percentages', () => {
    expect(parseCondition('p99 >= 1.5s for 30s').threshold).toBe(1500)
    expect(parseCondition('errorRate > 5% for 1m').threshold).toBe(0.05)
  })

  it('refuses a rule it cannot read with a coded error that shows the grammar', () => {
    expect(() => parseCondition('p95 is slow')).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_FLEET_ALERT' }),
    )
  })

  it('judges the worst matching route and names it', () => {
    const c = parseCondition('p95 > 300ms for 1m on GET /api/**')
    const v = view([
      { route: 'GET /api/a', p95: 100 },
      { route: 'GET /api/b', p95: 500 },
      { route: 'POST /api/b', p95: 900 },
      { route: 'GET /health', p95: 2000 },
    ])
    expect(measure(c, v)).toEqual({ value: 500, route: 'GET /api/b', holds: true })
  })

  it('does not hold when no route matches (no traffic is not an incident)', () => {
    expect(measure(parseCondition('p95 > 1ms for 1m on GET /none'), view([])).holds).toBe(false)
  })

  it('treats a predicate that throws as not holding', () => {
    const c = parseCondition(() => {
      throw new Error('bug')
    })
    expect(measure(c, view([])).holds).toBe(false)
  })
})

describe('1-minute history points', () => {
  const point = (
    at: number,
    rps: number,
    p95: number,
    errorRate: number,
    routes: HistoryPoint['routes'],
  ): HistoryPoint => ({
    at,
    rps,
    p50: p95 / 2,
    p95,
    p99: p95 * 2,
    errorRate,
    s2xx: rps,
    s3xx: 0,
    s4xx: 0,
    s5xx: 0,
    cacheHitRatio: 0.5,
    eventLoopP99: at / 1000,
    cpu: 0.2,
    heapUsed: 100,
    rss: 200,
    coverage: at === 10_000 ? 3 : 4,
    routes,
  })

  it("are made from the minute's 10 s points: means, sums, request-weighted percentiles", () => {
    const m = minuteOf(
      [
        point(0, 10, 10, 0, [['GET /a', 10, 10, 0, 100]]),
        point(10_000, 30, 50, 0.1, [
          ['GET /a', 20, 50, 0.1, 200],
          ['GET /b', 10, 5, 0, 100],
        ]),
      ],
      0,
    )
    expect(m).toMatchObject({ at: 0, rps: 20, p95: 40, p50: 20, p99: 80, s2xx: 20, cpu: 0.2, coverage: 3 })
    expect(m?.errorRate).toBeCloseTo(0.075, 9)
    expect(m?.eventLoopP99).toBe(10)
    // Per route: rps over the minute's points, p95 and error rate weighted by requests, counts summed.
    expect(m?.routes[0]?.[0]).toBe('GET /a')
    expect(m?.routes[0]?.[1]).toBe(15)
    expect(m?.routes[0]?.[2]).toBeCloseTo((10 * 100 + 50 * 200) / 300, 9)
    expect(m?.routes[0]?.[3]).toBeCloseTo((0.1 * 200) / 300, 9)
    expect(m?.routes[0]?.[4]).toBe(300)
    expect(m?.routes[1]).toEqual(['GET /b', 5, 5, 0, 100])
  })

  it('is none for a minute without points, and an idle minute weighs nothing', () => {
    expect(minuteOf([], 0)).toBeNull()
    const m = minuteOf([point(0, 0, 0, 0, []), point(10_000, 0, 0, 0, [])], 0)
    expect(m).toMatchObject({ rps: 0, p95: 0, errorRate: 0, routes: [] })
  })
})

describe('regression detection', () => {
  const point = (at: number, route: string, p95: number, errorRate = 0): HistoryPoint => ({
    at,
    rps: 1,
    p50: 0,
    p95: 0,
    p99: 0,
    errorRate: 0,
    s2xx: 0,
    s3xx: 0,
    s4xx: 0,
    s5xx: 0,
    cacheHitRatio: 0,
    eventLoopP99: 0,
    cpu: 0,
    heapUsed: 0,
    rss: 0,
    coverage: 1,
    routes: [[route, 1, p95, errorRate, 500]],
  })
  const DAY = 86_400_000

  it('uses the same hour of the previous day as the baseline when it has points', () => {
    const at = 10 * DAY
    const points = [
      ...[-20, -10, 0, 10].map((m) => point(at - DAY + m * 60_000, 'GET /x', 100)),
      ...[1, 2, 3].map((h) => point(at - h * 3_600_000, 'GET /x', 500)),
    ]
    expect(baselineOf(points, 'GET /x', at, 5)?.p95).toBe(100)
  })

  it('computes the one-sided z score of a share against its expected rate', () => {
    expect(zScore(5, 100, 0.05)).toBeCloseTo(0, 6)
    expect(zScore(50, 400, 0.05)).toBeGreaterThan(3)
  })

  it('reports a p95 regression only after it has lasted the configured minutes, naming the deploy before it', () => {
    const detector = createRegressionDetector({ minutes: 5, minSamples: 200, minFactor: 1.2 })
    const at0 = 10 * DAY
    const baseline = [-20, -10, 0, 10].map((m) => point(at0 - DAY + m * 60_000, 'GET /x', 100))
    const markers = [{ at: at0 - 60_000, label: 'deploy v2' }]
    const slow = (at: number) => ({ ...view([{ route: 'GET /x', count: 1000, p95: 250 }]), at })
    // 300 of 1,000 requests slower than the baseline p95: z ≈ 36.
    expect(detector.evaluate(slow(at0), baseline, () => 300, markers)).toEqual([])
    const found = detector.evaluate(slow(at0 + 5 * 60_000), baseline, () => 300, markers)
    expect(found).toEqual([
      expect.objectContaining({
        route: 'GET /x',
        metric: 'p95',
        current: 250,
        baseline: 100,
        deploy: 'deploy v2',
      }),
    ])
  })

  it('does not report a difference that is not significant', () => {
    const detector = createRegressionDetector({ minutes: 0, minSamples: 200, minFactor: 1.2 })
    const at = 10 * DAY
    const baseline = [-20, -10, 0, 10].map((m) => point(at - DAY + m * 60_000, 'GET /x', 100))
    // 6% slower than the baseline p95 where 5% are expected: z ≈ 1.45.
    expect(
      detector.evaluate(
        { ...view([{ route: 'GET /x', count: 1000, p95: 130 }]), at },
        baseline,
        () => 60,
        [],
      ),
    ).toEqual([])
  })
})

describe('options', () => {
  it('needs redis, naming what to do without it', () => {
    expect(() => fleet({ app: 'shop', sources: {} } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_FLEET_REDIS' }),
    )
  })

  it('refuses an unknown option with a suggestion', () => {
    expect(() =>
      fleet({ redis: 'redis://127.0.0.1:1', app: 'shop', sources: {}, intervall: '10s' } as never),
    ).toThrow(/Did you mean "interval"/)
  })

  it('refuses an interval past 10 s, whose snapshots would leave closed intervals out', () => {
    expect(() => fleet({ redis: 'redis://127.0.0.1:1', app: 'shop', sources: {}, interval: '30s' })).toThrow(
      expect.objectContaining({
        code: 'ERR_HOTPATH_OPTION',
        message: expect.stringMatching(/at most '10s'/),
      }),
    )
  })

  it('refuses an app name that could break its keys', () => {
    expect(() => fleet({ redis: 'redis://127.0.0.1:1', app: 'a b{c}', sources: {} })).toThrow(/options.app/)
  })
})
