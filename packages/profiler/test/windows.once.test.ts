import { closeAll, fakeClock, make, matched, recordDirect } from './helpers'

afterEach(closeAll)

const GET_ITEM = matched('GET', '/items/:id')

describe('rolling windows', () => {
  it('reports requests of the last minute in 1m, 5m, 1h and all', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    for (let i = 0; i < 10; i++) recordDirect(prof, clock, GET_ITEM, 10)
    const w = prof.overview().windows
    expect([w['1m'].count, w['5m'].count, w['1h'].count, w.all.count]).toEqual([10, 10, 10, 10])
  })

  it('drops requests older than a minute from 1m but keeps them in 5m', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    for (let i = 0; i < 4; i++) recordDirect(prof, clock, GET_ITEM, 10)
    clock.advanceSeconds(70)
    recordDirect(prof, clock, GET_ITEM, 10)
    const w = prof.overview().windows
    expect(w['1m'].count).toBe(1)
    expect(w['5m'].count).toBe(5)
  })

  it('drops requests older than five minutes from 5m but keeps them in 1h', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    recordDirect(prof, clock, GET_ITEM, 10)
    clock.advanceSeconds(6 * 60)
    recordDirect(prof, clock, GET_ITEM, 30)
    const w = prof.overview().windows
    expect(w['5m'].count).toBe(1)
    expect(w['5m'].max).toBe(30)
    expect(w['1h'].count).toBe(2)
  })

  it('drops requests older than an hour from 1h but keeps them in all', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    recordDirect(prof, clock, GET_ITEM, 10)
    clock.advanceSeconds(61 * 60)
    recordDirect(prof, clock, GET_ITEM, 10)
    const w = prof.overview().windows
    expect(w['1h'].count).toBe(1)
    expect(w.all.count).toBe(2)
  })

  it('expires a window when the clock moves on with no traffic at all', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    recordDirect(prof, clock, GET_ITEM, 10)
    clock.advanceSeconds(61)
    expect(prof.overview().windows['1m'].count).toBe(0)
    expect(prof.routes('1m')).toEqual([])
    expect(prof.routes('all')[0]?.count).toBe(1)
  })

  it('keeps the percentiles of closed intervals exact after they rotate into the ring', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    for (let i = 0; i < 50; i++) recordDirect(prof, clock, GET_ITEM, 20)
    clock.advanceSeconds(15)
    for (let i = 0; i < 50; i++) recordDirect(prof, clock, GET_ITEM, 200)
    clock.advanceSeconds(15)
    const r = prof.routes('5m')[0]
    expect(r?.count).toBe(100)
    expect(r?.p50).toBeCloseTo(20, 1)
    expect(r?.p90).toBeCloseTo(200, 0)
    // Since start is kept at 2 significant digits: within 1%.
    const all = prof.routes('all')[0]?.p50 as number
    expect(Math.abs(all - 20) / 20).toBeLessThanOrEqual(0.01)
  })

  it('keeps a request 50 minutes old in the 1h window', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    recordDirect(prof, clock, GET_ITEM, 10)
    clock.advanceSeconds(50 * 60)
    recordDirect(prof, clock, GET_ITEM, 10)
    const w = prof.overview().windows
    expect([w['5m'].count, w['1h'].count]).toEqual([1, 2])
  })

  it('computes requests per second over the time the window covers', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    // 120 requests spread over 120 s: 1 per second.
    for (let i = 0; i < 120; i++) {
      recordDirect(prof, clock, GET_ITEM, 1)
      clock.advanceMs(999)
    }
    const w = prof.overview().windows
    expect(w.all.rps).toBeCloseTo(1, 2)
    expect(w['1m'].rps).toBeCloseTo(1, 1)
  })

  it('counts 5xx responses as errors in the error rate', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    for (let i = 0; i < 3; i++) recordDirect(prof, clock, GET_ITEM, 5, 200)
    recordDirect(prof, clock, GET_ITEM, 5, 503)
    const r = prof.routes('1m')[0]
    expect(r?.errors).toBe(1)
    expect(r?.errorRate).toBe(0.25)
    expect(r?.statusClasses).toEqual({ '1xx': 0, '2xx': 3, '3xx': 0, '4xx': 0, '5xx': 1 })
  })

  it('rejects an unknown window with a coded error', () => {
    const prof = make()
    expect(() => prof.routes('2m' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_PROFILER_WINDOW' }),
    )
  })
})

describe('percentiles of routes with known delays', () => {
  // 900 requests at 20 ms and 100 at 200 ms: p50 = 20, p90 = 20, p95 = p99 = p99.9 = max = 200.
  function known() {
    const clock = fakeClock()
    const prof = make({ clock })
    const fast = matched('GET', '/fast')
    const slow = matched('GET', '/slow')
    for (let i = 0; i < 1000; i++) {
      recordDirect(prof, clock, fast, 20)
      recordDirect(prof, clock, i % 10 === 0 ? slow : fast, i % 10 === 0 ? 200 : 20)
    }
    return prof
  }

  const within1 = (actual: number | undefined, expected: number) => {
    expect(actual).toBeDefined()
    expect(Math.abs((actual as number) - expected) / expected).toBeLessThanOrEqual(0.01)
  }

  it('reports p50, p90, p99 and max of a 20 ms route within 1%', () => {
    const r = known()
      .routes('all')
      .find((x) => x.route === 'GET /fast')
    expect(r?.count).toBe(1900)
    for (const p of [r?.p50, r?.p90, r?.p99, r?.p999, r?.max, r?.mean]) within1(p, 20)
  })

  it('reports the percentiles of a 200 ms route within 1%', () => {
    const r = known()
      .routes('all')
      .find((x) => x.route === 'GET /slow')
    expect(r?.count).toBe(100)
    for (const p of [r?.p50, r?.p95, r?.p99, r?.max, r?.mean]) within1(p, 200)
  })

  it('reports the percentiles of a mixed distribution within 1%', () => {
    const w = known().overview().windows.all
    // 1900 + 900 fast, 100 slow of 2000: p95 = 20 (96.5% are fast), p99 = 200.
    expect(w.count).toBe(2000)
    within1(w.p50, 20)
    within1(w.p95, 20)
    within1(w.p99, 200)
    within1(w.mean, (1900 * 20 + 100 * 200) / 2000)
  })
})
