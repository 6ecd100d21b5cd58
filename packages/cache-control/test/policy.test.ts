import { join } from 'node:path'
import type { Request, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { cacheControl, type Rule } from '../src'

function appWith(rules: Rule[], routes?: (app: ReturnType<typeof express>) => void) {
  const app = express()
  const cc = cacheControl({ rules })
  app.use(cc)
  if (routes) routes(app)
  else {
    app.get('/*splat', (_req: Request, res: Response) => {
      res.json({ ok: true })
    })
  }
  return { app, cc }
}

// Express 4 and 5 spell "every path" differently; a plain middleware works on both.
function catchAll(app: ReturnType<typeof express>, status = 200) {
  app.use((_req: Request, res: Response) => {
    res.status(status).json({ ok: status < 400 })
  })
}

describe('presets', () => {
  it.each([
    ['immutable', 'public, max-age=31536000, immutable'],
    ['api', 'public, max-age=60, stale-while-revalidate=60'],
    ['monitoring', 'public, max-age=60'],
    ['no-store', 'no-store'],
    ['private', 'private, no-cache'],
  ] as const)('%s sends "%s"', async (preset, expected) => {
    const { app } = appWith([{ match: '/**', preset }], catchAll)
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cache-control']).toBe(expected)
  })

  it('static gives fingerprinted files one year immutable and revalidates the others', async () => {
    const app = express()
    app.use(cacheControl({ rules: [{ match: '/static/**', preset: 'static' }] }))
    // serve-static sends its own `public, max-age=0` unless told not to.
    app.use('/static', express.static(join(__dirname, 'fixtures/static'), { cacheControl: false }))
    const hashed = await request(app).get('/static/app.3f9a1c2b.js').expect(200)
    expect(hashed.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    const plain = await request(app).get('/static/site.css').expect(200)
    expect(plain.headers['cache-control']).toBe('public, no-cache')
  })

  it('replaces serve-static defaults when the static rule says override', async () => {
    const app = express()
    app.use(cacheControl({ rules: [{ match: '/static/**', preset: 'static', override: true }] }))
    app.use('/static', express.static(join(__dirname, 'fixtures/static')))
    const hashed = await request(app).get('/static/app.3f9a1c2b.js').expect(200)
    expect(hashed.headers['cache-control']).toBe('public, max-age=31536000, immutable')
  })

  it('merges directives given on the rule over the preset', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api', maxAge: '5m', staleIfError: '1h' }], catchAll)
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cache-control']).toBe(
      'public, max-age=300, stale-while-revalidate=60, stale-if-error=3600',
    )
  })
})

describe('directives', () => {
  it('writes every directive in a fixed order, durations in whole seconds', async () => {
    const { app } = appWith(
      [
        {
          match: '/**',
          public: true,
          noCache: true,
          maxAge: 90_500,
          sMaxage: '2m',
          staleWhileRevalidate: '30s',
          staleIfError: '1d',
          mustRevalidate: true,
          proxyRevalidate: true,
          noTransform: true,
          immutable: true,
        },
      ],
      catchAll,
    )
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cache-control']).toBe(
      'public, no-cache, max-age=90, s-maxage=120, stale-while-revalidate=30, stale-if-error=86400, must-revalidate, proxy-revalidate, no-transform, immutable',
    )
  })

  it('sends CDN-Cache-Control and Surrogate-Control when asked', async () => {
    const { app } = appWith(
      [{ match: '/**', preset: 'api', cdn: { maxAge: '1h' }, surrogate: true }],
      catchAll,
    )
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cdn-cache-control']).toBe('max-age=3600')
    expect(res.headers['surrogate-control']).toBe('public, max-age=60, stale-while-revalidate=60')
  })

  it('sends no CDN-Cache-Control unless a rule asks for it', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api' }], catchAll)
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cdn-cache-control']).toBeUndefined()
    expect(res.headers['surrogate-control']).toBeUndefined()
  })
})

describe('rules table', () => {
  const rules: Rule[] = [
    { match: '/health', preset: 'no-store', name: 'health' },
    { match: /^\/api\/metrics/, preset: 'monitoring' },
    { match: (req) => req.headers['x-tenant'] === 'beta', preset: 'private' },
    { match: '/api/**', preset: 'api', maxAge: '5m' },
  ]

  it('uses the first rule that matches', async () => {
    const { app } = appWith(rules, catchAll)
    expect((await request(app).get('/health')).headers['cache-control']).toBe('no-store')
    expect((await request(app).get('/api/metrics/cpu')).headers['cache-control']).toBe('public, max-age=60')
    expect((await request(app).get('/api/products').set('x-tenant', 'beta')).headers['cache-control']).toBe(
      'private, no-cache',
    )
    expect((await request(app).get('/api/products?page=2')).headers['cache-control']).toBe(
      'public, max-age=300, stale-while-revalidate=60',
    )
  })

  it('matches /api/** against /api itself', async () => {
    const { app } = appWith(rules, catchAll)
    expect((await request(app).get('/api')).headers['cache-control']).toBe(
      'public, max-age=300, stale-while-revalidate=60',
    )
  })

  it('leaves requests no rule matches untouched', async () => {
    const { app } = appWith(rules, catchAll)
    const res = await request(app).get('/elsewhere').expect(200)
    expect(res.headers['cache-control']).toBeUndefined()
  })

  it('applies a rule only to its methods (GET and HEAD by default)', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api' }], catchAll)
    const post = await request(app).post('/x').expect(200)
    expect(post.headers['cache-control']).toBeUndefined()
    const head = await request(app).head('/x').expect(200)
    expect(head.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=60')
  })

  it('honours a methods list', async () => {
    const { app } = appWith([{ match: '/**', methods: ['post'], noStore: true }], catchAll)
    expect((await request(app).post('/x')).headers['cache-control']).toBe('no-store')
    expect((await request(app).get('/x')).headers['cache-control']).toBeUndefined()
  })

  it('gives error responses no-store instead of the cacheable policy', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api' }], (a) => catchAll(a, 503))
    const res = await request(app).get('/x').expect(503)
    expect(res.headers['cache-control']).toBe('no-store')
  })

  it('leaves redirects alone', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api' }], (a) =>
      a.use((_req: Request, res: Response) => res.redirect(302, '/elsewhere')),
    )
    const res = await request(app).get('/x').expect(302)
    expect(res.headers['cache-control']).toBeUndefined()
  })

  it('honours a status filter', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api', status: [200, 404] }], (a) => catchAll(a, 404))
    const res = await request(app).get('/x').expect(404)
    expect(res.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=60')
  })

  it('never overwrites a Cache-Control the route set itself', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api' }], (a) =>
      a.use((_req: Request, res: Response) => {
        res.set('Cache-Control', 'private, max-age=5').json({})
      }),
    )
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cache-control']).toBe('private, max-age=5')
  })

  it('replaces the route header when the rule says override', async () => {
    const { app } = appWith([{ match: '/**', preset: 'no-store', override: true }], (a) =>
      a.use((_req: Request, res: Response) => {
        res.set('Cache-Control', 'public, max-age=600').json({})
      }),
    )
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cache-control']).toBe('no-store')
  })

  it('merges Vary instead of replacing it', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api', vary: ['Accept-Language', 'accept'] }], (a) =>
      a.use((_req: Request, res: Response) => {
        res.vary('Accept').json({})
      }),
    )
    const res = await request(app).get('/x').expect(200)
    expect(res.headers.vary).toBe('Accept, Accept-Language')
  })

  it('applies the policy to streamed responses', async () => {
    const { app } = appWith([{ match: '/**', preset: 'monitoring' }], (a) =>
      a.use((_req: Request, res: Response) => {
        res.write('chunk 1,')
        res.end('chunk 2')
      }),
    )
    const res = await request(app).get('/x').expect(200)
    expect(res.text).toBe('chunk 1,chunk 2')
    expect(res.headers['cache-control']).toBe('public, max-age=60')
  })

  it('counts responses per rule in stats()', async () => {
    const { app, cc } = appWith(rules, catchAll)
    await request(app).get('/health')
    await request(app).get('/api/products')
    await request(app).get('/api/products/1')
    expect(cc.stats().rules).toEqual({ health: 0 + 1, '/^\\/api\\/metrics/': 0, 'rule 2': 0, '/api/**': 2 })
  })
})

describe('headers given to writeHead', () => {
  it('respects a Cache-Control passed to writeHead as an object and sends it once', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api' }], (a) =>
      a.use((_req: Request, res: Response) => {
        res.writeHead(200, { 'Cache-Control': 'private, max-age=9', 'Content-Type': 'text/plain' })
        res.end('x')
      }),
    )
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cache-control']).toBe('private, max-age=9')
    expect(res.headers['content-type']).toBe('text/plain')
  })

  it('respects a Cache-Control passed to writeHead as a raw array', async () => {
    const { app } = appWith([{ match: '/**', preset: 'api' }], (a) =>
      a.use((_req: Request, res: Response) => {
        res.writeHead(200, ['Cache-Control', 'no-cache', 'X-Two', 'a', 'X-Two', 'b'])
        res.end('x')
      }),
    )
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cache-control']).toBe('no-cache')
    expect(res.headers['x-two']).toBe('a, b')
  })

  it('adds the policy when writeHead carries other headers only', async () => {
    const { app } = appWith([{ match: '/**', preset: 'monitoring' }], (a) =>
      a.use((_req: Request, res: Response) => {
        res.writeHead(200, 'OK', { 'Content-Type': 'text/plain' })
        res.end('x')
      }),
    )
    const res = await request(app).get('/x').expect(200)
    expect(res.headers['cache-control']).toBe('public, max-age=60')
  })
})
