import request from 'supertest'
import {
  appWith,
  BEARER,
  cacheSource,
  cacheStats,
  compressionStats,
  MOUNTS,
  memoryLogger,
  overview,
  profilerSource,
  rateLimitStats,
  route,
} from './fixtures'

describe.each(MOUNTS)('JSON endpoints, $name', ({ base }) => {
  const app = appWith(base)
  const get = (path: string) => request(app).get(`${base}${path}`).set('Authorization', BEARER)

  it('GET /cache/stats returns the cache stats under schema 1', async () => {
    const res = await get('/cache/stats')
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.body.schema).toBe(1)
    expect(res.body.cache).toEqual(cacheStats())
    expect(Number.isNaN(Date.parse(res.body.generatedAt))).toBe(false)
  })

  it('GET /compression/stats returns the compression stats', async () => {
    const res = await get('/compression/stats')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ schema: 1, compression: compressionStats() })
  })

  it('GET /ratelimit/stats returns the rate-limit stats', async () => {
    const res = await get('/ratelimit/stats')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ schema: 1, rateLimit: rateLimitStats() })
  })

  it('GET /profile/overview returns the profiler overview', async () => {
    const res = await get('/profile/overview')
    expect(res.status).toBe(200)
    expect(res.body.schema).toBe(1)
    expect(Object.keys(res.body.overview.windows)).toEqual(['1m', '5m', '1h', 'all'])
    expect(res.body.overview.windows['5m'].p95).toBe(25)
  })

  it('GET /profile/slowest returns the slowest routes, slowest first, with the default window and limit', async () => {
    const res = await get('/profile/slowest')
    expect(res.status).toBe(200)
    expect(res.body.window).toBe('5m')
    expect(res.body.limit).toBe(10)
    expect(res.body.routes.map((r: { route: string }) => r.route)).toEqual([
      'GET /api/products/:id',
      'GET /api/products',
    ])
  })

  it('GET /profile/slowest honours ?window and ?limit', async () => {
    const res = await get('/profile/slowest?window=1h&limit=1')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ window: '1h', limit: 1 })
    expect(res.body.routes).toHaveLength(1)
  })

  it('GET /query/optimization returns the query report', async () => {
    const res = await get('/query/optimization')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      schema: 1,
      queries: { shapes: [], slow: [], nPlusOne: [], perRoute: [] },
    })
  })

  it('GET /profile/insights returns the merged insights and a status', async () => {
    const res = await get('/profile/insights')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ schema: 1, window: '5m', status: 'healthy', insights: [], errors: [] })
  })

  it('GET /dashboard returns every section in one document', async () => {
    const res = await get('/dashboard')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      schema: 1,
      status: 'healthy',
      window: '5m',
      pollMs: 2000,
      auth: 'token',
      sources: { cache: true, compression: true, profiler: true, rateLimit: true },
      cache: cacheStats(),
      compression: compressionStats(),
      rateLimit: rateLimitStats(),
      insights: [],
      errors: [],
    })
    expect(res.body.slowest).toHaveLength(2)
    expect(res.body.overview.uptimeSeconds).toBe(60)
  })

  it('HEAD /dashboard answers 200 without a body', async () => {
    const res = await request(app).head(`${base}/dashboard`).set('Authorization', BEARER)
    expect(res.status).toBe(200)
    expect(res.text).toBeUndefined()
  })

  it.each(['/cache/stats', '/dashboard', '/metrics', '/profile/slowest'])(
    'DELETE %s answers 405 with Allow: GET, HEAD',
    async (path) => {
      const res = await request(app).delete(`${base}${path}`).set('Authorization', BEARER)
      expect(res.status).toBe(405)
      expect(res.headers.allow).toBe('GET, HEAD')
    },
  )

  it('an unknown path under the mount answers 404 JSON', async () => {
    const res = await get('/nope')
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ schema: 1, error: 'not_found', message: 'No such dashboard endpoint.' })
  })
})

describe.each(MOUNTS)('query validation, $name', ({ base }) => {
  const app = appWith(base)
  const get = (path: string) => request(app).get(`${base}${path}`).set('Authorization', BEARER)

  it.each([
    ['/profile/slowest?window=2m', 'window must be one of 1m, 5m, 1h, all'],
    ['/profile/slowest?window=', 'window must be one of 1m, 5m, 1h, all'],
    ['/profile/slowest?window=5m&window=1h', 'window must be one of 1m, 5m, 1h, all'],
    ['/profile/slowest?limit=0', 'limit must be a whole number from 1 to 100'],
    ['/profile/slowest?limit=101', 'limit must be a whole number from 1 to 100'],
    ['/profile/slowest?limit=1.5', 'limit must be a whole number from 1 to 100'],
    ['/profile/slowest?limit=-1', 'limit must be a whole number from 1 to 100'],
    ['/profile/slowest?limit=ten', 'limit must be a whole number from 1 to 100'],
    ['/dashboard?window=all%00', 'window must be one of 1m, 5m, 1h, all'],
    ['/dashboard?limit=1e2', 'limit must be a whole number from 1 to 100'],
    ['/profile/insights?window=week', 'window must be one of 1m, 5m, 1h, all'],
  ])('GET %s answers 400 with a message', async (path, message) => {
    const res = await get(path)
    expect(res.status).toBe(400)
    expect(res.body).toEqual({ schema: 1, error: 'bad_request', message })
  })

  it('passes the validated window and limit to the profiler', async () => {
    const { source, calls } = profilerSource()
    const own = appWith(base, { sources: { profiler: source } })
    await request(own).get(`${base}/dashboard?window=1m&limit=3`).set('Authorization', BEARER).expect(200)
    expect(calls).toEqual([
      { method: 'routes', args: ['1m'] },
      { method: 'slowest', args: [3, '1m'] },
    ])
  })
})

describe.each(MOUNTS)('missing sources, $name', ({ base }) => {
  const app = appWith(base, { sources: {} })
  const get = (path: string) => request(app).get(`${base}${path}`).set('Authorization', BEARER)

  it.each([
    ['/cache/stats', 'No cache source: pass sources.cache (a @hotpath/response-cache instance).'],
    [
      '/compression/stats',
      'No compression source: pass sources.compression (a @hotpath/compression instance).',
    ],
    ['/ratelimit/stats', 'No rate-limit source: pass sources.rateLimit (a @hotpath/rate-limit instance).'],
    ['/profile/overview', 'No profiler source: pass sources.profiler (a @hotpath/profiler instance).'],
    ['/profile/slowest', 'No profiler source: pass sources.profiler (a @hotpath/profiler instance).'],
    ['/query/optimization', 'No profiler source: pass sources.profiler (a @hotpath/profiler instance).'],
  ])('GET %s answers 404', async (path, message) => {
    const res = await get(path)
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ schema: 1, error: 'not_found', message })
  })

  it('POST /cache/clear answers 404 without a cache source', async () => {
    const res = await request(app)
      .post(`${base}/cache/clear`)
      .set('Authorization', BEARER)
      .send({ all: true })
    expect(res.status).toBe(404)
  })

  it('GET /dashboard still answers, with null sections', async () => {
    const res = await get('/dashboard')
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({
      status: 'healthy',
      sources: { cache: false, compression: false, profiler: false, rateLimit: false },
      overview: null,
      slowest: null,
      queries: null,
      cache: null,
      compression: null,
      rateLimit: null,
    })
  })

  it('GET /dashboard with only a cache source fills only the cache section', async () => {
    const only = appWith(base, {
      sources: { cache: { name: 'c', stats: cacheStats, invalidate: async () => 0, clear: async () => {} } },
    })
    const res = await request(only).get(`${base}/dashboard`).set('Authorization', BEARER)
    expect(res.body.cache).toEqual(cacheStats())
    expect(res.body.overview).toBeNull()
  })
})

describe('a source that throws', () => {
  const broken = {
    name: 'compression',
    stats: (): ReturnType<typeof compressionStats> => {
      throw new Error('boom')
    },
  }

  it('GET /dashboard reports it in errors and keeps the other sections', async () => {
    const { logger, lines } = memoryLogger()
    const app = appWith('', { sources: { compression: broken, profiler: profilerSource().source }, logger })
    const res = await request(app).get('/dashboard').set('Authorization', BEARER)
    expect(res.status).toBe(200)
    expect(res.body.errors).toEqual([{ source: 'compression', message: 'boom' }])
    expect(res.body.compression).toBeNull()
    expect(res.body.slowest).toHaveLength(2)
    expect(lines).toEqual([
      '[ERR_HOTPATH_DASHBOARD_SOURCE_compression] @hotpath/dashboard: compression failed; its section is empty.',
    ])
  })

  it('GET /compression/stats passes the error to next(err)', async () => {
    const app = appWith('', { sources: { compression: broken } })
    const seen: unknown[] = []
    app.use((err: unknown, _req: unknown, res: { status(n: number): { end(): void } }, _next: unknown) => {
      seen.push(err)
      res.status(500).end()
    })
    const res = await request(app).get('/compression/stats').set('Authorization', BEARER)
    expect(res.status).toBe(500)
    expect((seen[0] as Error).message).toBe('boom')
  })
})

describe('slowest with more routes than the limit', () => {
  it('cuts the list at limit even if the source returns more', async () => {
    const many = Array.from({ length: 30 }, (_, i) => route(`GET /r${i}`, { p95: i }))
    const { source } = profilerSource({ routes: many })
    const app = appWith('', { sources: { profiler: { ...source, slowest: () => many } } })
    const res = await request(app).get('/profile/slowest?limit=5').set('Authorization', BEARER)
    expect(res.body.routes).toHaveLength(5)
  })
})

describe('insights and status in the JSON', () => {
  const fromProfiler = {
    id: 'slow-endpoint',
    severity: 'warning' as const,
    source: 'profiler',
    title: 'GET /api/report is slow',
    route: 'GET /api/report',
    evidence: { p95Ms: 900 },
    action: 'Profile it.',
  }

  it("/profile/insights merges the profiler's findings with the cross-package ones", async () => {
    const { source } = profilerSource({
      insights: [fromProfiler],
      routes: [route('GET /api/report', { p95: 900, count: 50 })],
    })
    const app = appWith('', {
      sources: { profiler: source, cache: cacheSource(cacheStats({ routes: {} })).source },
    })
    const res = await request(app).get('/profile/insights').set('Authorization', BEARER)
    expect(res.body.status).toBe('warning')
    expect(res.body.insights.map((i: { id: string; source: string }) => `${i.source}:${i.id}`)).toEqual([
      'profiler:slow-endpoint',
      'dashboard:slow-uncached-route',
    ])
  })

  it('/dashboard is critical when a critical finding exists', async () => {
    const { source } = profilerSource({
      overview: overview({ eventLoop: { mean: 300, p50: 300, p99: 800, max: 900 } }),
    })
    const app = appWith('', { sources: { profiler: source } })
    const res = await request(app).get('/dashboard').set('Authorization', BEARER)
    expect(res.body.status).toBe('critical')
    expect(res.body.insights[0]).toMatchObject({ id: 'event-loop-delay', severity: 'critical' })
  })

  it('insights thresholds come from options.insights', async () => {
    const { source } = profilerSource({
      overview: overview({ eventLoop: { mean: 30, p50: 30, p99: 60, max: 90 } }),
    })
    const quiet = appWith('', { sources: { profiler: source } })
    const strict = appWith('', { sources: { profiler: source }, insights: { eventLoopWarnMs: 50 } })
    expect((await request(quiet).get('/dashboard').set('Authorization', BEARER)).body.status).toBe('healthy')
    expect((await request(strict).get('/dashboard').set('Authorization', BEARER)).body.status).toBe('warning')
  })

  it('a throwing profiler is reported once in errors, not once per call', async () => {
    const { source } = profilerSource()
    const broken = {
      ...source,
      overview: () => {
        throw new Error('down')
      },
      routes: () => {
        throw new Error('down')
      },
    }
    const res = await request(appWith('', { sources: { profiler: broken } }))
      .get('/dashboard')
      .set('Authorization', BEARER)
    expect(res.body.errors).toEqual([{ source: 'profiler', message: 'down' }])
  })

  it('options.window and options.pollInterval set the defaults of /dashboard', async () => {
    const res = await request(appWith('', { window: '1h', pollInterval: '5s' }))
      .get('/dashboard')
      .set('Authorization', BEARER)
    expect(res.body).toMatchObject({ window: '1h', pollMs: 5000 })
  })
})
