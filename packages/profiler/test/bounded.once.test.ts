import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { closeAll, fakeClock, make, matched, recordDirect } from './helpers'

afterEach(closeAll)

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

function heapUsed(): number {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe('bounded by design', () => {
  it('records 10^6 requests to distinct unmatched URLs under one unmatched route with a flat heap', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    const record = (i: number) =>
      recordDirect(
        prof,
        clock,
        { method: 'GET', baseUrl: '', url: `/no/such/page/${i}?q=${i}` },
        1 + (i % 50),
        404,
      )
    for (let i = 0; i < 100_000; i++) record(i)
    const before = heapUsed()
    for (let i = 100_000; i < 1_000_000; i++) record(i)
    const growth = heapUsed() - before
    const routes = prof.routes('all')
    expect(routes.map((r) => [r.route, r.count])).toEqual([['unmatched', 1_000_000]])
    // The fake clock spans ~7 h of 10 s intervals: the ring is bounded, the heap does not follow the URLs.
    expect(growth).toBeLessThan(4 * 1024 * 1024)
  })

  it('folds route templates beyond maxRoutes into one other label', () => {
    const clock = fakeClock()
    const prof = make({ clock, maxRoutes: 3 })
    for (let i = 0; i < 10; i++) recordDirect(prof, clock, matched('GET', `/r${i}`), 1)
    const labels = prof
      .routes('all')
      .map((r) => `${r.route}=${r.count}`)
      .sort()
    expect(labels).toEqual(['GET /r0=1', 'GET /r1=1', 'GET /r2=1', 'other=7'])
  })

  it('keeps reporting a route seen before the limit was reached under its own label', () => {
    const clock = fakeClock()
    const prof = make({ clock, maxRoutes: 1 })
    recordDirect(prof, clock, matched('GET', '/first'), 1)
    recordDirect(prof, clock, matched('GET', '/second'), 1)
    recordDirect(prof, clock, matched('GET', '/first'), 1)
    expect(prof.routes('all').map((r) => `${r.route}=${r.count}`)).toEqual(['GET /first=2', 'other=1'])
  })

  it('reports an unknown method as OTHER', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    recordDirect(prof, clock, matched('PROPFIND', '/dav'), 1)
    recordDirect(prof, clock, matched('BREW', '/dav'), 1)
    expect(prof.routes('all').map((r) => [r.route, r.count])).toEqual([['OTHER /dav', 2]])
  })

  it('keeps query shapes beyond maxQueryShapes under one other shape', () => {
    const prof = make({ maxQueryShapes: 2 })
    for (const table of ['a', 'b', 'c', 'd']) prof.query(undefined, `SELECT * FROM ${table}`, () => 1)
    expect(
      prof
        .queries()
        .shapes.map((s) => `${s.shape}=${s.count}`)
        .sort(),
    ).toEqual(['SELECT * FROM a=1', 'SELECT * FROM b=1', 'other=2'])
  })

  it('keeps at most slowRequests entries in each slow-request list', () => {
    const clock = fakeClock()
    const prof = make({ clock, slowRequests: 3, slowThreshold: 100 })
    for (let i = 1; i <= 10; i++) recordDirect(prof, clock, matched('GET', '/s'), 100 + i)
    const report = prof.slowRequests()
    expect(report.slowest.map((s) => s.durationMs)).toEqual([110, 109, 108])
    expect(report.recent.map((s) => s.durationMs)).toEqual([110, 109, 108])
  })
})
