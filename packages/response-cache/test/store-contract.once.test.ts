import Redis, { Cluster } from 'ioredis'
import { describeRedis, redisUrl, startRedisCluster, uniquePrefix } from '../../../test/helpers/redis'
import { type CacheEntry, type CacheStore, MemoryStore, RedisStore } from '../src'

/** One contract, every store: promise-or-value answers are awaited alike. */
function storeContract(name: string, make: () => Promise<{ store: CacheStore; done: () => Promise<void> }>) {
  describe(`store contract: ${name}`, () => {
    let store: CacheStore
    let done: () => Promise<void>
    beforeAll(async () => {
      ;({ store, done } = await make())
    }, 30_000)
    afterAll(async () => {
      await store.clear()
      await done()
    })

    const entry = (body: string, extra: Partial<CacheEntry> = {}): CacheEntry => ({
      kind: 'entry',
      status: 200,
      headers: [
        ['content-type', 'application/json'],
        ['link', ['</a>; rel=x', '</b>; rel=y']],
      ],
      body: Buffer.from(body),
      variants: {},
      storedAt: 1000,
      expiresAt: 2000,
      staleUntil: 3000,
      errorUntil: 4000,
      tags: ['t1'],
      route: 'GET /x',
      front: true,
      compress: false,
      ...extra,
    })

    it('answers undefined for a key it does not hold', async () => {
      expect(await store.get('nope')).toBeUndefined()
    })

    it('returns an entry byte for byte, with its variants', async () => {
      const binary = Buffer.from([0, 1, 2, 255, 254, 10, 13])
      const value = entry('x', { body: binary, variants: { gzip: Buffer.from([31, 139, 8]) } })
      await store.set('k1', value, 10_000, ['t1'])
      const back = (await store.get('k1')) as CacheEntry
      expect(back.kind).toBe('entry')
      expect(back.body.equals(binary)).toBe(true)
      expect(back.variants.gzip?.equals(Buffer.from([31, 139, 8]))).toBe(true)
      expect(back.headers).toEqual(value.headers)
      expect([back.status, back.storedAt, back.expiresAt, back.staleUntil, back.errorUntil]).toEqual([
        200, 1000, 2000, 3000, 4000,
      ])
      expect([back.route, back.front, back.compress, back.tags]).toEqual(['GET /x', true, false, ['t1']])
    })

    it('keeps a vary marker', async () => {
      await store.set('k2', { kind: 'vary', fields: ['accept-language'], expiresAt: 5 }, 10_000, [])
      expect(await store.get('k2')).toEqual({ kind: 'vary', fields: ['accept-language'], expiresAt: 5 })
    })

    it('forgets a value after its ttl', async () => {
      await store.set('short', entry('s'), 40, [])
      await new Promise((r) => setTimeout(r, 120))
      expect(await store.get('short')).toBeUndefined()
    })

    it('removes every key with a tag and resolves how many', async () => {
      await store.set('a:1', entry('a'), 10_000, ['red', 'all'])
      await store.set('b:1', entry('b'), 10_000, ['red'])
      await store.set('c', entry('c'), 10_000, ['blue', 'all'])
      expect(await store.deleteTag('red')).toBe(2)
      expect(await store.get('a:1')).toBeUndefined()
      expect(await store.get('b:1')).toBeUndefined()
      expect(((await store.get('c')) as CacheEntry).body.toString()).toBe('c')
    })

    it('resolves 0 for a tag nobody carries', async () => {
      expect(await store.deleteTag('never-used')).toBe(0)
    })

    it('deletes one key', async () => {
      await store.set('d', entry('d'), 10_000, [])
      expect(await store.delete('d')).toBe(1)
      expect(await store.delete('d')).toBe(0)
    })

    it('clears everything it holds', async () => {
      await store.set('e1', entry('e'), 10_000, ['t'])
      await store.set('e2:x', entry('e'), 10_000, ['t'])
      await store.clear()
      expect(await store.get('e1')).toBeUndefined()
      expect(await store.get('e2:x')).toBeUndefined()
      expect(await store.deleteTag('t')).toBe(0)
    })

    it('gives a lock to one holder at a time', async () => {
      const token = await store.lock('L1', 5000)
      expect(typeof token).toBe('string')
      expect(await store.lock('L1', 5000)).toBeUndefined()
      await store.unlock('L1', token as string)
      expect(typeof (await store.lock('L1', 5000))).toBe('string')
    })

    it('keeps a lock when the wrong token unlocks it', async () => {
      await store.lock('L2', 5000)
      await store.unlock('L2', 'not-mine')
      expect(await store.lock('L2', 5000)).toBeUndefined()
    })

    it('lets a lock expire', async () => {
      await store.lock('L3', 40)
      await new Promise((r) => setTimeout(r, 120))
      expect(typeof (await store.lock('L3', 5000))).toBe('string')
    })
  })
}

storeContract('MemoryStore', async () => ({ store: new MemoryStore(), done: async () => undefined }))

describeRedis('RedisStore', () => {
  storeContract('RedisStore (standalone)', async () => {
    const client = new Redis(redisUrl())
    return {
      store: new RedisStore({ client, prefix: uniquePrefix('cache-contract') }),
      done: async () => void (await client.quit()),
    }
  })

  describe('on a 3-master cluster', () => {
    let cluster: Awaited<ReturnType<typeof startRedisCluster>>
    beforeAll(async () => {
      cluster = await startRedisCluster()
    }, 60_000)
    afterAll(async () => {
      await cluster?.stop()
    })
    storeContract('RedisStore (cluster)', async () => {
      const client = new Cluster(cluster.nodes)
      await new Promise((resolve) => client.once('ready', resolve))
      return {
        store: new RedisStore({ client, prefix: uniquePrefix('cache-cluster') }),
        done: async () => void (await client.quit()),
      }
    })
  })
})
