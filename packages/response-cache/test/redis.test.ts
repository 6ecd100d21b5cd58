import Redis, { Cluster } from 'ioredis'
import { express } from '../../../test/helpers/express'
import {
  describeRedis,
  type RedisHandle,
  redisUrl,
  startRedis,
  startRedisCluster,
  uniquePrefix,
} from '../../../test/helpers/redis'
import { RedisStore, type ResponseCache, responseCache } from '../src'
import { fakeClock, type Served, serve, until } from './http'

/** Two app instances (two caches, two stores) sharing one Redis through `client`. */
async function twoInstances(client: Redis | Cluster, prefix: string) {
  const calls = { n: 0 }
  const clock = fakeClock(Date.now())
  const make = async () => {
    const cache = responseCache({
      store: new RedisStore({ client, prefix }),
      ttl: '1m',
      staleWhileRevalidate: '10m',
      now: clock.now,
      logger: { warn: () => {}, error: () => {} },
    })
    const app = express()
    app.get('/api/products', cache.route({ tags: ['products'] }), async (_req, res) => {
      calls.n++
      await new Promise((r) => setTimeout(r, 30))
      res.json({ products: [1, 2, 3] })
    })
    const s = await serve(app)
    // Both instances answer one public host, as behind a load balancer.
    const get = (path: string) => s.get(path, { host: 'shop.example' })
    return { cache, s: { ...s, get } }
  }
  return { a: await make(), b: await make(), calls, clock }
}

function sharedSuite(label: string, connect: () => Promise<Redis | Cluster>) {
  describe(label, () => {
    let client: Redis | Cluster
    let pair: Awaited<ReturnType<typeof twoInstances>>
    beforeAll(async () => {
      client = await connect()
    }, 60_000)
    beforeEach(async () => {
      pair = await twoInstances(client, uniquePrefix('cache-shared'))
    })
    afterEach(async () => {
      await pair.a.s.close()
      await pair.b.s.close()
    })
    afterAll(async () => {
      // quit() rejects when the server closes the connection before its OK arrives.
      await client.quit().catch(() => client.disconnect())
    })

    it('serves on one instance what the other stored', async () => {
      const miss = await pair.a.s.get('/api/products')
      await until(() => pair.a.cache.stats().stores === 1)
      const hit = await pair.b.s.get('/api/products')
      expect(miss.headers['cache-status']).toBe('hotpath; fwd=miss; stored')
      expect(hit.headers['cache-status']).toMatch(/^hotpath; hit; ttl=(59|60)$/)
      expect(hit.text).toBe('{"products":[1,2,3]}')
      expect(pair.calls.n).toBe(1)
    })

    it('invalidates a tag on every instance', async () => {
      await pair.a.s.get('/api/products')
      await until(() => pair.a.cache.stats().stores === 1)
      expect(await pair.b.cache.invalidate({ tag: 'products' })).toBe(1)
      expect((await pair.a.s.get('/api/products')).headers['cache-status']).toBe('hotpath; fwd=miss; stored')
      expect(pair.calls.n).toBe(2)
    })

    it('runs one handler for concurrent misses on both instances', async () => {
      const replies = await Promise.all([
        ...Array.from({ length: 10 }, () => pair.a.s.get('/api/products')),
        ...Array.from({ length: 10 }, () => pair.b.s.get('/api/products')),
      ])
      expect(replies.every((r) => r.status === 200 && r.text === '{"products":[1,2,3]}')).toBe(true)
      expect(pair.calls.n).toBe(1)
    })

    it('refreshes a stale entry once across both instances', async () => {
      await pair.a.s.get('/api/products')
      await until(() => pair.a.cache.stats().stores === 1)
      pair.clock.advance(61_000)
      const stale = await Promise.all([pair.a.s.get('/api/products'), pair.b.s.get('/api/products')])
      expect(stale.map((r) => r.headers['cache-status'])).toEqual([
        'hotpath; fwd=stale; ttl=-1',
        'hotpath; fwd=stale; ttl=-1',
      ])
      await until(() => pair.a.cache.stats().stores + pair.b.cache.stats().stores === 2)
      await new Promise((r) => setTimeout(r, 100))
      expect(pair.calls.n).toBe(2)
      expect((await pair.b.s.get('/api/products')).headers['cache-status']).toBe('hotpath; hit; ttl=60')
    })

    it('clears every master', async () => {
      await pair.a.s.get('/api/products')
      await until(() => pair.a.cache.stats().stores === 1)
      await pair.a.cache.clear()
      expect((await pair.b.s.get('/api/products')).headers['cache-status']).toBe('hotpath; fwd=miss; stored')
    })
  })
}

describeRedis('RedisStore shared by two app instances', () => {
  sharedSuite('standalone', async () => new Redis(redisUrl()))

  let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined
  afterAll(async () => {
    await cluster?.stop()
  })
  sharedSuite('3-master cluster', async () => {
    cluster = await startRedisCluster()
    const client = new Cluster(cluster.nodes)
    await new Promise((resolve) => client.once('ready', resolve))
    return client
  })
})

describeRedis('RedisStore faults (own redis-server)', () => {
  let redis: RedisHandle
  let client: Redis
  let cache: ResponseCache
  let s: Served
  let prefix: string
  const warnings: string[] = []
  const rejections: unknown[] = []
  const onRejection = (reason: unknown) => rejections.push(reason)
  beforeAll(async () => {
    process.on('unhandledRejection', onRejection)
    redis = await startRedis()
    client = new Redis(redis.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: () => 50,
    })
    client.on('error', () => undefined)
    await new Promise((resolve) => client.once('ready', resolve))
  }, 30_000)
  beforeEach(async () => {
    prefix = uniquePrefix('cache-fault')
    warnings.length = 0
    cache = responseCache({
      store: new RedisStore({ client, prefix, timeout: 200, cooldown: 100 }),
      logger: { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
    })
    const app = express()
    app.get('/p', cache.route({ tags: ['p'] }), (_req, res) => {
      res.json({ ok: true })
    })
    s = await serve(app)
  })
  afterEach(async () => {
    await s.close()
  })
  afterAll(async () => {
    process.off('unhandledRejection', onRejection)
    client.disconnect()
    await redis.destroy()
  })

  it('answers every request with fwd=bypass while Redis is down, and caches again once it is back', async () => {
    await stored()
    await redis.stop()
    const during = []
    for (let i = 0; i < 8; i++) during.push(await s.get('/p'))
    expect(during.map((r) => r.status)).toEqual(Array(8).fill(200))
    expect(new Set(during.map((r) => r.headers['cache-status']))).toEqual(
      new Set(['hotpath; fwd=bypass; detail=store-error']),
    )
    expect(cache.stats().bypasses['store-error']).toBe(8)
    expect(warnings.filter((w) => w.includes('ERR_HOTPATH_CACHE_STORE'))).toHaveLength(1)
    await redis.start()
    await until(
      async () => /^hotpath; hit; ttl=/.test(String((await s.get('/p')).headers['cache-status'])),
      8000,
    )
    expect(rejections).toEqual([])
  }, 20_000)

  /** A miss whose entry is known to be written (the write happens after the response). */
  async function stored(): Promise<void> {
    const before = cache.stats().stores
    await until(async () => (await s.get('/p')).headers['cache-status'] === 'hotpath; fwd=miss; stored', 8000)
    await until(() => cache.stats().stores > before)
  }

  it('answers with fwd=bypass within its deadline when Redis hangs', async () => {
    const pause = redis.clientPause(800)
    await new Promise((r) => setTimeout(r, 50))
    const started = Date.now()
    const reply = await s.get('/p')
    expect(Date.now() - started).toBeLessThan(600)
    expect(reply.status).toBe(200)
    expect(reply.headers['cache-status']).toBe('hotpath; fwd=bypass; detail=store-error')
    await pause
    await new Promise((r) => setTimeout(r, 900))
  })

  it('keeps tagging entries after SCRIPT FLUSH', async () => {
    await stored()
    await redis.cli('SCRIPT', 'FLUSH')
    expect(await cache.invalidate({ tag: 'p' })).toBe(1)
    await stored()
    expect(await cache.invalidate({ tag: 'p' })).toBe(1)
  })

  it('treats a corrupt value as a miss and overwrites it', async () => {
    await stored()
    const keys = await client.keys(`${prefix}e:*`)
    expect(keys).toHaveLength(1)
    await client.set(keys[0] as string, 'not an entry')
    const reply = await s.get('/p')
    expect([reply.status, reply.headers['cache-status']]).toEqual([200, 'hotpath; fwd=miss; stored'])
  })

  it('treats a WRONGTYPE key as a miss', async () => {
    await stored()
    const keys = await client.keys(`${prefix}e:*`)
    await client.del(keys[0] as string)
    await client.lpush(keys[0] as string, 'x')
    const reply = await s.get('/p')
    expect([reply.status, reply.headers['cache-status']]).toEqual([200, 'hotpath; fwd=miss; stored'])
  })

  it('works after a Redis restart', async () => {
    await stored()
    await redis.restart()
    // Caching resumes: a hit proves an entry was written to the restarted server.
    await until(
      async () => /^hotpath; hit; ttl=/.test(String((await s.get('/p')).headers['cache-status'])),
      8000,
    )
    expect(rejections).toEqual([])
  }, 20_000)
})
