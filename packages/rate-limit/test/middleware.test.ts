import type { Express, NextFunction, Request, RequestHandler, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { rateLimit } from '../src'
import { BASE } from './contract'

const clock = { t: BASE }
const now = () => clock.t

function appWith(...middleware: RequestHandler[]): Express {
  const app = express()
  app.use(...middleware)
  app.get('/', (_req, res) => {
    res.send('ok')
  })
  app.get('/other', (_req, res) => {
    res.send('other')
  })
  app.use((err: Error & { code?: string }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ code: err.code ?? 'none', message: err.message })
  })
  return app
}

beforeEach(() => {
  clock.t = BASE
})

describe('headers', () => {
  it("sends RateLimit-Policy and RateLimit in the draft's structured form by default", async () => {
    const app = appWith(rateLimit({ limit: 3, window: '1m', now }))
    const res = await request(app).get('/')
    expect(res.status).toBe(200)
    expect(res.headers['ratelimit-policy']).toBe('"default";q=3;w=60')
    expect(res.headers.ratelimit).toBe('"default";r=2;t=120')
    expect(res.headers['x-ratelimit-limit']).toBeUndefined()
  })

  it('sends X-RateLimit-* with the reset as epoch seconds in legacy mode', async () => {
    const app = appWith(rateLimit({ limit: 3, window: '1m', headers: 'legacy', now }))
    const res = await request(app).get('/')
    expect(res.headers['x-ratelimit-limit']).toBe('3')
    expect(res.headers['x-ratelimit-remaining']).toBe('2')
    expect(res.headers['x-ratelimit-reset']).toBe(String(BASE / 1000 + 120))
    expect(res.headers.ratelimit).toBeUndefined()
    expect(res.headers['ratelimit-policy']).toBeUndefined()
  })

  it('sends both sets with headers: both', async () => {
    const app = appWith(rateLimit({ limit: 3, window: '1m', headers: 'both', now }))
    const res = await request(app).get('/')
    expect(res.headers.ratelimit).toBe('"default";r=2;t=120')
    expect(res.headers['x-ratelimit-remaining']).toBe('2')
  })

  it('sends no rate-limit header with headers: false', async () => {
    const app = appWith(rateLimit({ limit: 1, window: '1m', headers: false, now }))
    await request(app).get('/')
    const res = await request(app).get('/')
    expect(res.status).toBe(429)
    expect(res.headers.ratelimit).toBeUndefined()
    expect(res.headers['ratelimit-policy']).toBeUndefined()
    expect(res.headers['x-ratelimit-limit']).toBeUndefined()
    // Sliding window, limit 1: the full previous window only stops weighing at its end.
    expect(res.headers['retry-after']).toBe('120')
  })

  it('names the policy in the headers', async () => {
    const app = appWith(rateLimit({ limit: 3, window: '15m', name: 'api', now }))
    const res = await request(app).get('/')
    expect(res.headers['ratelimit-policy']).toBe('"api";q=3;w=900')
  })
})

describe('a limited request', () => {
  const limited = async (options = {}) => {
    const app = appWith(rateLimit({ algorithm: 'fixed-window', limit: 1, window: '1m', now, ...options }))
    await request(app).get('/')
    clock.t = BASE + 15_000
    return request(app).get('/')
  }

  it('gets 429 with the default message', async () => {
    const res = await limited()
    expect(res.status).toBe(429)
    expect(res.text).toBe('Too many requests, please try again later.')
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
  })

  it('carries Retry-After in seconds until a request would pass', async () => {
    expect((await limited()).headers['retry-after']).toBe('45')
  })

  it('is marked Cache-Control: no-store so no cache keeps it', async () => {
    expect((await limited()).headers['cache-control']).toBe('no-store')
  })

  it('carries the RateLimit header with nothing remaining', async () => {
    const res = await limited()
    expect(res.headers.ratelimit).toBe('"default";r=0;t=45')
    expect(res.headers['ratelimit-policy']).toBe('"default";q=1;w=60')
  })

  it('answers with a JSON message when message is an object', async () => {
    const res = await limited({ message: { error: 'slow down' } })
    expect(res.body).toEqual({ error: 'slow down' })
  })

  it('uses statusCode', async () => {
    expect((await limited({ statusCode: 503 })).status).toBe(503)
  })

  it('hands the decision to a custom handler', async () => {
    const res = await limited({
      handler: (
        _req: Request,
        res: Response,
        _next: NextFunction,
        info: { key: string; decision: { retryAfterMs: number } },
      ) => {
        res.status(429).json({ key: info.key, retryAfterMs: info.decision.retryAfterMs })
      },
    })
    expect(res.body).toEqual({ key: '127.0.0.1', retryAfterMs: 45_000 })
  })

  it('sends a handler that throws to the error handler', async () => {
    const res = await limited({
      handler: () => {
        throw Object.assign(new Error('broken handler'), { code: 'E_HANDLER' })
      },
    })
    expect(res.status).toBe(500)
    expect(res.body.code).toBe('E_HANDLER')
  })
})

describe('options per request', () => {
  it('does not count skipped requests', async () => {
    const limiter = rateLimit({ limit: 1, window: '1m', now, skip: (req) => req.path === '/other' })
    const app = appWith(limiter)
    await request(app).get('/other')
    const res = await request(app).get('/other')
    expect(res.status).toBe(200)
    expect(res.headers.ratelimit).toBeUndefined()
    expect((await request(app).get('/')).status).toBe(200)
  })

  it('accepts an async skip', async () => {
    const app = appWith(rateLimit({ limit: 1, window: '1m', now, skip: async () => true }))
    await request(app).get('/')
    expect((await request(app).get('/')).status).toBe(200)
  })

  it('charges a cost computed per request', async () => {
    const app = appWith(
      rateLimit({ limit: 10, window: '1m', now, cost: (req) => (req.path === '/' ? 4 : 1) }),
    )
    expect((await request(app).get('/')).headers.ratelimit).toBe('"default";r=6;t=120')
    expect((await request(app).get('/other')).headers.ratelimit).toBe('"default";r=5;t=120')
  })

  it('keys by an async key function', async () => {
    const app = appWith(
      rateLimit({ limit: 1, window: '1m', now, key: async (req) => String(req.headers['x-user']) }),
    )
    expect((await request(app).get('/').set('x-user', 'a')).status).toBe(200)
    expect((await request(app).get('/').set('x-user', 'b')).status).toBe(200)
    expect((await request(app).get('/').set('x-user', 'a')).status).toBe(429)
  })

  it('takes a limit and window computed per request', async () => {
    const app = appWith(
      rateLimit({
        limit: (req) => (req.headers['x-plan'] === 'pro' ? 5 : 1),
        window: async () => '10s',
        now,
      }),
    )
    const res = await request(app).get('/').set('x-plan', 'pro')
    expect(res.headers['ratelimit-policy']).toBe('"default";q=5;w=10')
    expect(res.headers.ratelimit).toBe('"default";r=4;t=20')
  })

  it('passes an invalid computed limit to the error handler', async () => {
    const app = appWith(rateLimit({ limit: () => -1, now }))
    const res = await request(app).get('/')
    expect(res.status).toBe(500)
    expect(res.body.code).toBe('ERR_HOTPATH_RATE_LIMIT_VALUE')
  })

  it('passes a key function that throws to the error handler', async () => {
    const app = appWith(
      rateLimit({
        key: () => {
          throw Object.assign(new Error('no key'), { code: 'E_KEY' })
        },
      }),
    )
    const res = await request(app).get('/')
    expect(res.status).toBe(500)
    expect(res.body.code).toBe('E_KEY')
  })

  it('passes a key function that rejects to the error handler', async () => {
    const app = appWith(
      rateLimit({ key: async () => Promise.reject(Object.assign(new Error('no'), { code: 'E_ASYNC' })) }),
    )
    expect((await request(app).get('/')).body.code).toBe('E_ASYNC')
  })
})

describe('route layers', () => {
  const build = () => {
    const limiter = rateLimit({ limit: 10, window: '1m', now })
    const app = express()
    app.use(limiter)
    app.post(
      '/login',
      limiter.route({ limit: 2, window: '15m', algorithm: 'gcra', name: 'login' }),
      (_req, res) => {
        res.send('in')
      },
    )
    app.get('/', (_req, res) => {
      res.send('ok')
    })
    return { app, limiter }
  }

  it('limits the route on its own policy', async () => {
    const { app } = build()
    await request(app).post('/login')
    await request(app).post('/login')
    expect((await request(app).post('/login')).status).toBe(429)
    expect((await request(app).get('/')).status).toBe(200)
  })

  it('lists every layer in RateLimit and RateLimit-Policy', async () => {
    const { app } = build()
    const res = await request(app).post('/login')
    expect(res.headers['ratelimit-policy']).toBe('"default";q=10;w=60, "login";q=2;w=900')
    expect(res.headers.ratelimit).toBe('"default";r=9;t=120, "login";r=1;t=450')
  })

  it('keeps counters separate from the global limiter', async () => {
    const { app } = build()
    await request(app).post('/login')
    expect((await request(app).get('/')).headers.ratelimit).toBe('"default";r=8;t=120')
  })

  it('reports allowed and limited per route and policy', async () => {
    const { app, limiter } = build()
    for (let i = 0; i < 3; i++) await request(app).post('/login')
    expect(limiter.stats().routes).toEqual({
      '*': { allowed: 3, limited: 0, policy: 'sliding-window 10/1m' },
      'POST /login': { allowed: 2, limited: 1, policy: 'gcra 2/15m' },
    })
  })

  it('names unnamed route layers route1, route2', async () => {
    const limiter = rateLimit({ limit: 10, window: '1m', now })
    const app = express()
    app.get('/a', limiter.route({ limit: 1 }), (_req, res) => {
      res.send('a')
    })
    expect((await request(app).get('/a')).headers.ratelimit).toBe('"route1";r=0;t=120')
  })

  it('shows the most restrictive layer in the legacy headers', async () => {
    const limiter = rateLimit({ limit: 10, window: '1m', headers: 'legacy', now })
    const app = express()
    app.use(limiter)
    app.post('/login', limiter.route({ limit: 2, window: '15m', algorithm: 'fixed-window' }), (_req, res) => {
      res.send('in')
    })
    const res = await request(app).post('/login')
    expect(res.headers['x-ratelimit-limit']).toBe('2')
    expect(res.headers['x-ratelimit-remaining']).toBe('1')
    expect(res.headers['x-ratelimit-reset']).toBe(String(BASE / 1000 + 900))
  })

  it('refuses two layers with one name', () => {
    const limiter = rateLimit({})
    limiter.route({ name: 'x' })
    expect(() => limiter.route({ name: 'x' })).toThrow(/already exists/)
  })
})
