import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RequestHandler } from 'express'
import Redis, { Cluster } from 'ioredis'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import {
  describeRedis,
  type RedisClusterHandle,
  redisUrl,
  startRedisCluster,
  uniquePrefix,
} from '../../../test/helpers/redis'
import { type RateLimitOptions, type RedisClientLike, RedisStore, rateLimit } from '../src'

async function listen(limiter: RequestHandler): Promise<{ server: Server; url: string }> {
  const app = express()
  app.use(limiter)
  app.get('/', (_req, res) => {
    res.send('ok')
  })
  const server = app.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` }
}

const HOUR = 3_600_000

/**
 * Waits out the last 10 s of a window: a weighted sliding window lets a few more requests
 * through once a new window starts (by design), so an exact count must not straddle the edge.
 * The app hosts and the test Redis share this machine's clock.
 */
async function awayFromWindowEdge(windowMs: number): Promise<void> {
  const left = windowMs - (Date.now() % windowMs)
  if (left < 10_000) await new Promise((resolve) => setTimeout(resolve, left + 50))
}

/** Two app instances, each with its own client, sharing one Redis: 1000 requests in parallel. */
async function twoApps(
  clients: [RedisClientLike, RedisClientLike],
  options: RateLimitOptions,
): Promise<number[]> {
  await awayFromWindowEdge(HOUR)
  const prefix = uniquePrefix('rl-two-apps')
  const apps = await Promise.all(
    clients.map((client) =>
      listen(rateLimit({ ...options, store: new RedisStore({ client, prefix, commandTimeout: 5000 }) })),
    ),
  )
  try {
    return await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        fetch((apps[i % 2] as { url: string }).url).then((r) => r.status),
      ),
    )
  } finally {
    await Promise.all(apps.map(({ server }) => new Promise((resolve) => server.close(resolve))))
  }
}

const allowed = (statuses: number[]) => statuses.filter((s) => s === 200).length

describeRedis('RedisStore with Express', () => {
  let a: Redis
  let b: Redis
  beforeAll(() => {
    a = new Redis(redisUrl())
    b = new Redis(redisUrl())
  })
  afterAll(async () => {
    await Promise.all([a.quit(), b.quit()])
  })

  it.each(['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const)(
    'allows exactly 100 of 1000 parallel requests across two app instances (%s)',
    async (algorithm) => {
      // An hour-long window: token-bucket and gcra refill 1 per 36 s, never during the burst.
      const statuses = await twoApps([a, b], { algorithm, limit: 100, window: '1h' })
      expect(allowed(statuses)).toBe(100)
      expect(statuses.filter((s) => s === 429)).toHaveLength(900)
    },
    30_000,
  )

  it('opens a new window on the Redis server clock', async () => {
    const limiter = rateLimit({
      algorithm: 'fixed-window',
      limit: 2,
      window: 300,
      store: new RedisStore({ client: a, prefix: uniquePrefix('rl-clock') }),
    })
    const app = express().use(limiter)
    app.get('/', (_req, res) => {
      res.send('ok')
    })
    const first = [(await request(app).get('/')).status, (await request(app).get('/')).status]
    // Two requests could straddle an edge; the third is limited unless they did.
    const third = (await request(app).get('/')).status
    await new Promise((resolve) => setTimeout(resolve, 350))
    expect(first).toEqual([200, 200])
    expect([429, 200]).toContain(third)
    expect((await request(app).get('/')).status).toBe(200)
  })

  it('reports the store kind and its latency', async () => {
    const limiter = rateLimit({ store: new RedisStore({ client: a, prefix: uniquePrefix('rl-stats') }) })
    const app = express().use(limiter)
    app.get('/', (_req, res) => {
      res.send('ok')
    })
    await request(app).get('/')
    const { store } = limiter.stats()
    expect(store.kind).toBe('redis')
    expect(store.mode).toBe('store')
    expect(store.latencyMs.p50).toBeGreaterThan(0)
  })

  it('resets a key in Redis', async () => {
    const limiter = rateLimit({
      limit: 1,
      store: new RedisStore({ client: a, prefix: uniquePrefix('rl-reset') }),
    })
    const app = express().use(limiter)
    app.get('/', (_req, res) => {
      res.send('ok')
    })
    await request(app).get('/')
    await limiter.resetKey('127.0.0.1')
    expect((await request(app).get('/')).status).toBe(200)
  })
})

describeRedis('RedisStore on a 3-master Redis Cluster with Express', () => {
  let cluster: RedisClusterHandle
  let a: Cluster
  let b: Cluster
  beforeAll(async () => {
    cluster = await startRedisCluster()
    a = new Cluster(cluster.nodes)
    b = new Cluster(cluster.nodes)
  }, 30_000)
  afterAll(async () => {
    await Promise.all([a.quit(), b.quit()])
    await cluster.stop()
  })

  it('allows exactly 100 of 1000 parallel requests across two app instances', async () => {
    const statuses = await twoApps([a, b], { algorithm: 'sliding-window', limit: 100, window: '1h' })
    expect(allowed(statuses)).toBe(100)
  }, 30_000)
})
