import Redis from 'ioredis'
import { describeRedis, redisUrl, uniquePrefix } from '../../../test/helpers/redis'
import { MemoryStore, type Policy, RedisStore } from '../src'
import { makeClock } from './contract'

const policy: Policy = { algorithm: 'fixed-window', limit: 1, windowMs: 1000, burst: 1 }

describe('MemoryStore', () => {
  it('drops the least recently used key beyond maxKeys', () => {
    const clock = makeClock()
    const store = new MemoryStore({ maxKeys: 2, now: clock.now })
    store.consume('a', policy, 1)
    store.consume('b', policy, 1)
    store.consume('c', policy, 1)
    expect(store.size).toBe(2)
    expect(store.consume('a', policy, 1).allowed).toBe(true)
    expect(store.consume('c', policy, 1).allowed).toBe(false)
  })

  it('drops an expired record when it reaches the old end', () => {
    const clock = makeClock()
    const store = new MemoryStore({ now: clock.now })
    store.consume('a', policy, 1)
    clock.t += 5000
    store.consume('b', policy, 1)
    expect(store.size).toBe(1)
  })

  it('does not store a read', () => {
    const store = new MemoryStore()
    store.consume('a', policy, 0)
    expect(store.size).toBe(0)
  })

  it('answers synchronously', () => {
    const answer = new MemoryStore().consume('a', policy, 1)
    expect(answer).toEqual({ allowed: true, remaining: 0, resetMs: expect.any(Number), retryAfterMs: 0 })
  })

  it('forgets everything on close', () => {
    const store = new MemoryStore()
    store.consume('a', policy, 1)
    store.close()
    expect(store.size).toBe(0)
  })

  it('rejects a maxKeys that is not a positive integer', () => {
    expect(() => new MemoryStore({ maxKeys: 0 })).toThrow(/maxKeys must be a positive integer/)
  })
})

describe('RedisStore options', () => {
  it('needs a client or a url', () => {
    expect(() => new RedisStore({})).toThrow(/pass exactly one of \{ client \}/)
  })
  it('rejects an unknown option', () => {
    expect(() => new RedisStore({ url: 'redis://127.0.0.1:1', prefx: 'x' } as object)).toThrow(
      /Did you mean "prefix"\?/,
    )
  })
})

describeRedis('RedisStore keys', () => {
  let client: Redis
  beforeAll(() => {
    client = new Redis(redisUrl())
  })
  afterAll(async () => {
    await client.quit()
  })

  it('writes one hash-tagged key per client key, with a TTL', async () => {
    const prefix = uniquePrefix('rl-keys')
    const store = new RedisStore({ client, prefix })
    await store.consume('default:1.2.3.4', { ...policy, algorithm: 'sliding-window', windowMs: 60_000 }, 1)
    const keys = await client.keys(`${prefix}*`)
    expect(keys).toEqual([`${prefix}{default:1.2.3.4}`])
    expect(await client.pttl(keys[0] as string)).toBeGreaterThan(60_000)
  })

  it('counts on the Redis clock when no clock is given', async () => {
    const store = new RedisStore({ client, prefix: uniquePrefix('rl-time') })
    const answer = await store.consume('k', { ...policy, windowMs: 3_600_000 }, 1)
    const [seconds] = await client.time()
    const elapsed = (Number(seconds) * 1000) % 3_600_000
    expect(Math.abs(answer.resetMs - (3_600_000 - elapsed))).toBeLessThan(2000)
  })

  it('does not write a key for a read', async () => {
    const prefix = uniquePrefix('rl-read')
    const store = new RedisStore({ client, prefix, now: makeClock().now })
    for (const algorithm of ['fixed-window', 'sliding-window', 'token-bucket', 'gcra'] as const) {
      await store.consume('k', { ...policy, algorithm }, 0)
    }
    expect(await client.keys(`${prefix}*`)).toEqual([])
  })
})
