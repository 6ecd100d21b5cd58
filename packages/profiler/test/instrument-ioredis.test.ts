import express from 'express'
import Redis from 'ioredis'
import supertest from 'supertest'
import { describeRedis, redisUrl, uniquePrefix } from '../../../test/helpers/redis'
import { profiler } from '../src'
import { until } from './helpers'

describeRedis('ioredis commands through the ioredis:command channel', () => {
  let redis: Redis

  beforeAll(() => {
    redis = new Redis(redisUrl(), { lazyConnect: false, maxRetriesPerRequest: 1 })
  })

  afterAll(async () => {
    await redis.quit()
  })

  it('finds a loop of GETs as an N+1 with an MGET hint, and never keeps a key or a value', async () => {
    const prefix = uniquePrefix('profiler-redis')
    const secret = `${prefix}secret-key-9a1b`
    await redis.set(secret, 'secret-value-3c4d')
    const prof = profiler({ registry: false, eventLoop: false })
    prof.instrument({ ioredis: Redis })
    const app = express()
    app.use(prof)
    app.get('/carts', async (_req, res) => {
      for (let i = 0; i < 6; i++) await redis.get(`${secret}${i === 0 ? '' : i}`) // site:redis-get
      res.send('ok')
    })
    try {
      await supertest(app).get('/carts').expect(200)
      await until(() => prof.queries().nPlusOne.length === 1)
      const [finding] = prof.queries().nPlusOne
      expect(finding).toMatchObject({ route: 'GET /carts', shape: 'GET ?', count: 6, driver: 'ioredis' })
      expect(finding?.hint).toContain('MGET')
      expect(finding?.callSites?.[0]).toMatch(/instrument-ioredis\.test\.ts:\d+:\d+/)
      const text = JSON.stringify(prof.stats())
      expect(text).not.toContain('secret-key')
      expect(text).not.toContain('secret-value')
    } finally {
      prof.close()
      await redis.del(secret)
    }
  })

  it('stops recording commands after uninstrument', async () => {
    const prof = profiler({ registry: false, eventLoop: false })
    prof.instrument({ ioredis: Redis })
    await redis.ping()
    prof.uninstrument()
    await redis.ping()
    expect(prof.queries().shapes.find((s) => s.shape === 'PING ?')?.count).toBe(1)
    prof.close()
  })
})
