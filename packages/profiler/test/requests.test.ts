import { createServer, request as httpRequest } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { NextFunction, Request, Response } from 'express'
import supertest from 'supertest'
import { express } from '../../../test/helpers/express'
import { closeAll, type FakeClock, fakeClock, make, until } from './helpers'

afterEach(closeAll)

type App = ReturnType<typeof express>

async function listen(app: App): Promise<{ url: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** Opens a request, waits until the handler has started, then drops the connection. */
function abortAfterStart(url: string, path: string, started: Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    const req = httpRequest(`${url}${path}`)
    req.on('error', () => resolve())
    req.end()
    void started.then(() => {
      req.destroy()
      resolve()
    })
  })
}

const totalOf = (prof: ReturnType<typeof make>) => prof.routes('all').reduce((n, r) => n + r.count, 0)

describe('route labels', () => {
  it('records a request under its routeOf label through a nested router', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    const router = express.Router()
    router.get('/:id', (_req, res) => {
      res.json({ ok: true })
    })
    app.use('/api/products', router)
    await supertest(app).get('/api/products/42').expect(200)
    await supertest(app).get('/api/products/43').expect(200)
    await until(() => totalOf(prof) === 2)
    expect(prof.routes('all').map((r) => [r.route, r.count])).toEqual([['GET /api/products/:id', 2]])
  })

  it('records requests no route answered under one unmatched label', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    for (let i = 0; i < 20; i++) await supertest(app).get(`/missing/${i}?token=${i}`).expect(404)
    await until(() => totalOf(prof) === 20)
    expect(prof.routes('all').map((r) => [r.route, r.count, r.statusClasses['4xx']])).toEqual([
      ['unmatched', 20, 20],
    ])
  })
})

describe('each request is recorded exactly once', () => {
  it('records a handler that throws once, as errored with status 500', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    app.get('/throw', () => {
      throw new Error('boom')
    })
    app.use((_err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      res.status(500).send('failed')
    })
    for (let i = 0; i < 3; i++) await supertest(app).get('/throw').expect(500)
    await until(() => totalOf(prof) >= 3)
    const r = prof.routes('all')[0]
    expect([r?.route, r?.count, r?.errors, r?.outcomes.errored]).toEqual(['GET /throw', 3, 3, 3])
  })

  it('records a request passed to next(err) once, as errored', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    app.get('/next', (_req, _res, next) => next(new Error('db down')))
    for (let i = 0; i < 4; i++) await supertest(app).get('/next').expect(500)
    await until(() => totalOf(prof) >= 4)
    await new Promise((resolve) => setTimeout(resolve, 20))
    const r = prof.routes('all')[0]
    expect([r?.route, r?.count, r?.outcomes]).toEqual([
      'GET /next',
      4,
      { finished: 0, aborted: 0, errored: 4, streaming: 0 },
    ])
  })

  it('records a request the client aborts once, as aborted with status 499', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    let entered = () => {}
    const started = new Promise<void>((resolve) => {
      entered = resolve
    })
    const handlerDone: Array<Promise<void>> = []
    app.get('/slow', (req, res) => {
      entered()
      // Answers after the client left: the late response must not be recorded again.
      handlerDone.push(
        new Promise<void>((resolve) =>
          req.socket.once('close', () => {
            res.send('late')
            resolve()
          }),
        ),
      )
    })
    const server = await listen(app)
    try {
      await abortAfterStart(server.url, '/slow', started)
      await until(() => totalOf(prof) === 1)
      await Promise.all(handlerDone)
      await new Promise((resolve) => setTimeout(resolve, 20))
      const r = prof.routes('all')[0]
      expect([r?.route, r?.count, r?.outcomes.aborted, r?.statusClasses['4xx']]).toEqual([
        'GET /slow',
        1,
        1,
        1,
      ])
    } finally {
      await server.close()
    }
  })

  it('records a server-sent-events stream once, as streaming, when the client disconnects', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    let entered = () => {}
    const started = new Promise<void>((resolve) => {
      entered = resolve
    })
    app.get('/events', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
      res.write('data: hello\n\n')
      entered()
    })
    const server = await listen(app)
    try {
      await abortAfterStart(server.url, '/events', started)
      await until(() => totalOf(prof) === 1)
      await new Promise((resolve) => setTimeout(resolve, 20))
      const r = prof.routes('all')[0]
      expect([r?.route, r?.count, r?.outcomes.streaming, r?.statusClasses['2xx']]).toEqual([
        'GET /events',
        1,
        1,
        1,
      ])
    } finally {
      await server.close()
    }
  })

  it('records as many requests as were sent, across outcomes', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    app.get('/ok', (_req, res) => {
      res.send('ok')
    })
    app.get('/fail', (_req, _res, next) => next(new Error('x')))
    const sent = 25
    for (let i = 0; i < sent; i++) await supertest(app).get(i % 5 === 0 ? '/fail' : '/ok')
    await until(() => totalOf(prof) >= sent)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(totalOf(prof)).toBe(sent)
    expect(prof.overview().windows.all.count).toBe(sent)
  })
})

describe('timing', () => {
  function timedApp(clock: FakeClock, prof: ReturnType<typeof make>): App {
    const app = express()
    app.use(prof)
    app.get('/fast', (_req, res) => {
      clock.advanceMs(20)
      res.send('fast')
    })
    app.get('/slow', (_req, res) => {
      clock.advanceMs(200)
      res.send('slow')
    })
    return app
  }

  it('measures a 20 ms and a 200 ms handler within 1% over real requests', async () => {
    const clock = fakeClock()
    const prof = make({ clock })
    const app = timedApp(clock, prof)
    for (let i = 0; i < 10; i++) {
      await supertest(app).get('/fast').expect(200)
      await supertest(app).get('/slow').expect(200)
    }
    await until(() => totalOf(prof) === 20)
    const byRoute = Object.fromEntries(prof.routes('all').map((r) => [r.route, r]))
    expect(byRoute['GET /fast']?.p50).toBeGreaterThanOrEqual(20)
    expect(byRoute['GET /fast']?.p99).toBeLessThanOrEqual(20.2)
    expect(byRoute['GET /slow']?.p50).toBeGreaterThanOrEqual(200)
    expect(byRoute['GET /slow']?.p99).toBeLessThanOrEqual(202)
  })

  it('lists a request over slowThreshold with its method, route, status and spans, and no URL', async () => {
    const clock = fakeClock()
    const prof = make({ clock, slowThreshold: '100ms' })
    const app = express()
    app.use(prof)
    app.get('/report/:id', async (req, res) => {
      await prof.span(req, 'render', async () => clock.advanceMs(150))
      res.send('done')
    })
    await supertest(app).get('/report/7?secret=s3cr3t').expect(200)
    await until(() => totalOf(prof) === 1)
    const { recent, slowest } = prof.slowRequests()
    expect(recent).toEqual([
      {
        time: expect.any(String),
        method: 'GET',
        route: 'GET /report/:id',
        status: 200,
        outcome: 'finished',
        durationMs: 150,
        spans: [{ name: 'render', durationMs: 150 }],
      },
    ])
    expect(slowest).toEqual(recent)
    expect(JSON.stringify(prof.stats())).not.toContain('s3cr3t')
  })
})

describe('Server-Timing', () => {
  it('sends total and each span when serverTiming is on', async () => {
    const clock = fakeClock()
    const prof = make({ clock, serverTiming: true })
    const app = express()
    app.use(prof)
    app.get('/page', async (req, res) => {
      await prof.span(req, 'db', async () => clock.advanceMs(12.5))
      prof.span(req, 'render view', () => clock.advanceMs(3))
      res.send('page')
    })
    const res = await supertest(app).get('/page').expect(200)
    expect(res.headers['server-timing']).toBe('total;dur=15.5, db;dur=12.5, render_view;dur=3')
  })

  it('sends no Server-Timing header by default', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    app.get('/page', (_req, res) => {
      res.send('page')
    })
    const res = await supertest(app).get('/page').expect(200)
    expect(res.headers['server-timing']).toBeUndefined()
  })

  it('appends to a Server-Timing header the route already set', async () => {
    const clock = fakeClock()
    const prof = make({ clock, serverTiming: true })
    const app = express()
    app.use(prof)
    app.get('/page', (_req, res) => {
      clock.advanceMs(2)
      res.set('Server-Timing', 'cache;desc="hit"').send('page')
    })
    const res = await supertest(app).get('/page').expect(200)
    expect(res.headers['server-timing']).toBe('cache;desc="hit", total;dur=2')
  })
})

describe('safety', () => {
  it('stores no header value, query string or body of a failing request with credentials', async () => {
    const prof = make({ slowThreshold: 0, registry: undefined })
    const app = express()
    app.use(prof)
    app.post('/login', (req, _res, next) => {
      void prof.query(req, "SELECT * FROM users WHERE password = 'hunter2-body'", () => 1)
      next(new Error('denied'))
    })
    await supertest(app)
      .post('/login?api_key=qs-secret-123')
      .set('Authorization', 'Bearer auth-secret-xyz')
      .set('Cookie', 'sid=cookie-secret-abc')
      .send({ password: 'hunter2-body' })
      .expect(500)
    await until(() => totalOf(prof) === 1)
    const text = JSON.stringify(prof.stats()) + (await prof.registry?.metrics?.())
    for (const secret of [
      'auth-secret-xyz',
      'cookie-secret-abc',
      'qs-secret-123',
      'hunter2-body',
      'Bearer',
      'sid=',
    ]) {
      expect(text).not.toContain(secret)
    }
    expect(prof.slowRequests().recent[0]?.route).toBe('POST /login')
  })
})

describe('queries and spans in a request', () => {
  it('flags a request running one query shape nPlusOneThreshold times with its route and count', async () => {
    const prof = make({ nPlusOneThreshold: 3 })
    const app = express()
    app.use(prof)
    app.get('/orders', async (req, res) => {
      for (let id = 1; id <= 4; id++)
        await prof.query(req, `SELECT * FROM items WHERE order_id = ${id}`, async () => id)
      res.send('ok')
    })
    await supertest(app).get('/orders').expect(200)
    await supertest(app).get('/orders').expect(200)
    await until(() => totalOf(prof) === 2)
    expect(prof.queries().nPlusOne).toEqual([
      {
        route: 'GET /orders',
        shape: 'SELECT * FROM items WHERE order_id = ?',
        count: 4,
        requests: 2,
        lastSeen: expect.any(String),
        severity: 'warning',
        consecutive: 4,
        totalMs: expect.any(Number),
        callSites: [expect.stringMatching(/^packages\/profiler\/test\/requests\.test\.ts:\d+:\d+$/)],
        driver: 'custom',
        hint: expect.stringContaining('Batch the lookups'),
      },
    ])
  })

  it('does not flag a request running a shape fewer than nPlusOneThreshold times', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    app.get('/few', (req, res) => {
      for (let id = 1; id <= 4; id++) prof.query(req, 'SELECT 1 FROM t WHERE id = $1', () => id)
      res.send('ok')
    })
    await supertest(app).get('/few').expect(200)
    await until(() => totalOf(prof) === 1)
    expect(prof.queries().nPlusOne).toEqual([])
  })

  it('reports queries per request per route', async () => {
    const prof = make()
    const app = express()
    app.use(prof)
    app.get('/list', (req, res) => {
      prof.query(req, 'SELECT * FROM a', () => 1)
      prof.query(req, 'SELECT * FROM b', () => 1)
      prof.query(req, 'SELECT * FROM c WHERE x = 1', () => 1)
      res.send('ok')
    })
    for (let i = 0; i < 3; i++) await supertest(app).get('/list').expect(200)
    await until(() => totalOf(prof) === 3)
    expect(prof.queries().perRoute).toEqual([
      { route: 'GET /list', requests: 3, queriesPerRequest: 3, p50: 3, p95: 3, max: 3 },
    ])
  })
})

describe('instances', () => {
  it('keeps two profilers on one app fully independent', async () => {
    const a = make()
    const b = make()
    const app = express()
    app.use(a)
    app.get('/a', (_req, res) => {
      res.send('a')
    })
    app.use(b)
    app.get('/b', (_req, res) => {
      res.send('b')
    })
    await supertest(app).get('/a').expect(200)
    await supertest(app).get('/b').expect(200)
    await until(() => totalOf(a) === 2 && totalOf(b) === 1)
    expect(
      a
        .routes('all')
        .map((r) => r.route)
        .sort(),
    ).toEqual(['GET /a', 'GET /b'])
    expect(b.routes('all').map((r) => r.route)).toEqual(['GET /b'])
  })
})

describe('seeing the end of every response', () => {
  it('records requests answered inside a mounted sub-app, and a profiler mounted in the sub-app', async () => {
    const outer = make()
    const inner = make()
    const app = express()
    const sub = express()
    app.use(outer)
    sub.use(inner)
    sub.get('/items/:id', (_req, res) => {
      res.json({ ok: true })
    })
    app.use('/shop', sub)
    app.get('/home', (_req, res) => {
      res.send('home')
    })
    for (let i = 0; i < 3; i++) await supertest(app).get(`/shop/items/${i}`).expect(200)
    await supertest(app).get('/home').expect(200)
    // A request the sub-app does not answer goes back to the parent with its prototype.
    await supertest(app).get('/shop/missing').expect(404)
    await until(() => totalOf(outer) === 5 && totalOf(inner) === 4)
    expect(outer.routes('all').map((r) => [r.route, r.count])).toEqual(
      expect.arrayContaining([
        ['GET /shop/items/:id', 3],
        ['GET /home', 1],
      ]),
    )
    expect(totalOf(inner)).toBe(4)
  })

  it('records requests of a plain node:http server and of a response whose emit was replaced', async () => {
    const prof = make()
    const server = createServer((req, res) => {
      prof(req as Request, res as unknown as Response, () => {
        res.end('plain')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const app = express()
    app.use((_req: Request, res: Response, next: NextFunction) => {
      const emit = res.emit
      res.emit = function wrapped(this: Response, ...args: Parameters<Response['emit']>) {
        return emit.apply(this, args)
      } as Response['emit']
      next()
    })
    app.use(prof)
    app.get('/wrapped', (_req, res) => {
      res.send('wrapped')
    })
    try {
      await supertest(`http://127.0.0.1:${port}`).get('/a').expect(200, 'plain')
      await supertest(`http://127.0.0.1:${port}`).get('/b').expect(200, 'plain')
      await supertest(app).get('/wrapped').expect(200, 'wrapped')
      await until(() => totalOf(prof) === 3)
      expect(totalOf(prof)).toBe(3)
      expect(prof.routes('all').find((r) => r.route === 'GET /wrapped')?.count).toBe(1)
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('records each request once when two profilers watch the same app', async () => {
    const a = make()
    const b = make()
    const app = express()
    app.use(a)
    app.use(b)
    app.get('/x', (_req, res) => {
      res.send('x')
    })
    for (let i = 0; i < 4; i++) await supertest(app).get('/x').expect(200)
    await until(() => totalOf(a) === 4 && totalOf(b) === 4)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect([totalOf(a), totalOf(b)]).toEqual([4, 4])
  })
})

describe("N+1 severity (Sentry's rule) and slow routes", () => {
  function appWith(clock: FakeClock, pattern: 'consecutive' | 'interleaved', msPerQuery: number) {
    const prof = make({ clock, eventLoop: false })
    const app = express()
    app.use(prof)
    app.get('/report', async (req, res) => {
      for (let i = 0; i < 5; i++) {
        await prof.query(req, 'SELECT * FROM lines WHERE report_id = $1', async () =>
          clock.advanceMs(msPerQuery),
        )
        if (pattern === 'interleaved')
          await prof.query(req, 'SELECT * FROM notes WHERE line_id = $1', async () => 0)
      }
      res.send('ok')
    })
    return { prof, app }
  }
  const severityOf = (prof: ReturnType<typeof make>) =>
    prof.queries().nPlusOne.find((f) => f.shape.includes('lines'))?.severity

  it('marks an N+1 critical when 5 consecutive runs of its shape take 50 ms or more in total', async () => {
    const clock = fakeClock()
    const { prof, app } = appWith(clock, 'consecutive', 12)
    await supertest(app).get('/report').expect(200)
    await until(() => prof.queries().nPlusOne.length === 1)
    expect(prof.queries().nPlusOne[0]).toMatchObject({ severity: 'critical', consecutive: 5, count: 5 })
    expect(prof.queries().nPlusOne[0]?.totalMs).toBeGreaterThanOrEqual(60)
  })

  it('keeps an N+1 a warning when its runs are not consecutive', async () => {
    const clock = fakeClock()
    const { prof, app } = appWith(clock, 'interleaved', 12)
    await supertest(app).get('/report').expect(200)
    await until(() => prof.queries().nPlusOne.length === 2)
    expect(severityOf(prof)).toBe('warning')
  })

  it('keeps an N+1 a warning when 5 consecutive runs take under 50 ms', async () => {
    const clock = fakeClock()
    const { prof, app } = appWith(clock, 'consecutive', 2)
    await supertest(app).get('/report').expect(200)
    await until(() => prof.queries().nPlusOne.length === 1)
    expect(severityOf(prof)).toBe('warning')
  })

  it('reports an N+1 on a route whose p95 is 100 ms or more as an insight of its own', async () => {
    const clock = fakeClock()
    const { prof, app } = appWith(clock, 'consecutive', 25)
    await supertest(app).get('/report').expect(200)
    await until(() => prof.queries().nPlusOne.length === 1)
    const insight = prof.insights().find((i) => i.id === 'n-plus-one-slow-route')
    expect(insight).toMatchObject({
      severity: 'critical',
      route: 'GET /report',
      evidence: { shape: 'SELECT * FROM lines WHERE report_id = ?', count: 5 },
    })
    expect(insight?.action).toContain('Batch the lookups')
  })
})
