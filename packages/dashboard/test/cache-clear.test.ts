import { createServer, type Server } from 'node:http'
import { responseCache } from '@hotpath/response-cache'
import type { Express } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { dashboard } from '../src'
import { AUTH, BEARER, cacheSource, MOUNTS, memoryLogger, ROOMY_LIMITS, TOKEN } from './fixtures'

const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))))
})

/**
 * A product API with a real response cache (on one listening server: the cache key holds the
 * Host, which would change with every ephemeral supertest server), and the dashboard on its own app (as a separate
 * admin port would be) mounted at root or under a prefix, reading that same cache.
 */
async function setup(base: string) {
  const cache = responseCache({ ttl: '1m', logger: memoryLogger().logger })
  const runs = { products: 0, orders: 0 }
  const app = express()
  const api = createServer(app).listen(0, '127.0.0.1')
  servers.push(api)
  await new Promise((resolve) => api.once('listening', resolve))
  app.get('/api/products', cache.route({ tags: ['products'] }), (_req, res) => {
    runs.products++
    res.json({ products: runs.products })
  })
  app.get('/api/orders', cache.route({ tags: ['orders'] }), (_req, res) => {
    runs.orders++
    res.json({ orders: runs.orders })
  })
  const admin = express()
  const router = dashboard({
    auth: AUTH,
    sources: { cache },
    rateLimit: ROOMY_LIMITS,
    logger: memoryLogger().logger,
  })
  if (base) admin.use(base, router)
  else admin.use(router)
  const warm = async () => {
    await request(api).get('/api/products').expect(200)
    await request(api).get('/api/orders').expect(200)
    await request(api).get('/api/products').expect(200)
    await request(api).get('/api/orders').expect(200)
    expect(runs).toEqual({ products: 1, orders: 1 })
  }
  const clear = (body: object | string) =>
    request(admin)
      .post(`${base}/cache/clear`)
      .set('Authorization', BEARER)
      .set('Content-Type', 'application/json')
      .send(body)
  return { cache, api, admin, runs, warm, clear }
}

describe.each(MOUNTS)('POST /cache/clear on a real response cache, $name', ({ base }) => {
  it('{ tag } removes the tagged responses only', async () => {
    const { api, runs, warm, clear } = await setup(base)
    await warm()
    const res = await clear({ tag: 'products' })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ schema: 1, cleared: { tag: 'products' }, removed: 1 })
    await request(api).get('/api/products').expect(200)
    await request(api).get('/api/orders').expect(200)
    expect(runs).toEqual({ products: 2, orders: 1 })
  })

  it('{ key } removes one URL', async () => {
    const { api, runs, warm, clear } = await setup(base)
    await warm()
    const res = await clear({ key: '/api/orders' })
    expect(res.status).toBe(200)
    expect(res.body.cleared).toEqual({ key: '/api/orders' })
    await request(api).get('/api/orders').expect(200)
    await request(api).get('/api/products').expect(200)
    expect(runs).toEqual({ products: 1, orders: 2 })
  })

  it('{ prefix } removes every URL under it', async () => {
    const { api, runs, warm, clear } = await setup(base)
    await warm()
    const res = await clear({ prefix: '/api/' })
    expect(res.status).toBe(200)
    expect(res.body.cleared).toEqual({ prefix: '/api/' })
    await request(api).get('/api/orders').expect(200)
    await request(api).get('/api/products').expect(200)
    expect(runs).toEqual({ products: 2, orders: 2 })
  })

  it('{ all: true } empties the cache', async () => {
    const { api, runs, warm, clear, cache } = await setup(base)
    await warm()
    const res = await clear({ all: true })
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ schema: 1, cleared: { all: true }, removed: null })
    expect(cache.stats().entries).toBe(0)
    await request(api).get('/api/products').expect(200)
    expect(runs.products).toBe(2)
  })

  it('GET /cache/stats reads the same cache', async () => {
    const { admin, warm } = await setup(base)
    await warm()
    const res = await request(admin).get(`${base}/cache/stats`).set('Authorization', BEARER)
    expect(res.status).toBe(200)
    expect(res.body.cache).toMatchObject({ hits: 2, misses: 2, entries: 2 })
  })
})

describe.each(MOUNTS)('POST /cache/clear rules, $name', ({ base }) => {
  let app: Express
  let fake: ReturnType<typeof cacheSource>
  beforeEach(() => {
    fake = cacheSource()
    app = express()
    const router = dashboard({ auth: AUTH, sources: { cache: fake.source }, rateLimit: ROOMY_LIMITS })
    if (base) app.use(base, router)
    else app.use(router)
  })
  const post = () => request(app).post(`${base}/cache/clear`).set('Authorization', BEARER)

  it('GET answers 405 with Allow: POST and clears nothing', async () => {
    const res = await request(app).get(`${base}/cache/clear?all=true`).set('Authorization', BEARER)
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('POST')
    expect(fake.cleared()).toBe(0)
  })

  it.each(['put', 'delete', 'patch'] as const)('%s answers 405 with Allow: POST', async (method) => {
    const res = await request(app)
      [method](`${base}/cache/clear`)
      .set('Authorization', BEARER)
      .send({ all: true })
    expect(res.status).toBe(405)
    expect(res.headers.allow).toBe('POST')
  })

  it('a cross-site form post (text/plain, Sec-Fetch-Site: cross-site) is refused with 403', async () => {
    const res = await post()
      .set('Sec-Fetch-Site', 'cross-site')
      .set('Content-Type', 'text/plain')
      .send('{"all":true}')
    expect(res.status).toBe(403)
    expect(res.body.error).toBe('cross_site')
    expect(fake.cleared()).toBe(0)
  })

  it('a post from another Origin is refused with 403 even with a JSON body', async () => {
    const res = await post().set('Origin', 'https://evil.example').send({ all: true })
    expect(res.status).toBe(403)
    expect(fake.cleared()).toBe(0)
  })

  it('Origin: null (a sandboxed frame) is refused', async () => {
    const res = await post().set('Origin', 'null').send({ all: true })
    expect(res.status).toBe(403)
  })

  it('Sec-Fetch-Site: same-site (a sibling subdomain) is refused', async () => {
    const res = await post().set('Sec-Fetch-Site', 'same-site').send({ all: true })
    expect(res.status).toBe(403)
  })

  it('a same-origin fetch (Sec-Fetch-Site: same-origin) is accepted', async () => {
    const res = await post().set('Sec-Fetch-Site', 'same-origin').send({ all: true })
    expect(res.status).toBe(200)
    expect(fake.cleared()).toBe(1)
  })

  it('a form-encoded body is refused with 415', async () => {
    const res = await post().type('form').send('all=true')
    expect(res.status).toBe(415)
    expect(res.body.message).toBe('Send the body as Content-Type: application/json.')
    expect(fake.cleared()).toBe(0)
  })

  it('text/plain (what a form can send without a preflight) is refused with 415', async () => {
    const res = await post().set('Content-Type', 'text/plain').send('{"all":true}')
    expect(res.status).toBe(415)
  })

  it.each([
    ['{}', 'no target'],
    ['{"all":false}', 'all false'],
    ['{"all":"yes"}', 'all not true'],
    ['{"tag":""}', 'empty tag'],
    ['{"tag":1}', 'tag not a string'],
    ['{"tag":"a","key":"b"}', 'two targets'],
    ['{"path":"/x"}', 'unknown target'],
    ['["tag"]', 'an array'],
    [`{"tag":"${'x'.repeat(1025)}"}`, 'a tag over 1024 characters'],
  ])('body %s (%s) answers 400', async (body) => {
    const res = await post().set('Content-Type', 'application/json').send(body)
    expect(res.status).toBe(400)
    expect(res.body).toEqual({
      schema: 1,
      error: 'bad_request',
      message: 'Send exactly one of { "tag": "…" }, { "key": "…" }, { "prefix": "…" } or { "all": true }.',
    })
    expect(fake.invalidated).toEqual([])
  })

  it('malformed JSON answers 400 without reaching the application error handler', async () => {
    const res = await post().set('Content-Type', 'application/json').send('{"tag":')
    expect(res.status).toBe(400)
    expect(res.body.error).toBe('bad_request')
  })

  it('a body over 2 KB answers 413', async () => {
    const res = await post()
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ tag: 'x'.repeat(4096) }))
    expect(res.status).toBe(413)
  })

  it('passes the target to invalidate() and answers how many went', async () => {
    const res = await post().send({ prefix: '/api' })
    expect(res.body).toEqual({ schema: 1, cleared: { prefix: '/api' }, removed: 3 })
    expect(fake.invalidated).toEqual([{ prefix: '/api' }])
  })

  it('a session cookie may clear from the page (same origin, JSON)', async () => {
    const login = await request(app).post(`${base}/login`).type('form').send({ token: TOKEN })
    const cookie = ((login.headers['set-cookie'] as unknown as string[])[0] as string).split(';')[0] as string
    const res = await request(app)
      .post(`${base}/cache/clear`)
      .set('Cookie', cookie)
      .set('Sec-Fetch-Site', 'same-origin')
      .send({ tag: 'products' })
    expect(res.status).toBe(200)
  })
})

describe('write permission', () => {
  const build = (authorize: (req: unknown, action: 'read' | 'write') => boolean | Promise<boolean>) => {
    const fake = cacheSource()
    const app = express()
    app.use(
      '/performance',
      dashboard({ auth: { authorize }, sources: { cache: fake.source }, rateLimit: ROOMY_LIMITS }),
    )
    return { app, fake }
  }

  it('without write permission POST /cache/clear answers 403', async () => {
    const { app, fake } = build((_req, action) => action === 'read')
    const res = await request(app).post('/performance/cache/clear').send({ all: true })
    expect(res.status).toBe(403)
    expect(res.body).toEqual({
      schema: 1,
      error: 'forbidden',
      message: 'This credential may read the dashboard but not clear the cache.',
    })
    expect(fake.cleared()).toBe(0)
  })

  it('authorize is asked for "read" then "write"', async () => {
    const actions: string[] = []
    const { app } = build(async (_req, action) => {
      actions.push(action)
      return true
    })
    await request(app).post('/performance/cache/clear').send({ all: true }).expect(200)
    expect(actions).toEqual(['read', 'write'])
  })

  it('a rejection from invalidate() goes to the application error handler', async () => {
    const app = express()
    const source = { ...cacheSource().source, invalidate: () => Promise.reject(new Error('store down')) }
    app.use(dashboard({ auth: 'none', sources: { cache: source }, logger: memoryLogger().logger }))
    const errors: string[] = []
    app.use((err: Error, _req: unknown, res: { status(n: number): { end(): void } }, _next: unknown) => {
      errors.push(err.message)
      res.status(502).end()
    })
    const res = await request(app).post('/cache/clear').send({ tag: 'x' })
    expect(res.status).toBe(502)
    expect(errors).toEqual(['store down'])
  })
})
