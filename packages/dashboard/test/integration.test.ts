import request from 'supertest'
import { BEARER, MOUNTS } from './fixtures'
import { EVIL_PATH, rawGet, realApp } from './real-app'

describe.each(MOUNTS)('with the real hotpath packages, $name', ({ base }) => {
  let world: ReturnType<typeof realApp>
  beforeEach(() => {
    world = realApp(base)
  })
  afterEach(async () => {
    await world.close()
  })
  const read = async (path: string) => {
    const res = await request(world.admin).get(`${base}${path}`).set('Authorization', BEARER)
    expect(res.status).toBe(200)
    return res.body
  }

  it('the request count in /dashboard grows with traffic', async () => {
    const before = (await read('/dashboard')).overview.windows.all.count
    for (let i = 0; i < 5; i++) await request(world.app).get(`/api/products/${i}`).expect(200)
    const after = (await read('/dashboard')).overview.windows.all.count
    expect(after - before).toBeGreaterThanOrEqual(5)
  })

  it('/profile/slowest lists the routes the traffic hit, by their route label', async () => {
    await request(world.app).get('/api/products/1').expect(200)
    await request(world.app).get('/api/products').expect(200)
    const { routes } = await read('/profile/slowest?window=1m&limit=100')
    const labels = routes.map((r: { route: string }) => r.route)
    expect(labels).toEqual(expect.arrayContaining(['GET /api/products/:id', 'GET /api/products']))
  })

  it('/compression/stats counts the compressed product list', async () => {
    await request(world.app).get('/api/catalog').set('Accept-Encoding', 'gzip').expect(200)
    const { compression } = await read('/compression/stats')
    expect(compression.totals.responses).toBeGreaterThanOrEqual(1)
    expect(compression.totals.bytesSaved).toBeGreaterThan(0)
  })

  it('/ratelimit/stats counts the 429s of a tight route', async () => {
    for (let i = 0; i < 2; i++) await request(world.app).get('/api/limited').expect(200)
    await request(world.app).get('/api/limited').expect(429)
    const { rateLimit } = await read('/ratelimit/stats')
    expect(rateLimit.limited).toBe(1)
  })

  it('/metrics serves the profiler metrics from the shared registry', async () => {
    await request(world.app).get('/api/products/1').expect(200)
    const res = await request(world.admin).get(`${base}/metrics`).set('Authorization', BEARER)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe(world.registry.contentType)
    expect(res.text).toContain('# TYPE ')
  })

  it('a route label holding <script> comes back as a plain JSON string', async () => {
    expect(await rawGet(world.app, EVIL_PATH)).toBe(200)
    const { routes } = await read('/profile/slowest?window=1m&limit=100')
    expect(routes.map((r: { route: string }) => r.route)).toContain(`GET ${EVIL_PATH}`)
  })

  it('/cache/stats and /dashboard report the same cache', async () => {
    await request(world.app).get('/api/products').expect(200)
    const stats = (await read('/cache/stats')).cache
    const whole = (await read('/dashboard')).cache
    expect(whole.misses).toBe(stats.misses)
    expect(stats.misses).toBeGreaterThanOrEqual(1)
  })
})
