import { Float64Histogram } from 'hdr-histogram-js'
import { closeAll, fakeClock, make, matched, recordDirect } from './helpers'

afterEach(closeAll)

/** The requests counted by `[index, count, …]` pairs, and the value (µs) of their largest bucket. */
function summary(pairs: number[]): { count: number; topUs: number } {
  const layout = new Float64Histogram(1, 3_600_000_000, 3)
  let count = 0
  let top = 0
  for (let i = 0; i < pairs.length; i += 2) {
    count += pairs[i + 1] as number
    top = pairs[i] as number
  }
  return { count, topUs: layout.valueFromIndex(top) }
}

describe('histograms() for exporters', () => {
  it("'1m' holds the open interval too; '10s' only the last closed one, once it has closed", () => {
    const clock = fakeClock()
    const prof = make({ clock, eventLoop: false })
    for (let i = 0; i < 5; i++) recordDirect(prof, clock, matched('GET', '/a'), 20)
    expect(prof.histograms('1m').map((h) => [h.route, h.count])).toEqual([['GET /a', 5]])
    // Still in its first 10 s: nothing has closed.
    expect(prof.histograms('10s')).toEqual([])
    clock.advanceSeconds(10)
    recordDirect(prof, clock, matched('GET', '/a'), 300)
    const [closed] = prof.histograms('10s')
    expect(closed).toMatchObject({ route: 'GET /a', seconds: 10, count: 5, errors: 0, digits: 3 })
    expect(closed?.sumMs).toBeCloseTo(100, 6)
    expect(closed?.maxMs).toBeCloseTo(20, 6)
    const s = summary(closed?.pairs ?? [])
    expect(s.count).toBe(5)
    // 20 ms, to 3 significant digits.
    expect(Math.abs(s.topUs - 20_000)).toBeLessThanOrEqual(20)
    // The next interval closes: it holds the 300 ms request alone.
    clock.advanceSeconds(10)
    expect(prof.histograms('10s').map((h) => [h.route, h.count, h.maxMs])).toEqual([['GET /a', 1, 300]])
    // An interval with no request closes: the route is not in it.
    clock.advanceSeconds(10)
    expect(prof.histograms('10s')).toEqual([])
    expect(prof.histograms('1m').map((h) => [h.route, h.count])).toEqual([['GET /a', 6]])
  })

  it("'10s' sums a route's status classes and methods' series, and errors", () => {
    const clock = fakeClock()
    const prof = make({ clock, eventLoop: false })
    recordDirect(prof, clock, matched('GET', '/b'), 5, 200)
    recordDirect(prof, clock, matched('GET', '/b'), 5, 500)
    recordDirect(prof, clock, matched('GET', '/b'), 5, 404)
    clock.advanceSeconds(10)
    const [h] = prof.histograms('10s')
    expect(h).toMatchObject({ route: 'GET /b', count: 3, errors: 1 })
    expect(summary(h?.pairs ?? []).count).toBe(3)
  })
})
