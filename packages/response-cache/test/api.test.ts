import { brotliDecompressSync, gunzipSync } from 'node:zlib'
import { compression as hotpathCompression } from '@hotpath/compression'
import { HotpathError } from '@hotpath/core'
import compression from 'compression'
import { express } from '../../../test/helpers/express'
import { MemoryStore, type ResponseCacheOptions, responseCache } from '../src'
import { fakeClock, type Served, serve, until } from './http'

const servers: Served[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const products = JSON.stringify(
  Array.from({ length: 200 }, (_, id) => ({ id, name: `product ${id}`, price: id * 3 })),
)

async function shop(options: ResponseCacheOptions = {}, withCompression: boolean | 'hotpath' = false) {
  const clock = fakeClock()
  const cache = responseCache({ store: new MemoryStore({ now: clock.now }), now: clock.now, ...options })
  const app = express()
  if (withCompression === 'hotpath') app.use(hotpathCompression())
  else if (withCompression) app.use(compression())
  const calls = { list: 0, item: 0 }
  app.get('/api/products', cache.route({ tags: ['products'] }), (_req, res) => {
    calls.list++
    res.type('application/json').send(products)
  })
  app.get('/api/products/:id', cache.route({ tags: (req) => [`product:${req.params.id}`] }), (req, res) => {
    calls.item++
    res.set('Surrogate-Key', `sk-${req.params.id} catalog`).json({ id: req.params.id })
  })
  app.get('/other', cache, (_req, res) => res.send('other'))
  const s = await serve(app)
  servers.push(s)
  return { cache, calls, s, clock }
}

describe('tags and invalidation', () => {
  it('removes every entry with a tag and resolves how many', async () => {
    const { cache, calls, s } = await shop()
    await s.get('/api/products')
    await s.get('/api/products?page=2')
    expect(await cache.invalidate({ tag: 'products' })).toBe(2)
    await s.get('/api/products')
    expect(calls.list).toBe(3)
  })

  it('takes tags from a function of the request', async () => {
    const { cache, calls, s } = await shop()
    await s.get('/api/products/1')
    await s.get('/api/products/2')
    expect(await cache.invalidate({ tag: 'product:1' })).toBe(1)
    await s.get('/api/products/1')
    await s.get('/api/products/2')
    expect(calls.item).toBe(3)
  })

  it('takes tags from the Surrogate-Key the handler set', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products/1')
    await s.get('/api/products/2')
    expect(await cache.invalidate({ tag: 'catalog' })).toBe(2)
    expect(await cache.invalidate({ tag: 'sk-1' })).toBe(0)
  })

  it('removes one URL with { key }', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products?page=1')
    await s.get('/api/products?page=2')
    expect(await cache.invalidate({ key: '/api/products?page=1' })).toBe(1)
    expect((await s.get('/api/products?page=2')).headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect((await s.get('/api/products?page=1')).headers['cache-status']).toBe('hotpath; fwd=miss; stored')
  })

  it('removes a path and everything below it with { prefix }', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products')
    await s.get('/api/products/1')
    await s.get('/other')
    expect(await cache.invalidate({ prefix: '/api/products/' })).toBe(2)
    expect((await s.get('/other')).headers['cache-status']).toBe('hotpath; hit; ttl=60')
  })

  it('clear() removes everything', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products')
    await s.get('/other')
    await cache.clear()
    expect(cache.stats().entries).toBe(0)
    expect((await s.get('/other')).headers['cache-status']).toBe('hotpath; fwd=miss; stored')
  })

  it('rejects an invalidation target it does not know, with a coded error', async () => {
    const { cache } = await shop()
    await expect(cache.invalidate({ url: '/x' } as never)).rejects.toMatchObject({
      code: 'ERR_HOTPATH_CACHE_INVALIDATE',
    })
  })
})

describe('stored compressed variants', () => {
  it('sends stored gzip bytes to a gzip client after the first hit', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products')
    await s.get('/api/products', { 'accept-encoding': 'gzip' })
    await until(() => cache.stats().variantsBuilt === 1)
    const reply = await s.get('/api/products', { 'accept-encoding': 'gzip' })
    expect(reply.headers['content-encoding']).toBe('gzip')
    expect(reply.headers.vary).toBe('Accept-Encoding')
    expect(Number(reply.headers['content-length'])).toBe(reply.body.length)
    expect(gunzipSync(reply.body).toString()).toBe(products)
  })

  it('does not bring back an entry invalidated while its variants were being made', async () => {
    const { cache, calls, s } = await shop()
    await s.get('/api/products')
    await s.get('/api/products') // first hit: variants start on the thread pool
    expect(await cache.invalidate({ tag: 'products' })).toBe(1)
    // Let the background compression finish (it reads 'products' already gone and stops).
    await new Promise((resolve) => setTimeout(resolve, 200))
    const after = await s.get('/api/products')
    expect(after.headers['cache-status']).toBe('hotpath; fwd=miss; stored')
    expect(calls.list).toBe(2)
    expect(cache.stats().variantsBuilt).toBe(0)
  })

  it('prefers br when the client accepts it', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products')
    await s.get('/api/products', { 'accept-encoding': 'br' })
    await until(() => cache.stats().variantsBuilt === 1)
    const reply = await s.get('/api/products', { 'accept-encoding': 'gzip, deflate, br' })
    expect(reply.headers['content-encoding']).toBe('br')
    expect(brotliDecompressSync(reply.body).toString()).toBe(products)
  })

  it('sends identity to a client that accepts no encoding', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products')
    await s.get('/api/products', { 'accept-encoding': 'gzip' })
    await until(() => cache.stats().variantsBuilt === 1)
    const reply = await s.get('/api/products', { 'accept-encoding': 'gzip;q=0, br;q=0' })
    expect(reply.headers['content-encoding']).toBeUndefined()
    expect(reply.text).toBe(products)
    expect(reply.headers.vary).toBe('Accept-Encoding')
  })

  it('weakens the ETag of an encoded variant', async () => {
    const { cache, s } = await shop()
    const first = await s.get('/api/products')
    await s.get('/api/products', { 'accept-encoding': 'gzip' })
    await until(() => cache.stats().variantsBuilt === 1)
    const reply = await s.get('/api/products', { 'accept-encoding': 'gzip' })
    const etag = String(first.headers.etag)
    expect(reply.headers.etag).toBe(etag.startsWith('W/') ? etag : `W/${etag}`)
  })

  it('is left alone by compression middleware in front of it', async () => {
    const { cache, s } = await shop({}, true)
    await s.get('/api/products', { 'accept-encoding': 'gzip' })
    await s.get('/api/products', { 'accept-encoding': 'gzip' })
    await until(() => cache.stats().variantsBuilt === 1)
    const reply = await s.get('/api/products', { 'accept-encoding': 'gzip' })
    expect(reply.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(reply.body).toString()).toBe(products)
  })

  it('stores the identity body when compression in front encoded the miss', async () => {
    const { s } = await shop({}, true)
    const miss = await s.get('/api/products', { 'accept-encoding': 'gzip' })
    expect(miss.headers['content-encoding']).toBe('gzip')
    const hit = await s.get('/api/products', { 'accept-encoding': 'identity' })
    expect(hit.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(hit.headers['content-encoding']).toBeUndefined()
    expect(hit.text).toBe(products)
  })

  it('stores the identity body when @hotpath/compression in front encoded the miss in one call', async () => {
    const { s } = await shop({}, 'hotpath')
    const miss = await s.get('/api/products', { 'accept-encoding': 'gzip' })
    expect(miss.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(miss.body).toString()).toBe(products)
    const identity = await s.get('/api/products', { 'accept-encoding': 'identity' })
    expect(identity.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(identity.headers['content-encoding']).toBeUndefined()
    expect(identity.text).toBe(products)
    const gzip = await s.get('/api/products', { 'accept-encoding': 'gzip' })
    expect(gzip.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(gzip.headers['content-encoding']).toBe('gzip')
    expect(gunzipSync(gzip.body).toString()).toBe(products)
  })

  it('makes a variant only on the first hit that asks for its encoding', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products')
    await s.get('/api/products')
    await s.get('/api/products', { 'accept-encoding': 'identity' })
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(cache.stats().variantsBuilt).toBe(0)
    await s.get('/api/products', { 'accept-encoding': 'gzip' })
    await until(() => cache.stats().variantsBuilt === 1)
    const br = await s.get('/api/products', { 'accept-encoding': 'br' })
    expect(br.headers['content-encoding']).toBeUndefined()
    await until(() => cache.stats().variantsBuilt === 2)
    expect((await s.get('/api/products', { 'accept-encoding': 'br' })).headers['content-encoding']).toBe('br')
  })

  it('makes no variant for a small body', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products/1')
    await s.get('/api/products/1')
    const reply = await s.get('/api/products/1', { 'accept-encoding': 'gzip' })
    expect(reply.headers['content-encoding']).toBeUndefined()
    expect(reply.headers.vary).toBeUndefined()
    expect(cache.stats().variantsBuilt).toBe(0)
  })
})

describe('stats()', () => {
  it('counts hits, misses, stores and bypasses per route', async () => {
    const { cache, s } = await shop()
    await s.get('/api/products')
    await s.get('/api/products')
    await s.get('/api/products', { authorization: 'x' })
    const stats = cache.stats()
    expect(stats).toMatchObject({
      hits: 1,
      misses: 1,
      staleServed: 0,
      bypasses: { authorization: 1 },
      stores: 1,
      evictions: 0,
      invalidations: 0,
      coalesced: 0,
      storeErrors: 0,
      entries: 1,
      hitRatio: 0.5,
      store: 'memory',
    })
    expect(stats.bytes).toBeGreaterThan(products.length)
    expect(stats.estimatedMemoryBytes).toBe(stats.bytes)
    expect(stats.routes['GET /api/products']).toEqual({
      hits: 1,
      misses: 1,
      stale: 0,
      bypasses: 1,
      hitRatio: 0.5,
    })
  })

  it('attributes hits served by app.use(cache) to the route that made the entry', async () => {
    const cache = responseCache({ store: new MemoryStore() })
    const app = express()
    app.use(cache)
    app.get('/p/:id', (_req, res) => res.send('x'))
    const s = await serve(app)
    servers.push(s)
    await s.get('/p/1')
    await s.get('/p/1')
    expect(cache.stats().routes['GET /p/:id']).toMatchObject({ hits: 1, misses: 1 })
  })
})

describe('the instance', () => {
  it('is a named middleware that satisfies CacheSource', () => {
    const cache = responseCache()
    expect(cache.name).toBe('cache')
    expect(typeof cache.stats).toBe('function')
    expect(typeof cache.invalidate).toBe('function')
    expect(typeof cache.clear).toBe('function')
    expect(cache.length).toBe(3)
  })

  it('shares nothing between two instances', async () => {
    const a = responseCache()
    const b = responseCache()
    const app = express()
    app.get('/a', a, (_req, res) => res.send('a'))
    app.get('/b', b, (_req, res) => res.send('b'))
    const s = await serve(app)
    servers.push(s)
    await s.get('/a')
    await s.get('/a')
    expect(a.stats().hits).toBe(1)
    expect(b.stats().hits + b.stats().misses + b.stats().entries).toBe(0)
  })

  it('does not mutate the options it was given', () => {
    const options = Object.freeze({ ttl: '5m', rules: Object.freeze([Object.freeze({ match: '/api/**' })]) })
    const copy = JSON.stringify(options)
    responseCache(options as ResponseCacheOptions)
    expect(JSON.stringify(options)).toBe(copy)
  })

  it('caches only what a rule matches, and nothing where a rule says cache: false', async () => {
    const cache = responseCache({
      rules: [
        { match: '/private/**', cache: false },
        { match: '/api/**', ttl: '5s' },
      ],
    })
    const app = express()
    app.use(cache)
    app.use((req, res) => {
      res.send(req.path)
    })
    const s = await serve(app)
    servers.push(s)
    await s.get('/api/x')
    expect((await s.get('/api/x')).headers['cache-status']).toMatch(/^hotpath; hit; ttl=[45]$/)
    await s.get('/private/x')
    expect((await s.get('/private/x')).headers['cache-status']).toBeUndefined()
    await s.get('/elsewhere')
    expect((await s.get('/elsewhere')).headers['cache-status']).toBeUndefined()
  })

  it.each([
    [{ tll: '1m' }, 'ERR_HOTPATH_OPTION', /did you mean "ttl"/i],
    [{ ttl: 'soon' }, 'ERR_HOTPATH_DURATION', /5m/],
    [{ maxEntryBytes: 'big' }, 'ERR_HOTPATH_BYTES', /64mb/],
    [{ statuses: [200, 206] }, 'ERR_HOTPATH_OPTION', /206/],
    [{ vary: 'accept-language' }, 'ERR_HOTPATH_OPTION', /array of request header names/],
    [{ variants: { encodings: ['deflate'] } }, 'ERR_HOTPATH_OPTION', /'br' and\/or 'gzip'/],
    [{ rules: [{ ttl: '1m' }] }, 'ERR_HOTPATH_OPTION', /needs a "match"/],
    [{ headers: { cacheName: 'two words' } }, 'ERR_HOTPATH_OPTION', /must be a token/],
    [{ rules: [{ match: 'api/**' }] }, 'ERR_HOTPATH_MATCHER', /must start with "\/"/],
  ])('rejects %j at construction', (options, code, message) => {
    let error: unknown
    try {
      responseCache(options as ResponseCacheOptions)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(HotpathError)
    expect((error as HotpathError).code).toBe(code)
    expect((error as HotpathError).message).toMatch(message)
  })

  it('warns once when two instances share one memory store', () => {
    const warnings: string[] = []
    const logger = { warn: (m: string) => warnings.push(m), error: () => undefined }
    const store = new MemoryStore()
    responseCache({ store, logger })
    responseCache({ store, logger })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/^\[ERR_HOTPATH_CACHE_STORE_SHARED\]/)
  })

  it('names itself in Cache-Status with headers.cacheName', async () => {
    const cache = responseCache({ headers: { cacheName: 'edge-1' } })
    const app = express()
    app.get('/n', cache, (_req, res) => res.send('n'))
    const s = await serve(app)
    servers.push(s)
    expect((await s.get('/n')).headers['cache-status']).toBe('edge-1; fwd=miss; stored')
  })

  it('bypasses when the key function throws, and logs it once', async () => {
    const warnings: string[] = []
    const cache = responseCache({
      key: () => {
        throw new Error('no tenant')
      },
      logger: { warn: (m) => warnings.push(m), error: () => undefined },
    })
    const app = express()
    app.get('/k', cache, (_req, res) => res.send('k'))
    const s = await serve(app)
    servers.push(s)
    await s.get('/k')
    const second = await s.get('/k')
    expect(second.headers['cache-status']).toBe('hotpath; fwd=bypass; detail=key-error')
    expect(warnings).toEqual([
      '[ERR_HOTPATH_CACHE_KEY] @hotpath/response-cache: the key function threw (no tenant); such requests bypass the cache.',
    ])
  })
})
