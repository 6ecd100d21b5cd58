import type { Request } from 'express'
import { closeAll, fakeClock, make, matched, recordDirect } from './helpers'

afterEach(closeAll)

describe('query()', () => {
  it('returns the value of a synchronous query', () => {
    expect(make().query(undefined, 'SELECT 1', () => 42)).toBe(42)
  })

  it('resolves to the value of an asynchronous query', async () => {
    await expect(make().query(undefined, 'SELECT 1', async () => 'row')).resolves.toBe('row')
  })

  it('rethrows the very error a synchronous query throws', () => {
    const error = new Error('syntax error')
    let caught: unknown
    try {
      make().query(undefined, 'SELEC 1', () => {
        throw error
      })
    } catch (err) {
      caught = err
    }
    expect(caught).toBe(error)
  })

  it('rejects with the very error an asynchronous query rejects with', async () => {
    const error = new Error('connection reset')
    await expect(
      make().query(undefined, 'SELECT 1', async () => {
        throw error
      }),
    ).rejects.toBe(error)
  })

  it('times a failing query like any other', async () => {
    const prof = make()
    await prof.query(undefined, 'SELECT 1', () => Promise.reject(new Error('x'))).catch(() => undefined)
    expect(prof.queries().shapes.map((s) => [s.shape, s.count])).toEqual([['SELECT ?', 1]])
  })

  // Query shapes keep 2 significant digits, so p50 of 2 ms reads 2.007 (the top of its bucket).
  it('aggregates count, total and percentiles per shape', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    for (let i = 0; i < 100; i++)
      prof.query(undefined, `SELECT * FROM t WHERE id = ${i}`, () => clock.advanceMs(i < 90 ? 2 : 40))
    expect(prof.queries().shapes).toEqual([
      {
        shape: 'SELECT * FROM t WHERE id = ?',
        count: 100,
        totalMs: 580,
        mean: 5.8,
        p50: expect.closeTo(2, 1),
        p95: 40,
        p99: 40,
        max: 40,
        slow: 0,
      },
    ])
  })

  it('lists queries over slowQueryThreshold with their route and shape, never their literals', () => {
    const clock = fakeClock()
    const prof = make({ clock, slowQueryThreshold: '50ms' })
    const req = matched('GET', '/users/:id') as Request
    prof.query(req, "SELECT * FROM users WHERE token = 'tok-123'", () => clock.advanceMs(75))
    prof.query(req, 'SELECT 1', () => clock.advanceMs(5))
    expect(prof.queries().slow).toEqual([
      {
        time: expect.any(String),
        route: 'GET /users/:id',
        shape: 'SELECT * FROM users WHERE token = ?',
        durationMs: 75,
      },
    ])
    expect(JSON.stringify(prof.stats())).not.toContain('tok-123')
  })
})

describe('span()', () => {
  it('returns the value of a synchronous span', () => {
    expect(make().span(undefined, 'render', () => 'html')).toBe('html')
  })

  it('rejects with the very error an asynchronous span rejects with', async () => {
    const error = new Error('template missing')
    await expect(
      make().span({} as Request, 'render', async () => {
        throw error
      }),
    ).rejects.toBe(error)
  })

  it('runs fn untimed for a request the profiler did not see', () => {
    let ran = 0
    make().span({} as Request, 'x', () => ran++)
    expect(ran).toBe(1)
  })
})

describe('slowest()', () => {
  it('orders routes by p99, slowest first, and honours the limit', () => {
    const clock = fakeClock()
    const prof = make({ clock })
    for (const [path, ms] of [
      ['/a', 5],
      ['/b', 50],
      ['/c', 20],
    ] as const) {
      for (let i = 0; i < 3; i++) recordDirect(prof, clock, matched('GET', path), ms)
    }
    expect(prof.slowest(2, 'all').map((r) => [r.route, r.p99])).toEqual([
      ['GET /b', 50],
      ['GET /c', 20],
    ])
  })
})
