/** What "cache size" means on the dashboard: stored body and header bytes, slabs beside them. */
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { describeRedis, redisUrl, uniquePrefix } from '../../../test/helpers/redis'
import { RedisStore, responseCache } from '../src'

describe('the size a cache reports', () => {
  it('counts a 3 KB body and its headers as stored bytes, and the slab memory separately', async () => {
    const cache = responseCache({ ttl: '1m' })
    const app = express()
    app.get('/page', cache.route(), (_req, res) => {
      res.type('text').send('x'.repeat(3000))
    })
    await request(app).get('/page').expect(200)
    const stats = cache.stats()
    expect(stats.entries).toBe(1)
    expect(stats.storedBytes).toBeGreaterThanOrEqual(3000)
    expect(stats.storedBytes).toBeLessThan(3000 + 1024)
    expect(stats.slabBytes).toBeGreaterThanOrEqual(3000)
  })
})

describe('what counts as a miss', () => {
  it("does not count a response marked no-store (the dashboard's JSON) as a miss of the app", async () => {
    const cache = responseCache({ ttl: '1m' })
    const app = express()
    app.use(cache)
    app.get('/performance/json', (_req, res) => {
      res.setHeader('Cache-Control', 'no-store')
      res.json({ ok: true })
    })
    app.get('/page', (_req, res) => {
      res.type('text').send('page')
    })
    await request(app).get('/performance/json').expect(200)
    await request(app).get('/page').expect(200)
    const stats = cache.stats()
    expect([stats.misses, stats.bypasses.noStore, stats.notStored?.noStore]).toEqual([1, 1, 1])
  })
})

describeRedis('the size a Redis-backed cache reports', () => {
  it('says the stored bytes are unknown rather than 0 B', async () => {
    const store = new RedisStore({ url: redisUrl(), prefix: uniquePrefix('size') })
    const cache = responseCache({ ttl: '1m', store })
    expect(cache.stats()).toMatchObject({ storedBytes: null, store: 'redis' })
    await store.close()
  })
})
