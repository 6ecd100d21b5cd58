import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { dashboard } from '../src'
import { allSources, appWith, BEARER, MOUNTS, memoryLogger, TOKEN } from './fixtures'

const PROTECTED = [
  '/cache/stats',
  '/query/optimization',
  '/profile/overview',
  '/profile/slowest',
  '/profile/insights',
  '/compression/stats',
  '/ratelimit/stats',
  '/dashboard',
  '/metrics',
  '/assets/app.js',
  '/nope',
]

describe.each(MOUNTS)('token auth, $name', ({ base }) => {
  const app = appWith(base)

  it.each(PROTECTED)('GET %s without credentials answers 401 with a Bearer challenge', async (path) => {
    const res = await request(app).get(`${base}${path}`)
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="hotpath-dashboard"')
    expect(res.body).toEqual({
      schema: 1,
      error: 'unauthorized',
      message: 'Send Authorization: Bearer <token>, or sign in on the dashboard page.',
    })
  })

  it('POST /cache/clear without credentials answers 401 and clears nothing', async () => {
    const res = await request(app).post(`${base}/cache/clear`).send({ all: true })
    expect(res.status).toBe(401)
  })

  it('a wrong bearer token answers 401 with error="invalid_token"', async () => {
    const res = await request(app).get(`${base}/dashboard`).set('Authorization', `Bearer ${TOKEN}x`)
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="hotpath-dashboard", error="invalid_token"')
  })

  it('a token that is a prefix of the real one is refused', async () => {
    const res = await request(app)
      .get(`${base}/dashboard`)
      .set('Authorization', `Bearer ${TOKEN.slice(0, -1)}`)
    expect(res.status).toBe(401)
  })

  it('an empty bearer token is refused', async () => {
    const res = await request(app).get(`${base}/dashboard`).set('Authorization', 'Bearer ')
    expect(res.status).toBe(401)
  })

  it('the token in Basic credentials is not accepted', async () => {
    const res = await request(app)
      .get(`${base}/dashboard`)
      .set('Authorization', `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`)
    expect(res.status).toBe(401)
  })

  it('the token in the query string is not accepted', async () => {
    const res = await request(app).get(`${base}/dashboard?access_token=${TOKEN}`)
    expect(res.status).toBe(401)
  })

  it('the right bearer token answers 200', async () => {
    const res = await request(app).get(`${base}/dashboard`).set('Authorization', BEARER)
    expect(res.status).toBe(200)
  })

  it('the auth scheme is matched case-insensitively (RFC 9110 §11.1)', async () => {
    const res = await request(app).get(`${base}/dashboard`).set('Authorization', `bearer ${TOKEN}`)
    expect(res.status).toBe(200)
  })

  it('an unknown session cookie answers 401', async () => {
    const res = await request(app)
      .get(`${base}/dashboard`)
      .set('Cookie', 'hotpath_dashboard=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG')
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer realm="hotpath-dashboard", error="invalid_token"')
  })
})

describe.each(MOUNTS)('path variants never bypass auth, $name', ({ base }) => {
  const app = appWith(base)
  const variants = [
    '//cache/stats',
    '/cache//stats',
    '/cache%2Fstats',
    '/cache%2fstats',
    '/cache/stats;x',
    '/cache/stats/',
    '/CACHE/STATS',
    '/Cache/Stats',
    '/cache/./stats',
    '/cache/stats%00',
    '/%63ache/stats',
    '/dashboard;.css',
    '/DASHBOARD',
    '/assets/../dashboard',
    '/assets/app.css/../../dashboard',
    '/ASSETS/APP.CSS',
    '/metrics;x',
    '//metrics',
  ]

  it.each(variants)('GET %s without credentials answers 401', async (path) => {
    const res = await request(app).get(`${base}${path}`)
    expect(res.status).toBe(401)
    expect(res.text).not.toContain('hitRatio')
  })

  it.each(['/cache/clear;x', '/CACHE/CLEAR', '//cache/clear', '/cache%2Fclear'])(
    'POST %s without credentials answers 401',
    async (path) => {
      const res = await request(app).post(`${base}${path}`).send({ all: true })
      expect(res.status).toBe(401)
    },
  )
})

describe('path variants of the mount path itself', () => {
  const app = appWith('/performance')
  app.use((_req, res) => {
    res.status(404).send('app 404')
  })

  it.each(['/PERFORMANCE/cache/stats', '/Performance/dashboard'])(
    'GET %s is still the dashboard and needs auth',
    async (path) => {
      const res = await request(app).get(path)
      expect(res.status).toBe(401)
    },
  )

  it.each(['//performance/cache/stats', '/performance%2Fcache/stats', '/performance;x/cache/stats'])(
    'GET %s never serves dashboard data',
    async (path) => {
      const res = await request(app).get(path)
      expect([401, 404]).toContain(res.status)
      expect(res.text).not.toContain('hitRatio')
    },
  )
})

describe('authorize', () => {
  const build = (
    authorize: (req: express.Request, action: 'read' | 'write') => boolean | Promise<boolean>,
    logger = memoryLogger().logger,
  ) => {
    const app = express()
    app.use('/performance', dashboard({ auth: { authorize }, sources: allSources(), logger }))
    return app
  }

  it('is called with "read" for a GET endpoint', async () => {
    const actions: string[] = []
    const app = build((_req, action) => {
      actions.push(action)
      return true
    })
    await request(app).get('/performance/dashboard').expect(200)
    expect(actions).toEqual(['read'])
  })

  it('a false answer to read is 403', async () => {
    const res = await request(build(() => false)).get('/performance/dashboard')
    expect(res.status).toBe(403)
    expect(res.body).toEqual({
      schema: 1,
      error: 'forbidden',
      message: 'auth.authorize refused read access.',
    })
  })

  it('a truthy non-boolean answer is not a yes', async () => {
    const res = await request(build(() => 'yes' as unknown as boolean)).get('/performance/dashboard')
    expect(res.status).toBe(403)
  })

  it('a promise resolving true grants read', async () => {
    const res = await request(build(async () => true)).get('/performance/cache/stats')
    expect(res.status).toBe(200)
  })

  it('a throwing authorize refuses and logs once', async () => {
    const { logger, lines } = memoryLogger()
    const app = build(() => {
      throw new Error('db down')
    }, logger)
    await request(app).get('/performance/dashboard').expect(403)
    await request(app).get('/performance/dashboard').expect(403)
    expect(lines).toEqual([
      '[ERR_HOTPATH_DASHBOARD_AUTHORIZE] @hotpath/dashboard: auth.authorize threw; the request was refused.',
    ])
  })

  it('a rejecting authorize refuses', async () => {
    const res = await request(build(() => Promise.reject(new Error('nope')))).get('/performance/dashboard')
    expect(res.status).toBe(403)
  })

  it('sees the request the application authenticated (req.user set by an earlier middleware)', async () => {
    const app = express()
    app.use((req, _res, next) => {
      ;(req as unknown as { user?: string }).user = req.headers['x-user'] === 'ops' ? 'ops' : undefined
      next()
    })
    app.use(
      '/performance',
      dashboard({
        auth: { authorize: (req) => (req as unknown as { user?: string }).user === 'ops' },
        sources: allSources(),
      }),
    )
    await request(app).get('/performance/dashboard').set('X-User', 'ops').expect(200)
    await request(app).get('/performance/dashboard').set('X-User', 'guest').expect(403)
  })

  it('GET / shows the dashboard page, not the sign-in form, when read is granted', async () => {
    const res = await request(build(() => true)).get('/performance/')
    expect(res.status).toBe(200)
    expect(res.text).toContain('id="chart-rps"')
  })

  it('POST /login answers 404: there is no token to trade', async () => {
    const res = await request(build(() => true))
      .post('/performance/login')
      .type('form')
      .send({ token: TOKEN })
    expect(res.status).toBe(404)
  })
})

describe("auth: 'none'", () => {
  it('serves every endpoint without credentials', async () => {
    const app = express()
    app.use(dashboard({ auth: 'none', sources: allSources(), logger: memoryLogger().logger }))
    const res = await request(app).get('/dashboard')
    expect(res.status).toBe(200)
    expect(res.body.auth).toBe('none')
  })

  it('warns once at construction that the dashboard is open', () => {
    const { logger, lines } = memoryLogger()
    dashboard({ auth: 'none', logger })
    expect(lines).toEqual([
      "[ERR_HOTPATH_DASHBOARD_OPEN] @hotpath/dashboard: auth is 'none'; anyone who can reach the mount path sees the numbers and can clear the cache.",
    ])
  })
})
