import { HotpathError } from '@hotpath/core'
import { Registry } from 'prom-client'
import { createCache, MemoryTier, SKIP } from '../src'

const quiet = { warn: () => undefined, error: () => undefined }

function clock(start = 1_000_000) {
  let t = start
  return { now: () => t, advance: (ms: number) => (t += ms) }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('getOrSet over the memory tier', () => {
  it('runs the factory once and returns the cached value after', async () => {
    const cache = createCache({ logger: quiet })
    let runs = 0
    const factory = async () => ({ id: 1, runs: ++runs })
    expect(await cache.getOrSet('p:1', factory)).toEqual({ id: 1, runs: 1 })
    expect(await cache.getOrSet('p:1', factory)).toEqual({ id: 1, runs: 1 })
    expect(runs).toBe(1)
    expect(cache.stats().hits.l1).toBe(1)
    expect(cache.stats().misses.cold).toBe(1)
    await cache.close()
  })

  it('runs the factory once for 1,000 concurrent callers of one missing key', async () => {
    const cache = createCache({ logger: quiet })
    let runs = 0
    const factory = async () => {
      runs++
      await sleep(20)
      return 'value'
    }
    const values = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrSet('hot', factory)))
    expect(runs).toBe(1)
    expect(new Set(values)).toEqual(new Set(['value']))
    await cache.close()
  })

  it('derives one key from parts whatever the order of object fields', async () => {
    const cache = createCache({ logger: quiet })
    let runs = 0
    await cache.getOrSet(['q', { b: 2, a: 1 }], async () => ++runs)
    expect(await cache.getOrSet(['q', { a: 1, b: 2 }], async () => ++runs)).toBe(1)
    expect(await cache.get(['q', { a: 1, b: 2 }])).toBe(1)
    await cache.close()
  })

  it('tells keys longer than 200 characters apart by their hash', async () => {
    const cache = createCache({ logger: quiet })
    const long = 'x'.repeat(300)
    await cache.set(`${long}a`, 'a')
    await cache.set(`${long}b`, 'b')
    expect(await cache.get(`${long}a`)).toBe('a')
    expect(await cache.get(`${long}b`)).toBe('b')
    await cache.close()
  })

  it('calls the factory again once the ttl has passed', async () => {
    const c = clock()
    const cache = createCache({ logger: quiet, now: c.now, ttl: '1m' })
    let runs = 0
    await cache.getOrSet('k', async () => ++runs)
    c.advance(59_000)
    expect(await cache.getOrSet('k', async () => ++runs)).toBe(1)
    c.advance(2_000)
    expect(await cache.getOrSet('k', async () => ++runs)).toBe(2)
    expect(cache.stats().misses.expired).toBe(1)
    await cache.close()
  })

  it('rejects a bad key with ERR_HOTPATH_CACHE_KEY', async () => {
    const cache = createCache({ logger: quiet })
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    await expect(cache.getOrSet(['x', cyclic], async () => 1)).rejects.toMatchObject({
      code: 'ERR_HOTPATH_CACHE_KEY',
    })
    await expect(cache.getOrSet([], async () => 1)).rejects.toMatchObject({ code: 'ERR_HOTPATH_CACHE_KEY' })
    await cache.close()
  })
})

describe('when the factory fails or is slow', () => {
  it('gives the caller the factory error when there is no graced value, and caches nothing', async () => {
    const cache = createCache({ logger: quiet })
    await expect(
      cache.getOrSet('k', async () => {
        throw new Error('db down')
      }),
    ).rejects.toThrow('db down')
    expect(await cache.getOrSet('k', async () => 'ok')).toBe('ok')
    await cache.close()
  })

  it('serves the graced value when the factory throws after the ttl', async () => {
    const c = clock()
    const cache = createCache({ logger: quiet, now: c.now, ttl: '1m', grace: '1h' })
    await cache.getOrSet('k', async () => 'old')
    c.advance(61_000)
    const value = await cache.getOrSet('k', async () => {
      throw new Error('db down')
    })
    expect(value).toBe('old')
    expect(cache.stats().staleServed).toBe(1)
    await cache.close()
  })

  it('does not call a failing factory again within graceBackoff', async () => {
    const c = clock()
    const cache = createCache({ logger: quiet, now: c.now, ttl: '1m', grace: '1h', graceBackoff: '10s' })
    await cache.getOrSet('k', async () => 'old')
    c.advance(61_000)
    let calls = 0
    const failing = async (): Promise<string> => {
      calls++
      throw new Error('db down')
    }
    await cache.getOrSet('k', failing)
    c.advance(5_000)
    expect(await cache.getOrSet('k', failing)).toBe('old')
    expect(calls).toBe(1)
    c.advance(6_000)
    expect(await cache.getOrSet('k', failing)).toBe('old')
    expect(calls).toBe(2)
    await cache.close()
  })

  it('returns the graced value after softTimeout and stores the late result', async () => {
    const c = clock()
    const cache = createCache({ logger: quiet, now: c.now, ttl: '1m', grace: '1h' })
    await cache.getOrSet('k', async () => 'old')
    c.advance(61_000)
    const slow = async () => {
      await sleep(80)
      return 'new'
    }
    expect(await cache.getOrSet('k', slow, { softTimeout: 10 })).toBe('old')
    expect(cache.stats().timeouts.soft).toBe(1)
    await sleep(120)
    expect(await cache.getOrSet('k', slow)).toBe('new')
    await cache.close()
  })

  it('aborts the factory at hardTimeout and rejects ERR_HOTPATH_CACHE_TIMEOUT without a graced value', async () => {
    const cache = createCache({ logger: quiet })
    let aborted = false
    const slow = ({ signal }: { signal: AbortSignal }) =>
      new Promise<string>((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true
        })
        setTimeout(() => resolve('late'), 200)
      })
    await expect(cache.getOrSet('k', slow, { hardTimeout: 20 })).rejects.toMatchObject({
      code: 'ERR_HOTPATH_CACHE_TIMEOUT',
    })
    expect(aborted).toBe(true)
    expect(cache.stats().timeouts.hard).toBe(1)
    await cache.close()
  })

  it('hands the factory the graced value as ctx.stale', async () => {
    const c = clock()
    const cache = createCache({ logger: quiet, now: c.now, ttl: '1m', grace: '1h' })
    await cache.getOrSet('k', async () => 1)
    c.advance(61_000)
    expect(await cache.getOrSet<number>('k', async ({ stale }) => (stale ?? 0) + 1)).toBe(2)
    await cache.close()
  })
})

describe('what gets cached', () => {
  it('does not cache an undefined result by default', async () => {
    const cache = createCache({ logger: quiet })
    let runs = 0
    await cache.getOrSet('k', async () => {
      runs++
      return undefined
    })
    await cache.getOrSet('k', async () => {
      runs++
      return undefined
    })
    expect(runs).toBe(2)
    await cache.close()
  })

  it('caches a null result for negativeTtl', async () => {
    const c = clock()
    const cache = createCache({ logger: quiet, now: c.now })
    let runs = 0
    const missing = async () => {
      runs++
      return null
    }
    expect(await cache.getOrSet('k', missing, { negativeTtl: '10s' })).toBeNull()
    expect(await cache.getOrSet('k', missing, { negativeTtl: '10s' })).toBeNull()
    expect(runs).toBe(1)
    c.advance(11_000)
    await cache.getOrSet('k', missing, { negativeTtl: '10s' })
    expect(runs).toBe(2)
    await cache.close()
  })

  it('caches nothing when the factory returns ctx.skip()', async () => {
    const cache = createCache({ logger: quiet })
    expect(await cache.getOrSet('k', ({ skip }) => skip())).toBeUndefined()
    expect(await cache.has('k')).toBe(false)
    expect(SKIP).toBeDefined()
    await cache.close()
  })

  it('uses the ttl the factory sets with ctx.setTtl', async () => {
    const c = clock()
    const cache = createCache({ logger: quiet, now: c.now, ttl: '1h' })
    await cache.getOrSet('k', async ({ setTtl }) => {
      setTtl('1s')
      return 'v'
    })
    c.advance(1_500)
    expect(await cache.get('k')).toBeUndefined()
    await cache.close()
  })

  it('rejects a value that cannot be serialized with ERR_HOTPATH_CACHE_SERIALIZE', async () => {
    const cache = createCache({ logger: quiet })
    await expect(cache.getOrSet('k', async () => ({ fn: () => 1 }))).rejects.toMatchObject({
      code: 'ERR_HOTPATH_CACHE_SERIALIZE',
    })
    await expect(cache.set('k', { fn: () => 1 })).rejects.toBeInstanceOf(HotpathError)
    await cache.close()
  })

  it('does not store a value larger than maxEntryBytes, and counts it', async () => {
    const cache = createCache({
      logger: quiet,
      l1: new MemoryTier({ maxBytes: '1mb', maxEntryBytes: '1kb' }),
    })
    let runs = 0
    const big = async () => {
      runs++
      return 'x'.repeat(4096)
    }
    expect(await cache.getOrSet('k', big)).toHaveLength(4096)
    await cache.getOrSet('k', big)
    expect(runs).toBe(2)
    expect(cache.stats().oversized).toBe(2)
    await cache.close()
  })

  it('keeps the memory tier within maxBytes by evicting, and says why the next miss happened', async () => {
    const cache = createCache({ logger: quiet, l1: new MemoryTier({ maxBytes: '64kb' }) })
    for (let i = 0; i < 1000; i++) await cache.set(`k${i}`, 'v'.repeat(100))
    const stats = cache.stats()
    expect(stats.bytes).toBeLessThanOrEqual(64 * 1024)
    expect(stats.evictions).toBeGreaterThan(0)
    await cache.getOrSet('k0', async () => 'again')
    expect(cache.stats().misses.evicted).toBe(1)
    await cache.close()
  })
})

describe('tags', () => {
  it('deleteByTag drops every entry with the tag and keeps the others', async () => {
    const cache = createCache({ logger: quiet })
    await cache.getOrSet('a', async () => 'a', { tags: ['products'] })
    await cache.getOrSet('b', async () => 'b', { tags: ['users'] })
    await cache.deleteByTag('products')
    expect(await cache.get('a')).toBeUndefined()
    expect(await cache.get('b')).toBe('b')
    expect(cache.stats().misses.tag).toBe(1)
    await cache.close()
  })

  it('expireByTag keeps the entry as a graced value', async () => {
    const cache = createCache({ logger: quiet, grace: '1h' })
    await cache.getOrSet('a', async () => 'old', { tags: ['products'] })
    await cache.expireByTag('products')
    expect(await cache.get('a')).toBeUndefined()
    const value = await cache.getOrSet('a', async () => {
      throw new Error('db down')
    })
    expect(value).toBe('old')
    await cache.close()
  })

  it('drops entries tagged by the factory through ctx.setTags', async () => {
    const cache = createCache({ logger: quiet })
    await cache.getOrSet('a', async ({ setTags }) => {
      setTags(['product:7'])
      return 'a'
    })
    await cache.deleteByTag('product:7')
    expect(await cache.has('a')).toBe(false)
    await cache.close()
  })

  it('does not store a value computed across an invalidation of its tag as fresh', async () => {
    const cache = createCache({ logger: quiet })
    const computing = cache.getOrSet(
      'a',
      async () => {
        await sleep(30)
        return 'read before the write'
      },
      { tags: ['products'] },
    )
    await sleep(5)
    await cache.deleteByTag('products')
    await computing
    expect(await cache.get('a')).toBeUndefined()
    await cache.close()
  })

  it('invalidates the tag in a linked response cache too', async () => {
    const calls: unknown[] = []
    const responseCache = { invalidate: async (target: { tag: string }) => calls.push(target) }
    const cache = createCache({ logger: quiet, responseCaches: [responseCache] })
    await cache.deleteByTag('products')
    const other = { invalidate: async (target: { tag: string }) => calls.push({ other: target.tag }) }
    const unlink = cache.link(other)
    await cache.deleteByTag('users')
    unlink()
    await cache.deleteByTag('orders')
    expect(calls).toEqual([{ tag: 'products' }, { tag: 'users' }, { other: 'users' }, { tag: 'orders' }])
    await cache.close()
  })
})

describe('refresh ahead', () => {
  it('refreshes in the background once the fraction of the ttl has passed', async () => {
    const c = clock()
    const cache = createCache({ logger: quiet, now: c.now, ttl: '100s' })
    let runs = 0
    const factory = async () => ++runs
    await cache.getOrSet('k', factory, { refreshAhead: 0.8 })
    c.advance(50_000)
    expect(await cache.getOrSet('k', factory, { refreshAhead: 0.8 })).toBe(1)
    expect(runs).toBe(1)
    c.advance(31_000)
    expect(await cache.getOrSet('k', factory, { refreshAhead: 0.8 })).toBe(1)
    await sleep(5)
    expect(runs).toBe(2)
    expect(await cache.getOrSet('k', factory, { refreshAhead: 0.8 })).toBe(2)
    await cache.close()
  })

  it('refreshes from the measured p95 with refreshAhead auto', async () => {
    const c = clock()
    const cache = createCache({ logger: quiet, now: c.now, ttl: '10s' })
    let runs = 0
    const factory = async () => {
      await sleep(30)
      return ++runs
    }
    await cache.getOrSet('k', factory, { refreshAhead: 'auto' })
    c.advance(5_000)
    await cache.getOrSet('k', factory, { refreshAhead: 'auto' })
    await sleep(50)
    expect(runs).toBe(1)
    c.advance(4_980)
    await cache.getOrSet('k', factory, { refreshAhead: 'auto' })
    await sleep(60)
    expect(runs).toBe(2)
    await cache.close()
  })
})

describe('the rest of the API', () => {
  it('getMany returns values in order with undefined for the missing', async () => {
    const cache = createCache({ logger: quiet })
    await cache.setMany([
      ['a', 1],
      ['b', 2, { ttl: '1m' }],
    ])
    expect(await cache.getMany(['a', 'x', 'b'])).toEqual([1, undefined, 2])
    await cache.close()
  })

  it('delete removes one key and has reports it', async () => {
    const cache = createCache({ logger: quiet })
    await cache.set('a', 1)
    expect(await cache.has('a')).toBe(true)
    expect(await cache.delete('a')).toBe(true)
    expect(await cache.has('a')).toBe(false)
    await cache.close()
  })

  it('clear of a namespace leaves the parent and sibling entries', async () => {
    const cache = createCache({ logger: quiet })
    const users = cache.namespace('users')
    const orders = cache.namespace('orders')
    await cache.set('a', 'root')
    await users.set('a', 'user')
    await orders.set('a', 'order')
    await users.clear()
    expect(await cache.get('a')).toBe('root')
    expect(await users.get('a')).toBeUndefined()
    expect(await orders.get('a')).toBe('order')
    await cache.close()
  })

  it('counts hits and factory runs per namespace', async () => {
    const cache = createCache({ logger: quiet })
    const users = cache.namespace('users')
    await users.getOrSet('u1', async () => 1)
    await users.getOrSet('u1', async () => 1)
    const ns = cache.stats().namespaces.users
    expect(ns).toMatchObject({ hits: 1, misses: 1, factoryRuns: 1, hitRatio: 0.5 })
    expect(users.label).toBe('users')
    expect(cache.name).toBe('data-cache')
    await cache.close()
  })

  it('wrap caches a function by its arguments', async () => {
    const cache = createCache({ logger: quiet })
    let runs = 0
    const byId = cache.wrap(async function productById(id: number) {
      runs++
      return { id }
    })
    expect(await byId(1)).toEqual({ id: 1 })
    expect(await byId(1)).toEqual({ id: 1 })
    expect(await byId(2)).toEqual({ id: 2 })
    expect(runs).toBe(2)
    await cache.close()
  })

  it('wrap rejects ERR_HOTPATH_CACHE_KEY when the key function throws', async () => {
    const cache = createCache({ logger: quiet })
    const wrapped = cache.wrap(async (id: number) => id, {
      key: () => {
        throw new Error('nope')
      },
    })
    await expect(wrapped(1)).rejects.toMatchObject({ code: 'ERR_HOTPATH_CACHE_KEY' })
    await cache.close()
  })

  it('warm fills the cache from [key, factory] pairs', async () => {
    const cache = createCache({ logger: quiet })
    const count = await cache.warm(
      [1, 2, 3].map((id) => [['p', id], async () => ({ id })] as const),
      { concurrency: 2 },
    )
    expect(count).toBe(3)
    expect(await cache.get(['p', 2])).toEqual({ id: 2 })
    await cache.close()
  })

  it('warm on an interval recomputes the cached values', async () => {
    const cache = createCache({ logger: quiet })
    let version = 0
    await cache.warm(() => [['config', async () => version]] as const, { interval: 30 })
    expect(await cache.get('config')).toBe(0)
    version = 1
    await sleep(80)
    expect(await cache.get('config')).toBe(1)
    await cache.close()
  })

  it('warm skips a failing factory and counts the others', async () => {
    const cache = createCache({ logger: quiet })
    const count = await cache.warm([
      ['a', async () => 1],
      [
        'b',
        async () => {
          throw new Error('nope')
        },
      ],
    ])
    expect(count).toBe(1)
    await cache.close()
  })

  it('rejects ERR_HOTPATH_OPTION when the factory is not a function', async () => {
    const cache = createCache({ logger: quiet })
    await expect(cache.getOrSet('k', 'value' as never)).rejects.toMatchObject({ code: 'ERR_HOTPATH_OPTION' })
    await cache.close()
  })

  it('refresh runs the last factory of a key again', async () => {
    const cache = createCache({ logger: quiet })
    let runs = 0
    await cache.getOrSet('k', async () => ++runs)
    expect(await cache.refresh('k')).toBe(true)
    expect(await cache.get('k')).toBe(2)
    expect(await cache.refresh('unknown')).toBe(false)
    await cache.close()
  })
})

describe('the Bloom filter in memory', () => {
  it('returns undefined for an id the filter says is absent without calling the factory', async () => {
    const cache = createCache({ logger: quiet, bloom: { expected: 1000, load: () => ['1', '2', '3'] } })
    await sleep(5)
    let runs = 0
    expect(await cache.getOrSet(['p', 999], async () => ++runs, { bloom: '999' })).toBeUndefined()
    expect(await cache.getOrSet(['p', 2], async () => ++runs, { bloom: '2' })).toBe(1)
    expect(runs).toBe(1)
    expect(cache.stats().bloom?.rejected).toBe(1)
    await cache.close()
  })

  it('answers "maybe" until its first load completes', async () => {
    let release: (ids: string[]) => void = () => undefined
    const loaded = new Promise<string[]>((resolve) => {
      release = resolve
    })
    const cache = createCache({ logger: quiet, bloom: { expected: 100, load: () => loaded } })
    expect(await cache.bloom?.has('anything')).toBe(true)
    release(['1'])
    await sleep(5)
    expect(await cache.bloom?.has('anything')).toBe(false)
    await cache.close()
  })

  it('rebuild reads load again', async () => {
    let ids = ['1']
    const cache = createCache({ logger: quiet, bloom: { expected: 100, load: () => ids } })
    await sleep(5)
    ids = ['2']
    expect(await cache.bloom?.rebuild()).toBe(1)
    expect(await cache.bloom?.has('2')).toBe(true)
    expect(await cache.bloom?.has('1')).toBe(false)
    await cache.close()
  })

  it('knows an id added after the load', async () => {
    const cache = createCache({ logger: quiet, bloom: { expected: 1000, load: () => [] } })
    await sleep(5)
    expect(await cache.bloom?.has('42')).toBe(false)
    await cache.bloom?.add('42')
    expect(await cache.bloom?.has('42')).toBe(true)
    await cache.close()
  })

  it('calls the factory for at most 1.1% of absent ids at a 1% false-positive rate', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `id-${i}`)
    const cache = createCache({
      logger: quiet,
      bloom: { expected: 10_000, falsePositiveRate: 0.01, load: () => ids },
    })
    await sleep(20)
    let present = 0
    for (let i = 0; i < 100_000; i++) if (await cache.bloom?.has(`absent-${i}`)) present++
    expect(present / 100_000).toBeLessThanOrEqual(0.011)
    for (const id of ids.slice(0, 100)) expect(await cache.bloom?.has(id)).toBe(true)
    await cache.close()
  })
})

describe('options', () => {
  it('throws ERR_HOTPATH_OPTION with a suggestion for a misspelt option', () => {
    expect(() => createCache({ tll: '5m' } as never)).toThrow(/Did you mean "ttl"/)
  })

  it('throws for a bad duration naming the option', () => {
    expect(() => createCache({ ttl: 'soon' })).toThrow(/ttl/)
  })

  it('rejects a bad per-call option', async () => {
    const cache = createCache({ logger: quiet })
    await expect(cache.getOrSet('k', async () => 1, { refreshAhead: 2 })).rejects.toMatchObject({
      code: 'ERR_HOTPATH_OPTION',
    })
    await cache.close()
  })

  it('does not change the options it is given', () => {
    const options = Object.freeze({ ttl: '1m', grace: '1h', lock: Object.freeze({ ttl: '5s' }) })
    expect(() => createCache(options).close()).not.toThrow()
  })

  it('refuses one memory tier for two caches', () => {
    const l1 = new MemoryTier()
    createCache({ l1 })
    expect(() => createCache({ l1 })).toThrow(/belongs to another cache/)
  })
})

describe('metrics', () => {
  it('exposes hits and misses on the registry', async () => {
    const registry = new Registry()
    const cache = createCache({ logger: quiet, registry })
    await cache.getOrSet('k', async () => 1)
    await cache.getOrSet('k', async () => 1)
    const text = await registry.metrics()
    expect(text).toContain('hotpath_data_cache_hits_total{cache="default",tier="l1"} 1')
    expect(text).toContain('hotpath_data_cache_misses_total{cache="default",reason="cold"} 1')
    await cache.close()
  })
})
