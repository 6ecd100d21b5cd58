import { createCache, RedisTier } from '@hotpath/cache'
import { responseCache } from '@hotpath/response-cache'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { dashboard } from '../src'
import { AUTH, BEARER, MOUNTS, memoryLogger, ROOMY_LIMITS } from './fixtures'

const quiet = { warn: () => undefined, error: () => undefined }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function adminFor(base: string, sources: Parameters<typeof dashboard>[0]['sources']) {
  const admin = express()
  const router = dashboard({ auth: AUTH, sources, rateLimit: ROOMY_LIMITS, logger: memoryLogger().logger })
  if (base) admin.use(base, router)
  else admin.use(router)
  return admin
}

describe.each(MOUNTS)('GET /cache/data, $name', ({ base }) => {
  it("answers the data cache's stats with its hits per namespace", async () => {
    const dataCache = createCache({ logger: quiet })
    const users = dataCache.namespace('users')
    await users.getOrSet('u1', async () => 1)
    await users.getOrSet('u1', async () => 1)
    const res = await request(adminFor(base, { dataCache }))
      .get(`${base}/cache/data`)
      .set('Authorization', BEARER)
      .expect(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body.schema).toBe(1)
    expect(res.body.dataCache.hits).toEqual({ l1: 1, l2: 0 })
    expect(res.body.dataCache.namespaces.users).toMatchObject({ hits: 1, misses: 1, factoryRuns: 1 })
    await dataCache.close()
  })

  it('answers 404 naming the option without a data cache source', async () => {
    const res = await request(adminFor(base, {}))
      .get(`${base}/cache/data`)
      .set('Authorization', BEARER)
      .expect(404)
    expect(res.body.message).toMatch(/sources\.dataCache/)
  })

  it('answers 405 with Allow to a POST', async () => {
    const dataCache = createCache({ logger: quiet })
    const res = await request(adminFor(base, { dataCache }))
      .post(`${base}/cache/data`)
      .set('Authorization', BEARER)
      .expect(405)
    expect(res.headers.allow).toBe('GET, HEAD')
    await dataCache.close()
  })

  it('asks for a token', async () => {
    const dataCache = createCache({ logger: quiet })
    await request(adminFor(base, { dataCache })).get(`${base}/cache/data`).expect(401)
    await dataCache.close()
  })
})

describe('data cache insights', () => {
  const insightsOf = async (dataCache: ReturnType<typeof createCache>) => {
    const res = await request(adminFor('', { dataCache }))
      .get('/cache/data')
      .set('Authorization', BEARER)
      .expect(200)
    return res.body.insights as Array<{ id: string; evidence: Record<string, unknown> }>
  }

  it('reports a namespace whose hit ratio is low', async () => {
    const dataCache = createCache({ logger: quiet })
    const search = dataCache.namespace('search')
    for (let i = 0; i < 120; i++) await search.getOrSet(`q${i}`, async () => i)
    const found = (await insightsOf(dataCache)).find((i) => i.id === 'data-cache-low-hit-ratio')
    expect(found?.evidence).toMatchObject({ namespace: 'search', hitRatio: 0, lookups: 120 })
    await dataCache.close()
  })

  it('reports a factory whose p95 is above the ttl', async () => {
    const dataCache = createCache({ logger: quiet, ttl: 5 })
    await dataCache.getOrSet('slow', async () => {
      await sleep(30)
      return 1
    })
    const found = (await insightsOf(dataCache)).find((i) => i.id === 'data-cache-factory-slower-than-ttl')
    expect(found?.evidence).toMatchObject({ namespace: 'default', ttlMs: 5 })
    await dataCache.close()
  })

  it('reports Redis tier errors', async () => {
    const dataCache = createCache({
      logger: quiet,
      l2: new RedisTier({ url: 'redis://127.0.0.1:1', commandTimeout: 20 }),
      bus: false,
    })
    await dataCache.getOrSet('k', async () => 1)
    // The read failed before the factory ran; the write of its value fails in the background.
    await sleep(100)
    const found = (await insightsOf(dataCache)).find((i) => i.id === 'data-cache-l2-errors')
    expect(found?.evidence.errors).toBe(2)
    await dataCache.close()
  })

  it('names every namespace with a low hit ratio in one finding, the worst first', async () => {
    const dataCache = createCache({ logger: quiet })
    for (const name of ['search', 'reports']) {
      const ns = dataCache.namespace(name)
      for (let i = 0; i < 120; i++) await ns.getOrSet(`q${i}`, async () => i)
    }
    const low = (await insightsOf(dataCache)).filter((i) => i.id === 'data-cache-low-hit-ratio')
    expect(low).toHaveLength(1)
    expect(low[0]?.evidence.namespaces).toBe('search, reports')
    await dataCache.close()
  })

  it('lists the data cache findings among the dashboard insights', async () => {
    const dataCache = createCache({ logger: quiet })
    for (let i = 0; i < 120; i++) await dataCache.getOrSet(`q${i}`, async () => i)
    const res = await request(adminFor('', { dataCache }))
      .get('/profile/insights')
      .set('Authorization', BEARER)
      .expect(200)
    expect(res.body.insights.map((i: { id: string }) => i.id)).toContain('data-cache-low-hit-ratio')
    await dataCache.close()
  })

  it('says nothing about a healthy cache', async () => {
    const dataCache = createCache({ logger: quiet })
    await dataCache.getOrSet('k', async () => 1)
    expect(await insightsOf(dataCache)).toEqual([])
    await dataCache.close()
  })
})

describe('POST /cache/clear { tag } with a data cache', () => {
  it('drops the tag in the data cache and the response cache', async () => {
    const cache = responseCache({ ttl: '1m', logger: memoryLogger().logger })
    const dataCache = createCache({ logger: quiet })
    let runs = 0
    const app = express()
    app.get('/api/products', cache.route({ tags: ['products'] }), async (_req, res) => {
      res.json(await dataCache.getOrSet('products', async () => ++runs, { tags: ['products'] }))
    })
    await request(app).get('/api/products').expect(200, '1')
    const res = await request(adminFor('', { cache, dataCache }))
      .post('/cache/clear')
      .set('Authorization', BEARER)
      .set('Content-Type', 'application/json')
      .send({ tag: 'products' })
      .expect(200)
    expect(res.body).toEqual({ schema: 1, cleared: { tag: 'products' }, removed: 1, dataCache: true })
    expect(await dataCache.get('products')).toBeUndefined()
    await request(app).get('/api/products').expect(200, '2')
    await cache.close()
    await dataCache.close()
  })

  it('works with a data cache and no response cache', async () => {
    const dataCache = createCache({ logger: quiet })
    await dataCache.set('p', 1, { tags: ['products'] })
    const res = await request(adminFor('', { dataCache }))
      .post('/cache/clear')
      .set('Authorization', BEARER)
      .set('Content-Type', 'application/json')
      .send({ tag: 'products' })
      .expect(200)
    expect(res.body).toEqual({ schema: 1, cleared: { tag: 'products' }, removed: null, dataCache: true })
    expect(await dataCache.get('p')).toBeUndefined()
    await dataCache.close()
  })
})
