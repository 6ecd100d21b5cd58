/**
 * The Redis tier on a private redis-server (so command counts are ours alone): L2 hits,
 * one round trip per batch, no round trip for an L1 hit, tags through Redis, the Bloom
 * bitmap, and the 3-master Cluster.
 */
import Redis, { Cluster } from 'ioredis'
import {
  describeRedis,
  type RedisClusterHandle,
  type RedisHandle,
  startRedis,
  startRedisCluster,
  uniquePrefix,
} from '../../../test/helpers/redis'
import { type Cache, createCache, MemoryTier, RedisTier } from '../src'

const quiet = { warn: () => undefined, error: () => undefined }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function commandCalls(probe: Redis): Promise<Record<string, number>> {
  const text = (await probe.info('commandstats')) as string
  const out: Record<string, number> = {}
  for (const match of text.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g))
    out[match[1] as string] = Number(match[2])
  return out
}

function delta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, calls] of Object.entries(after)) {
    const d = calls - (before[name] ?? 0)
    if (d !== 0 && name !== 'info') out[name] = d
  }
  return out
}

describeRedis('the Redis tier', () => {
  let redis: RedisHandle
  let probe: Redis
  const open: Cache[] = []
  const make = (prefix: string, extra: object = {}) => {
    const cache = createCache({
      l2: new RedisTier({ url: redis.url, prefix, commandTimeout: 500 }),
      logger: quiet,
      ...extra,
    })
    open.push(cache)
    return cache
  }
  const ready = async (cache: Cache) => {
    for (let i = 0; i < 400 && !(cache.stats().bus.connected && cache.stats().l2.tagsLoaded); i++)
      await sleep(5)
  }

  beforeAll(async () => {
    redis = await startRedis()
    probe = new Redis(redis.url)
  })
  afterEach(async () => {
    await Promise.all(open.splice(0).map((cache) => cache.close()))
  })
  afterAll(async () => {
    probe.disconnect()
    await redis.destroy()
  })

  it('serves a value written by one instance from L2 in another', async () => {
    const prefix = uniquePrefix('cache-l2')
    const a = make(prefix)
    const b = make(prefix)
    await a.set('p:1', { id: 1 })
    let runs = 0
    expect(await b.getOrSet('p:1', async () => ++runs)).toEqual({ id: 1 })
    expect(runs).toBe(0)
    expect(b.stats().hits.l2).toBe(1)
  })

  it('makes no Redis round trip for an L1 hit, tags included', async () => {
    const cache = make(uniquePrefix('cache-l1'))
    await ready(cache)
    await cache.getOrSet('p:1', async () => 1, { tags: ['products', 'product:1'] })
    await sleep(20)
    const before = await commandCalls(probe)
    for (let i = 0; i < 100; i++) await cache.getOrSet('p:1', async () => 2, { tags: ['products'] })
    const after = await commandCalls(probe)
    expect(delta(before, after)).toEqual({})
  })

  it('reads many keys with one MGET', async () => {
    const prefix = uniquePrefix('cache-mget')
    const writer = make(prefix)
    await writer.setMany([
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ])
    const reader = make(prefix)
    await ready(reader)
    const before = await commandCalls(probe)
    expect(await reader.getMany(['a', 'b', 'x', 'c'])).toEqual([1, 2, undefined, 3])
    expect(delta(before, await commandCalls(probe))).toEqual({ mget: 1 })
  })

  it('writes many keys in one pipeline of SETs', async () => {
    const cache = make(uniquePrefix('cache-mset'))
    await ready(cache)
    const before = await commandCalls(probe)
    await cache.setMany([
      ['a', 1],
      ['b', 2],
    ])
    expect(delta(before, await commandCalls(probe))).toEqual({ set: 2, publish: 1 })
  })

  it('does not serve an L2 entry whose tag another instance deleted', async () => {
    const prefix = uniquePrefix('cache-tag')
    const a = make(prefix)
    await a.getOrSet('p:1', async () => 'old', { tags: ['products'] })
    await a.deleteByTag('products')
    const b = make(prefix)
    await ready(b)
    await sleep(20)
    expect(await b.getOrSet('p:1', async () => 'new', { tags: ['products'] })).toBe('new')
  })

  it('keeps an expired-by-tag L2 entry as a graced value', async () => {
    const prefix = uniquePrefix('cache-soft')
    const a = make(prefix, { grace: '1h' })
    await a.getOrSet('p:1', async () => 'old', { tags: ['products'] })
    await a.expireByTag('products')
    const b = make(prefix, { grace: '1h' })
    await ready(b)
    await sleep(20)
    const value = await b.getOrSet('p:1', async () => {
      throw new Error('db down')
    })
    expect(value).toBe('old')
  })

  it('runs the factory once for two instances without a bus, waiters polling the lease', async () => {
    const prefix = uniquePrefix('cache-nobus')
    const a = make(prefix, { bus: false, lock: { wait: '2s' } })
    const b = make(prefix, { bus: false, lock: { wait: '2s' } })
    let runs = 0
    const factory = async () => {
      runs++
      await sleep(100)
      return 'v'
    }
    const values = await Promise.all([
      ...Array.from({ length: 20 }, () => a.getOrSet('hot', factory)),
      ...Array.from({ length: 20 }, () => b.getOrSet('hot', factory)),
    ])
    expect(runs).toBe(1)
    expect(new Set(values)).toEqual(new Set(['v']))
    expect(a.stats().locks.waits + b.stats().locks.waits).toBe(1)
  })

  it('deletes a key in Redis so no instance reads it again', async () => {
    const prefix = uniquePrefix('cache-del')
    const a = make(prefix)
    await a.set('k', 1)
    await a.delete('k')
    const b = make(prefix)
    expect(await b.get('k')).toBeUndefined()
  })

  it('clears its namespace in Redis and nothing else', async () => {
    const prefix = uniquePrefix('cache-clear')
    const a = make(prefix)
    await a.set('root', 1)
    await a.namespace('users').set('u1', 2)
    await a.namespace('users').clear()
    const b = make(prefix, { l1: new MemoryTier() })
    expect(await b.get('root')).toBe(1)
    expect(await b.namespace('users').get('u1')).toBeUndefined()
  })

  it('keeps the Bloom filter as a Redis bitmap shared by instances', async () => {
    const prefix = uniquePrefix('cache-bloom')
    let loads = 0
    const load = () => {
      loads++
      return Array.from({ length: 1000 }, (_, i) => String(i))
    }
    const a = make(prefix, { bloom: { expected: 1000, load } })
    await a.bloom?.has('0')
    for (let i = 0; i < 100 && !a.bloom?.ready; i++) await sleep(10)
    expect(await probe.exists(`${prefix}{bloom}`)).toBe(1)
    const b = make(prefix, { bloom: { expected: 1000, load } })
    await b.bloom?.has('0')
    for (let i = 0; i < 100 && !b.bloom?.ready; i++) await sleep(10)
    expect(loads).toBe(1)
    let runs = 0
    expect(await b.getOrSet(['p', 'absent-1'], async () => ++runs, { bloom: 'absent-1' })).toBeUndefined()
    expect(await b.getOrSet(['p', '5'], async () => ++runs, { bloom: '5' })).toBe(1)
    await a.bloom?.add('new-id')
    expect(await b.bloom?.has('new-id')).toBe(true)
  })

  it('answers "maybe" from the Bloom filter while Redis is unreachable', async () => {
    const prefix = uniquePrefix('cache-bloom-down')
    const other = await startRedis()
    const cache = createCache({
      l2: new RedisTier({ url: other.url, prefix, commandTimeout: 100 }),
      bloom: { expected: 10, load: () => ['1'] },
      logger: quiet,
    })
    open.push(cache)
    for (let i = 0; i < 100 && !cache.bloom?.ready; i++) await sleep(10)
    await other.stop()
    expect(await cache.bloom?.has('absent')).toBe(true)
    await other.destroy()
  })
})

describeRedis('the Redis tier on a 3-master Cluster', () => {
  let cluster: RedisClusterHandle
  let clients: Cluster[] = []
  const open: Cache[] = []
  const make = (prefix: string) => {
    const client = new Cluster(cluster.nodes, { enableAutoPipelining: true })
    clients.push(client)
    const cache = createCache({ l2: new RedisTier({ client, prefix, commandTimeout: 1000 }), logger: quiet })
    open.push(cache)
    return cache
  }

  beforeAll(async () => {
    cluster = await startRedisCluster(3)
  }, 60_000)
  afterAll(async () => {
    await Promise.all(open.map((cache) => cache.close()))
    await Promise.all(clients.map((client) => client.quit().catch(() => undefined)))
    clients = []
    await cluster.stop()
  })

  it('shares values, tags and batches across slots', async () => {
    const prefix = uniquePrefix('cache-cluster')
    const a = make(prefix)
    const b = make(prefix)
    const up = (c: Cache) => c.stats().bus.connected && c.stats().l2.tagsLoaded
    for (let i = 0; i < 200 && !(up(a) && up(b)); i++) await sleep(10)
    await a.setMany(Array.from({ length: 20 }, (_, i) => [`k${i}`, i, { tags: ['all'] }] as const))
    expect(await b.getMany(Array.from({ length: 20 }, (_, i) => `k${i}`))).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    )
    await a.deleteByTag('all')
    for (let i = 0; i < 100 && (await b.get('k3')) !== undefined; i++) await sleep(10)
    expect(await b.get('k3')).toBeUndefined()
  })

  it('runs the factory once for two instances with the lease on a Cluster', async () => {
    const prefix = uniquePrefix('cache-cluster-lock')
    const a = make(prefix)
    const b = make(prefix)
    for (let i = 0; i < 200 && !(a.stats().bus.connected && b.stats().bus.connected); i++) await sleep(10)
    let runs = 0
    const factory = async () => {
      runs++
      await sleep(50)
      return 'v'
    }
    const values = await Promise.all([
      ...Array.from({ length: 50 }, () => a.getOrSet('hot', factory)),
      ...Array.from({ length: 50 }, () => b.getOrSet('hot', factory)),
    ])
    expect(runs).toBe(1)
    expect(new Set(values)).toEqual(new Set(['v']))
  })
})
