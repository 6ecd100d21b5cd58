import type { Request } from 'express'
import { closeAll, fakeClock, make, matched, recordDirect } from './helpers'

afterEach(closeAll)

function withRoute(durations: number[], status = 200) {
  const clock = fakeClock()
  // eventLoop: false, so a stall of this busy machine cannot add an event-loop finding.
  const prof = make({ clock, eventLoop: false })
  for (const ms of durations) recordDirect(prof, clock, matched('GET', '/report'), ms, status)
  return prof
}

const ids = (prof: ReturnType<typeof make>) => prof.insights().map((i) => `${i.id}:${i.severity}`)

describe('insights', () => {
  it('reports an endpoint averaging over 1000 ms as critical, with its numbers', () => {
    const [insight] = withRoute([1200, 1200, 1200, 1200, 1200]).insights()
    expect(insight).toEqual({
      id: 'slow-endpoint',
      severity: 'critical',
      source: 'profiler',
      title: 'GET /report averages 1200 ms',
      route: 'GET /report',
      evidence: { window: '5m', count: 5, mean: 1200, p95: 1200, p99: 1200 },
      action: expect.stringContaining('cache'),
    })
  })

  it('reports an endpoint averaging over 500 ms as a warning', () => {
    expect(ids(withRoute([600, 600, 600, 600, 600]))).toEqual(['slow-endpoint:warning'])
  })

  it('reports nothing for a route with fewer than 5 requests', () => {
    expect(ids(withRoute([5000, 5000]))).toEqual([])
  })

  it('reports a p99 far above p50', () => {
    const durations = [...Array.from({ length: 98 }, () => 10), 400, 400]
    expect(ids(withRoute(durations))).toEqual(['latency-tail:warning'])
  })

  it('reports a high error rate', () => {
    expect(ids(withRoute([5, 5, 5, 5, 5], 503))).toEqual(['high-error-rate:critical'])
  })

  it('reports N+1 queries and many queries per request', async () => {
    const clock = fakeClock()
    const prof = make({ clock, eventLoop: false })
    const req = matched('GET', '/orders')
    // A request the profiler saw: run through the middleware so the queries are attributed,
    // then ended as Node ends a response, by emitting 'close'.
    let onClose: (() => void) | undefined
    const res = {
      req,
      statusCode: 200,
      headersSent: true,
      writableFinished: true,
      getHeader: () => undefined,
      on(event: string, listener: () => void) {
        if (event === 'close') onClose = listener
        return res
      },
    }
    await new Promise<void>((resolve) => prof(req as Request, res as never, () => resolve()))
    for (let i = 0; i < 6; i++) prof.query(req as Request, `SELECT * FROM line WHERE id = ${i}`, () => 1)
    onClose?.call(res)
    expect(ids(prof).sort()).toEqual(['many-queries:warning', 'n-plus-one:warning'])
    const n1 = prof.insights().find((i) => i.id === 'n-plus-one')
    expect(n1?.evidence).toEqual({
      shape: 'SELECT * FROM line WHERE id = ?',
      count: 6,
      requests: 1,
      threshold: 5,
    })
  })
})
