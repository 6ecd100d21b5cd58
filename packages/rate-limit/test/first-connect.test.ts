/**
 * A fresh RedisStore under traffic: its owned client connects without an offline queue, so a
 * command sent during the first connect used to fail at once ("Stream isn't writeable"). The
 * store now waits for that first connection, inside `commandTimeout`.
 */
import { createServer, type Server } from 'node:net'
import type { Express } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { describeRedis, redisUrl, uniquePrefix } from '../../../test/helpers/redis'
import { type RateLimiter, RedisStore, rateLimit } from '../src'

function appWith(limiter: RateLimiter): Express {
  const app = express()
  app.use(limiter)
  app.get('/', (_req, res) => {
    res.send('ok')
  })
  return app
}

const quiet = { warn: () => undefined, error: () => undefined }

describeRedis('RedisStore first connect', () => {
  const limiters: RateLimiter[] = []
  const fresh = (prefix: string, extra: { commandTimeout?: number; url?: string } = {}): RateLimiter => {
    const store = new RedisStore({
      url: extra.url ?? redisUrl(),
      prefix,
      commandTimeout: extra.commandTimeout ?? 1000,
    })
    const limiter = rateLimit({
      store,
      limit: 5,
      window: '1h',
      algorithm: 'fixed-window',
      onStoreError: 'closed',
      logger: quiet,
    })
    limiters.push(limiter)
    return limiter
  }
  afterAll(async () => {
    await Promise.all(limiters.map((limiter) => limiter.close()))
  })

  it("counts a new instance's first request in Redis instead of applying onStoreError", async () => {
    const limiter = fresh(uniquePrefix('first'))
    const res = await request(appWith(limiter)).get('/')
    expect(res.status).toBe(200)
    expect(res.headers.ratelimit).toMatch(/;r=4;/)
    expect(limiter.stats().store).toMatchObject({ errors: 0, mode: 'store' })
  })

  it('shares the first counts of two instances booted together', async () => {
    const prefix = uniquePrefix('together')
    const one = fresh(prefix)
    const two = fresh(prefix)
    const answers = await Promise.all([request(appWith(one)).get('/'), request(appWith(two)).get('/')])
    expect(answers.map((res) => res.status)).toEqual([200, 200])
    expect((await one.get('127.0.0.1')).remaining).toBe(3)
  })

  it('applies onStoreError once the first connection has not come within commandTimeout', async () => {
    // A port that accepts connections and never answers: the client stays connecting.
    const silent: Server = createServer(() => undefined)
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const port = (silent.address() as { port: number }).port
    const limiter = fresh(uniquePrefix('never'), { url: `redis://127.0.0.1:${port}`, commandTimeout: 150 })
    const started = Date.now()
    const res = await request(appWith(limiter)).get('/')
    expect(res.status).toBe(503)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    await limiter.close()
    silent.close()
  })
})
