/**
 * The failure policy against a real Redis that is stopped, paused (DEBUG SLEEP) and
 * restarted. Each suite owns its redis-server so the shared one is never disturbed.
 */
import type { Express } from 'express'
import Redis from 'ioredis'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { describeRedis, type RedisHandle, startRedis, uniquePrefix } from '../../../test/helpers/redis'
import { type RateLimiter, RedisStore, rateLimit, type StoreErrorPolicy } from '../src'

const DEADLINE = 100
/** What a request may take beyond the deadline on a loaded 2-core machine. */
const SLACK = 400

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describeRedis('onStoreError with a real Redis', () => {
  let redis: RedisHandle
  /** A connected client that tells when the server sleeps. */
  let probe: Redis
  const rejections: unknown[] = []
  const onRejection = (reason: unknown) => rejections.push(reason)
  let limiter: RateLimiter
  let logs: string[]
  let prefix: string

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection)
    redis = await startRedis()
    probe = new Redis(redis.url)
    await probe.ping()
  })
  afterAll(async () => {
    process.off('unhandledRejection', onRejection)
    probe.disconnect()
    await redis.destroy()
  })
  afterEach(async () => {
    await limiter?.close()
    await redis.start()
  })

  function build(onStoreError: StoreErrorPolicy, limit = 1): Express {
    logs = []
    prefix = uniquePrefix('rl-failure')
    const store = new RedisStore({ url: redis.url, prefix, commandTimeout: DEADLINE, cooldown: 200 })
    limiter = rateLimit({
      limit,
      window: '1m',
      store,
      onStoreError,
      logger: { warn: (m: string) => logs.push(`warn ${m}`), error: (m: string) => logs.push(`error ${m}`) },
    })
    const app = express()
    app.use(limiter)
    app.get('/', (_req, res) => {
      res.send('ok')
    })
    return app
  }

  async function hit(app: Express, times: number): Promise<Array<{ status: number; ms: number }>> {
    const out: Array<{ status: number; ms: number }> = []
    for (let i = 0; i < times; i++) {
      const started = Date.now()
      const res = await request(app).get('/')
      out.push({ status: res.status, ms: Date.now() - started })
    }
    return out
  }

  /** Sends requests until the limiter counts in Redis again (bounded: 4 s). */
  async function untilRecovered(app: Express): Promise<void> {
    for (let i = 0; i < 40 && limiter.stats().store.mode !== 'store'; i++) {
      await request(app).get('/')
      await sleep(100)
    }
    expect(limiter.stats().store.mode).toBe('store')
  }

  /** Waits until the store's connection answers (a read: nothing is counted). */
  async function ready(_app: Express): Promise<void> {
    for (let i = 0; i < 40; i++) {
      if (
        await limiter.get('probe').then(
          () => true,
          () => false,
        )
      )
        return
      await sleep(50)
    }
    throw new Error('the store never connected')
  }

  /** DEBUG SLEEP for `ms`, resolving once the server has really stopped answering. */
  async function sleepRedis(ms: number): Promise<void> {
    await probe.ping()
    await redis.pause(ms)
    await asleep()
  }

  /** Resolves once the server has stopped answering (DEBUG SLEEP started), bounded: 4 s. */
  async function asleep(): Promise<void> {
    for (let i = 0; i < 40; i++) {
      const answered = await Promise.race([
        probe.ping().then(
          () => true,
          () => true,
        ),
        sleep(150).then(() => false),
      ])
      if (!answered) return
      await sleep(10)
    }
    throw new Error('redis-server never went to sleep')
  }

  const statuses = (results: Array<{ status: number }>) => results.map((r) => r.status)
  const slowest = (results: Array<{ ms: number }>) => Math.max(...results.map((r) => r.ms))

  describe("'open'", () => {
    it('lets requests through while Redis is stopped, within the deadline', async () => {
      const app = build('open')
      await ready(app)
      await redis.stop()
      const results = await hit(app, 5)
      expect(statuses(results)).toEqual([200, 200, 200, 200, 200])
      expect(slowest(results)).toBeLessThan(DEADLINE + SLACK)
      expect(limiter.stats()).toMatchObject({ failOpen: 5, store: { mode: 'open', errors: 5 } })
    })

    it('logs the outage once', async () => {
      const app = build('open')
      await ready(app)
      await redis.stop()
      await hit(app, 5)
      expect(logs).toHaveLength(1)
      expect(logs[0]).toMatch(/^error \[ERR_HOTPATH_RATE_LIMIT_STORE\] /)
    })

    it('counts in Redis again after a restart', async () => {
      const app = build('open')
      await ready(app)
      await redis.stop()
      await hit(app, 2)
      await redis.start()
      await untilRecovered(app)
      expect(statuses(await hit(app, 1))).toEqual([429])
      expect(logs.some((line) => line.startsWith('warn') && line.includes('answers again'))).toBe(true)
    })
  })

  describe("'closed'", () => {
    it('answers 503 with Retry-After and no-store while Redis is stopped', async () => {
      const app = build('closed')
      await ready(app)
      await redis.stop()
      const started = Date.now()
      const res = await request(app).get('/')
      expect(Date.now() - started).toBeLessThan(DEADLINE + SLACK)
      expect(res.status).toBe(503)
      expect(res.headers['retry-after']).toBe('1')
      expect(res.headers['cache-control']).toBe('no-store')
    })

    it('counts in Redis again after a restart', async () => {
      const app = build('closed')
      await ready(app)
      await redis.stop()
      expect(statuses(await hit(app, 1))).toEqual([503])
      await redis.start()
      await ready(app)
      await sleep(250)
      expect(statuses(await hit(app, 2))).toEqual([200, 429])
      expect(limiter.stats().store.mode).toBe('store')
    })
  })

  describe("'memory'", () => {
    it('enforces the same policy locally while Redis is stopped', async () => {
      const app = build('memory', 2)
      await ready(app)
      await redis.stop()
      expect(statuses(await hit(app, 3))).toEqual([200, 200, 429])
      expect(limiter.stats().store.mode).toBe('memory')
    })

    it('answers within the deadline while Redis sleeps', async () => {
      const app = build('memory', 3)
      await ready(app)
      await sleepRedis(1500)
      const results = await hit(app, 4)
      expect(slowest(results)).toBeLessThan(DEADLINE + SLACK)
      expect(statuses(results)).toEqual([200, 200, 200, 429])
      await sleep(1500)
    })

    it('counts in Redis again once Redis wakes up', async () => {
      const app = build('memory', 3)
      await ready(app)
      await sleepRedis(600)
      await hit(app, 2)
      await sleep(600)
      await untilRecovered(app)
      const client = new Redis(redis.url)
      const keys = await client.keys(`${prefix}*`)
      await client.quit()
      expect(keys).toHaveLength(1)
    })
  })

  describe('scripts and keys', () => {
    it('keeps counting after SCRIPT FLUSH', async () => {
      const app = build('closed', 3)
      await ready(app)
      await redis.cli('SCRIPT', 'FLUSH')
      expect(statuses(await hit(app, 4))).toEqual([200, 200, 200, 429])
      expect(limiter.stats().store.errors).toBe(0)
    })

    it('leaves a TTL on every key it wrote after a chaos run', async () => {
      const algorithms = ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const
      prefix = uniquePrefix('rl-chaos')
      const stores = algorithms.map((algorithm) => ({
        algorithm,
        store: new RedisStore({
          url: redis.url,
          prefix: `${prefix}${algorithm}:`,
          commandTimeout: DEADLINE,
          cooldown: 50,
        }),
      }))
      await sleep(100)
      const policyOf = (algorithm: (typeof algorithms)[number]) => ({
        algorithm,
        limit: 5,
        windowMs: 60_000,
        burst: 5,
      })
      const storm = async (rounds: number) => {
        for (let i = 0; i < rounds; i++) {
          await Promise.all(
            stores.map(({ algorithm, store }) =>
              // An open circuit throws synchronously; the promise chain takes both forms.
              Promise.resolve()
                .then(() => store.consume(`client${i % 7}`, policyOf(algorithm), 1 + (i % 3)))
                .catch(() => undefined),
            ),
          )
        }
      }
      await storm(20)
      await redis.pause(300)
      await storm(10)
      await sleep(400)
      await redis.restart()
      await sleep(300)
      await storm(20)
      await redis.cli('SCRIPT', 'FLUSH')
      await storm(20)
      const client = new Redis(redis.url)
      const keys = await client.keys(`${prefix}*`)
      const ttls = await Promise.all(keys.map((key) => client.pttl(key)))
      await client.quit()
      await Promise.all(stores.map(({ store }) => store.close()))
      expect(keys.length).toBeGreaterThan(0)
      expect(ttls.filter((ttl) => !(ttl > 0))).toEqual([])
    })
  })

  it('raised no unhandled promise rejection', async () => {
    await sleep(50)
    expect(rejections).toEqual([])
  })
})
