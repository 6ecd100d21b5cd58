// A product route whose data comes through a data cache's getOrSet: `peer: 'hotpath'`
// (@hotpath/cache), `'bentocache'` or `'cache-manager'`, or `'none'` (the "database" every
// time: 2 ms away). `tier: 'l1'` (memory) or `'l2'` (no memory tier: every request one read
// of the scenario's Redis). The op-level comparisons (L1/L2 hit ops/s, stampede, Bloom,
// memory, serializers) are bench/data-cache.mjs.
import express from 'express'

const product = (id) => ({ id, sku: `SKU-${id}`, name: `Product ${id}`, price: 9.99 + id, stock: id % 40 })
const database = (id) => new Promise((resolve) => setTimeout(() => resolve(product(id)), 2))

export default async function server(options = {}) {
  const read = await cacheOf(options.peer ?? 'hotpath', options.tier ?? 'l1', options.redisUrl)
  const app = express()
  app.get('/product/:id', async (req, res, next) => {
    try {
      const id = Number(req.params.id)
      res.json(await read.getOrSet(`product:${id}`, () => database(id)))
    } catch (error) {
      next(error)
    }
  })
  return { listener: app, close: () => read.close() }
}

export async function warmup(url) {
  for (let i = 0; i < 200; i++) await fetch(`${url}/product/7`)
}

async function cacheOf(peer, tier, redisUrl) {
  const prefix = `bench:dcs:${peer}:${process.pid}:`
  if (peer === 'none') return { getOrSet: (_key, fn) => fn(), close: async () => undefined }
  if (peer === 'hotpath') {
    const { createCache, MemoryTier, RedisTier } = await import('@hotpath/cache')
    const cache =
      tier === 'l1'
        ? createCache({ l1: new MemoryTier({ maxBytes: '64mb' }) })
        : createCache({
            l1: false,
            l2: new RedisTier({ url: redisUrl, prefix, commandTimeout: 1000 }),
            bus: false,
          })
    return { getOrSet: (key, fn) => cache.getOrSet(key, fn), close: () => cache.close() }
  }
  if (peer === 'bentocache') {
    const { BentoCache, bentostore } = await import('bentocache')
    let store = bentostore()
    if (tier === 'l1') {
      const { memoryDriver } = await import('bentocache/drivers/memory')
      store = store.useL1Layer(memoryDriver({ maxSize: '64mb' }))
    } else {
      const { redisDriver } = await import('bentocache/drivers/redis')
      const url = new URL(redisUrl)
      store = store.useL2Layer(
        redisDriver({ connection: { host: url.hostname, port: Number(url.port), keyPrefix: prefix } }),
      )
    }
    const bento = new BentoCache({ default: 'c', stores: { c: store } })
    return {
      getOrSet: (key, fn) => bento.getOrSet({ key, factory: fn, ttl: '5m' }),
      close: () => bento.disconnectAll(),
    }
  }
  const { createCache } = await import('cache-manager')
  const { Keyv } = await import('keyv')
  let store
  if (tier === 'l1') {
    const { CacheableMemory } = await import('cacheable')
    store = new Keyv({ store: new CacheableMemory({ lruSize: 100_000 }) })
  } else {
    const { default: KeyvRedis } = await import('@keyv/redis')
    store = new Keyv({ store: new KeyvRedis(redisUrl), namespace: prefix })
  }
  const cache = createCache({ stores: [store] })
  return { getOrSet: (key, fn) => cache.wrap(key, fn, 300_000), close: async () => cache.disconnect?.() }
}
