/**
 * Redis really stopped, frozen (SIGSTOP), paused (CLIENT PAUSE, DEBUG SLEEP) or not yet
 * started: every call waits at most commandTimeout, then serves from L1 or the factory; the
 * circuit breaker stops the waiting; the cache recovers by itself. A private redis-server.
 */
import { describeRedis, type RedisHandle, startRedis, uniquePrefix } from '../../../test/helpers/redis'
import { type Cache, createCache, RedisTier } from '../src'

const TIMEOUT = 100
/** What a call may take beyond the deadline on a loaded 2-core machine. */
const SLACK = 250
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now()
  const value = await work
  return { value, ms: performance.now() - started }
}

describeRedis('the cache when Redis fails', () => {
  let redis: RedisHandle
  let cache: Cache
  let logs: string[]
  let prefix: string
  const rejections: unknown[] = []
  const onRejection = (reason: unknown) => rejections.push(reason)

  const build = (url = redis.url) => {
    logs = []
    prefix = uniquePrefix('cache-fail')
    cache = createCache({
      l2: new RedisTier({ url, prefix, commandTimeout: TIMEOUT, cooldown: 300 }),
      logger: { warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) },
    })
    return cache
  }
  const connected = async () => {
    for (let i = 0; i < 200 && !cache.stats().bus.connected; i++) await sleep(5)
  }

  beforeAll(async () => {
    process.on('unhandledRejection', onRejection)
    redis = await startRedis()
  })
  afterEach(async () => {
    await cache?.close()
    await redis.start()
    expect(rejections).toEqual([])
  })
  afterAll(async () => {
    process.off('unhandledRejection', onRejection)
    await redis.destroy()
  })

  it('serves from the factory within commandTimeout when Redis is stopped', async () => {
    build()
    await connected()
    await redis.stop()
    const { value, ms } = await timed(cache.getOrSet('k', async () => 'computed'))
    expect(value).toBe('computed')
    expect(ms).toBeLessThan(TIMEOUT + SLACK)
  })

  it('serves an L1 value with no wait while Redis is stopped', async () => {
    build()
    await connected()
    await cache.getOrSet('k', async () => 'cached')
    await redis.stop()
    const { value, ms } = await timed(cache.getOrSet('k', async () => 'computed'))
    expect(value).toBe('cached')
    expect(ms).toBeLessThan(SLACK)
  })

  it('waits at most commandTimeout when the Redis process is frozen with SIGSTOP', async () => {
    build()
    await connected()
    process.kill(redis.pid as number, 'SIGSTOP')
    try {
      const { value, ms } = await timed(cache.getOrSet('k', async () => 'computed'))
      expect(value).toBe('computed')
      expect(ms).toBeLessThan(2 * TIMEOUT + SLACK)
    } finally {
      process.kill(redis.pid as number, 'SIGCONT')
    }
  })

  it('waits at most commandTimeout under CLIENT PAUSE', async () => {
    build()
    await connected()
    await redis.clientPause(1000)
    const { value, ms } = await timed(cache.getOrSet('k', async () => 'computed'))
    expect(value).toBe('computed')
    expect(ms).toBeLessThan(2 * TIMEOUT + SLACK)
    await sleep(1000)
  })

  it('waits at most commandTimeout while the client is still connecting', async () => {
    await redis.stop()
    build()
    const { value, ms } = await timed(cache.getOrSet('k', async () => 'computed'))
    expect(value).toBe('computed')
    expect(ms).toBeLessThan(2 * TIMEOUT + SLACK)
  })

  it('stops waiting once the circuit is open', async () => {
    build()
    await connected()
    redis.pause(2000).catch(() => undefined)
    await sleep(20)
    for (let i = 0; i < 3; i++) await cache.getOrSet(`warm${i}`, async () => i)
    expect(cache.stats().l2.circuit).toBe('open')
    const { ms } = await timed(cache.getOrSet('k', async () => 'computed'))
    expect(ms).toBeLessThan(TIMEOUT / 2)
    await sleep(2000)
  })

  it('uses Redis again by itself after a restart', async () => {
    build()
    await connected()
    await redis.stop()
    await cache.getOrSet('a', async () => 1)
    await redis.start()
    for (let i = 0; i < 100 && cache.stats().l2.circuit !== 'closed'; i++) {
      await sleep(50)
      await cache.get('probe')
    }
    const other = createCache({
      l2: new RedisTier({ url: redis.url, prefix, commandTimeout: 500 }),
      logger: { warn: () => undefined, error: () => undefined },
    })
    // The reconnect itself takes a moment after the circuit's probe: within 5 s a write of this
    // instance is read by another through Redis again.
    let seen: unknown
    for (let i = 0; i < 50 && seen !== 2; i++) {
      await cache.set('b', 2)
      seen = await other.get('b')
      if (seen !== 2) await sleep(100)
    }
    expect(seen).toBe(2)
    await other.close()
  })

  it('logs the bus outage once with a stable code', async () => {
    build()
    await connected()
    await redis.stop()
    await sleep(100)
    expect(logs.filter((m) => m.includes('ERR_HOTPATH_CACHE_BUS'))).toHaveLength(1)
    expect(cache.stats().bus.connected).toBe(false)
  })

  it('caps L1 entries at maxStaleWhenPartitioned while the bus is down', async () => {
    logs = []
    cache = createCache({
      l2: new RedisTier({ url: redis.url, prefix: uniquePrefix('cache-cap'), commandTimeout: TIMEOUT }),
      maxStaleWhenPartitioned: 200,
      logger: { warn: () => undefined, error: () => undefined },
    })
    await connected()
    await cache.getOrSet('k', async () => 'first')
    await redis.stop()
    await sleep(300)
    expect(await cache.getOrSet('k', async () => 'second')).toBe('second')
    expect(cache.stats().misses.bus).toBe(1)
  })

  it('drops L1 when the bus reconnects', async () => {
    build()
    await connected()
    await cache.set('k', 'before')
    await redis.restart()
    for (let i = 0; i < 200 && !cache.stats().bus.connected; i++) await sleep(10)
    await sleep(50)
    expect(cache.stats().entries).toBe(0)
  })
})
