import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { express } from '../../../test/helpers/express'
import { MemoryStore, type ResponseCache, responseCache } from '../src'
import { fakeClock, type Served, send, serve, until } from './http'

const servers: Served[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

function newCache(options: Parameters<typeof responseCache>[0] = {}): ResponseCache {
  const clock = fakeClock()
  return responseCache({
    store: new MemoryStore({ now: clock.now }),
    now: clock.now,
    logger: { warn: () => {}, error: () => {} },
    ...options,
  })
}

/** A GET whose client gives up once `done()` holds (the body never completes on the wire). */
function getAndAbandon(port: number, path: string, done: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.on('data', () => undefined)
      res.on('error', () => undefined)
    })
    req.on('error', () => undefined)
    until(done, 3000)
      .catch(() => undefined)
      .finally(() => {
        req.destroy()
        resolve()
      })
  })
}

describe('a body that does not match its Content-Length', () => {
  it('does not store a body shorter than its Content-Length', async () => {
    const cache = newCache()
    const app = express()
    const calls = { n: 0 }
    app.get('/short', cache, (_req, res) => {
      calls.n++
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2000' })
      res.write('x'.repeat(1000))
      res.end()
    })
    const s = await serve(app)
    servers.push(s)
    await getAndAbandon(s.port, '/short', () => cache.stats().misses === 1)
    await getAndAbandon(s.port, '/short', () => cache.stats().misses === 2)
    expect(calls.n).toBe(2)
    expect(cache.stats().stores).toBe(0)
  })

  it('stores a streamed body that matches its Content-Length', async () => {
    const cache = newCache()
    const app = express()
    app.get('/exact', cache, (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2000' })
      res.write('x'.repeat(1000))
      res.end('y'.repeat(1000))
    })
    const s = await serve(app)
    servers.push(s)
    await s.get('/exact')
    await until(() => cache.stats().stores === 1)
    const hit = await s.get('/exact')
    expect(hit.headers['cache-status']).toMatch(/^hotpath; hit; ttl=/)
    expect(hit.headers['content-length']).toBe('2000')
    expect(hit.text).toBe('x'.repeat(1000) + 'y'.repeat(1000))
  })
})

describe('the scheme is part of the key', () => {
  async function redirecting(trust: boolean) {
    const cache = newCache()
    const app = express()
    if (trust) app.set('trust proxy', 'loopback')
    const calls = { n: 0 }
    app.get('/page', cache, (req, res) => {
      calls.n++
      if (req.protocol === 'http') res.redirect(301, `https://shop.example${req.originalUrl}`)
      else res.type('text/plain').send(`served over ${req.protocol}`)
    })
    const s = await serve(app)
    servers.push(s)
    const get = (proto: string) => s.get('/page', { host: 'shop.example', 'x-forwarded-proto': proto })
    return { cache, calls, get }
  }

  it("never serves an http visitor's cached redirect to an https visitor behind a trusted proxy", async () => {
    const { cache, get } = await redirecting(true)
    const plain = await get('http')
    expect(plain.status).toBe(301)
    await until(() => cache.stats().stores === 1)
    const secure = await get('https')
    expect(secure.status).toBe(200)
    expect(secure.text).toBe('served over https')
    expect(secure.headers['cache-status']).toBe('hotpath; fwd=miss; stored')
  })

  it('keeps one entry per scheme, each a hit for its own scheme', async () => {
    const { calls, cache, get } = await redirecting(true)
    await get('http')
    await get('https')
    await until(() => cache.stats().stores === 2)
    const [plain, secure] = [await get('http'), await get('HTTPS')]
    expect([plain.status, plain.headers.location]).toEqual([301, 'https://shop.example/page'])
    expect([secure.status, secure.text]).toEqual([200, 'served over https'])
    expect(calls.n).toBe(2)
  })

  it('ignores X-Forwarded-Proto from a peer that trust proxy does not trust', async () => {
    const { calls, cache, get } = await redirecting(false)
    await get('http')
    await until(() => cache.stats().stores === 1)
    const forged = await get('https')
    expect(forged.status).toBe(301)
    expect(forged.headers['cache-status']).toMatch(/^hotpath; hit; ttl=/)
    expect(calls.n).toBe(1)
  })

  it('keys front() hits by scheme as the middleware does', async () => {
    const cache = newCache()
    const app = express()
    app.set('trust proxy', 'loopback')
    app.get('/page', cache, (req, res) => {
      res.type('text/plain').send(`served over ${req.protocol}`)
    })
    const server = http.createServer(cache.front(app))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    try {
      await send(port, 'GET', '/page', { 'x-forwarded-proto': 'http' })
      await until(() => cache.stats().stores === 1)
      const secure = await send(port, 'GET', '/page', { 'x-forwarded-proto': 'https' })
      expect(secure.text).toBe('served over https')
      const plain = await send(port, 'GET', '/page', { 'x-forwarded-proto': 'http' })
      expect([plain.text, plain.headers['cache-status']]).toEqual([
        'served over http',
        'hotpath; hit; ttl=60',
      ])
    } finally {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

describe('cache.route() under an app.use(cache) of the same instance', () => {
  async function mounted() {
    const clock = fakeClock()
    const cache = responseCache({
      store: new MemoryStore({ now: clock.now }),
      now: clock.now,
      ttl: '1m',
      logger: { warn: () => {}, error: () => {} },
    })
    const app = express()
    app.use(cache)
    const calls = { n: 0, tenant: 0, me: 0 }
    app.get('/api/products', cache.route({ ttl: '5m', tags: ['products'] }), (_req, res) => {
      calls.n++
      res.json({ n: calls.n })
    })
    app.get('/api/tenant', cache.route({ key: (req) => String(req.headers['x-tenant']) }), (req, res) => {
      calls.tenant++
      res.json({ tenant: req.headers['x-tenant'] })
    })
    app.get('/api/public', cache.route({ authorization: true }), (_req, res) => {
      calls.me++
      res.json({ same: 'for everyone' })
    })
    const s = await serve(app)
    servers.push(s)
    return { cache, calls, clock, s }
  }

  it('a third route() layer with the same key still refines the context the second one made', async () => {
    const clock = fakeClock()
    const cache = responseCache({ store: new MemoryStore({ now: clock.now }), now: clock.now, ttl: '1m' })
    const app = express()
    app.use(cache)
    const byTenant = (req: http.IncomingMessage) => String(req.headers['x-tenant'])
    let calls = 0
    // The second layer supersedes the app.use layer's context (another key); the first capture
    // ends as the second begins, and the third layer must still find the second's context.
    app.get(
      '/api/three',
      cache.route({ key: byTenant }),
      cache.route({ key: byTenant, ttl: '5m' }),
      (_req, res) => {
        calls++
        res.json({ calls })
      },
    )
    const s = await serve(app)
    servers.push(s)
    const miss = await s.get('/api/three', { 'x-tenant': 'a' })
    expect(miss.headers['cache-status']).toBe('hotpath; fwd=miss; stored')
    await until(() => cache.stats().stores === 1)
    const hit = await s.get('/api/three', { 'x-tenant': 'a' })
    expect([hit.headers['cache-status'], hit.text, calls]).toEqual([
      'hotpath; hit; ttl=300',
      '{"calls":1}',
      1,
    ])
  })

  it("stores with the route's ttl", async () => {
    const { cache, s } = await mounted()
    await s.get('/api/products')
    await until(() => cache.stats().stores === 1)
    const hit = await s.get('/api/products')
    expect(hit.headers['cache-status']).toBe('hotpath; hit; ttl=300')
    expect(cache.stats().stores).toBe(1)
  })

  it("stores with the route's tags, so invalidating the tag removes the entry", async () => {
    const { cache, calls, s } = await mounted()
    await s.get('/api/products')
    await until(() => cache.stats().stores === 1)
    expect(await cache.invalidate({ tag: 'products' })).toBe(1)
    const after = await s.get('/api/products')
    expect([after.headers['cache-status'], after.text]).toEqual(['hotpath; fwd=miss; stored', '{"n":2}'])
    expect(calls.n).toBe(2)
  })

  it("keys by the route's key function, never sharing one tenant's entry with another", async () => {
    const { cache, calls, s } = await mounted()
    await s.get('/api/tenant', { 'x-tenant': 'a' })
    await until(() => cache.stats().stores === 1)
    const b = await s.get('/api/tenant', { 'x-tenant': 'b' })
    expect(b.text).toBe('{"tenant":"b"}')
    await until(() => cache.stats().stores === 2)
    const a = await s.get('/api/tenant', { 'x-tenant': 'a' })
    expect([a.text, a.headers['cache-status']]).toEqual(['{"tenant":"a"}', 'hotpath; hit; ttl=60'])
    expect(calls.tenant).toBe(2)
  })

  it('caches a credentialed request on a route that opts in, though the global layer bypassed it', async () => {
    const { cache, calls, s } = await mounted()
    await s.get('/api/public', { authorization: 'Bearer one' })
    await until(() => cache.stats().stores === 1)
    const other = await s.get('/api/public', { authorization: 'Bearer two' })
    expect(other.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(calls.me).toBe(1)
  })
})

describe('path rules follow the app routing settings', () => {
  async function perUser(settings: Record<string, boolean> = {}) {
    const cache = newCache({
      rules: [
        { match: '/api/me/**', cache: false },
        { match: '/api/**', ttl: '30s' },
      ],
    })
    const app = express()
    for (const [name, value] of Object.entries(settings)) app.set(name, value)
    app.use(cache)
    app.get('/api/me/profile', (req, res) => {
      res.json({ user: req.headers['x-user'] })
    })
    const s = await serve(app)
    servers.push(s)
    return { cache, s }
  }

  it.each(['/api/ME/profile', '/API/me/profile', '/api/me/profile/'])(
    "never stores the per-user route reached as %s under the '/api/**' rule",
    async (path) => {
      const { cache, s } = await perUser()
      const first = await s.get(path, { 'x-user': 'alice' })
      expect([first.status, first.headers['cache-status']]).toEqual([200, undefined])
      const second = await s.get(path, { 'x-user': 'bob' })
      expect(second.text).toBe('{"user":"bob"}')
      expect(cache.stats().stores).toBe(0)
    },
  )

  it("treats another case as another path under 'case sensitive routing' (Express answers 404)", async () => {
    const { s } = await perUser({ 'case sensitive routing': true })
    const reply = await s.get('/api/ME/profile', { 'x-user': 'alice' })
    expect(reply.status).toBe(404)
  })
})

describe('an invalidation that lands while a miss is in flight', () => {
  async function slow() {
    const cache = responseCache({ store: new MemoryStore(), logger: { warn: () => {}, error: () => {} } })
    const app = express()
    const data = { version: 1 }
    let release: () => void = () => undefined
    const calls = { n: 0 }
    app.get('/slow', cache.route({ tags: ['slow'] }), async (_req, res) => {
      calls.n++
      const read = data.version
      if (calls.n === 1) await new Promise<void>((resolve) => (release = resolve))
      res.type('text/plain').send(`v${read}`)
    })
    const s = await serve(app)
    servers.push(s)
    return { cache, calls, data, s, release: () => release() }
  }

  it.each([
    ['its tag', { tag: 'slow' }],
    ['its URL', { key: '/slow' }],
    ['its prefix', { prefix: '/slow' }],
  ] as const)('does not store the older answer when %s was invalidated meanwhile', async (_what, target) => {
    const { cache, calls, data, s, release } = await slow()
    const first = s.get('/slow')
    await until(() => calls.n === 1)
    await new Promise((r) => setTimeout(r, 5))
    data.version = 2
    await cache.invalidate(target)
    release()
    expect((await first).text).toBe('v1')
    await new Promise((r) => setTimeout(r, 20))
    expect(cache.stats().stores).toBe(0)
    const next = await s.get('/slow')
    expect([next.text, next.headers['cache-status']]).toEqual(['v2', 'hotpath; fwd=miss; stored'])
  })
})

describe('cache.route() maxEntryBytes under an app.use(cache) of the same instance', () => {
  it("stores a body within the route's larger maxEntryBytes", async () => {
    const cache = newCache({ maxEntryBytes: '1kb' })
    const app = express()
    app.use(cache)
    app.get('/big', cache.route({ maxEntryBytes: '64kb' }), (_req, res) => {
      res.type('text/plain').send('x'.repeat(8000))
    })
    const s = await serve(app)
    servers.push(s)
    await s.get('/big')
    await until(() => cache.stats().stores === 1)
    expect((await s.get('/big')).headers['cache-status']).toBe('hotpath; hit; ttl=60')
  })
})

describe('an invalidation that lands while a stale-while-revalidate refresh runs', () => {
  it.each([
    ['answered 200 (no validator)', false],
    ['answered 304 (merged into the stored entry)', true],
  ])('does not store the refresh that read the data before it, %s', async (_how, etag) => {
    const cache = responseCache({ store: new MemoryStore(), logger: { warn: () => {}, error: () => {} } })
    const app = express()
    app.set('etag', etag)
    const data = { version: 1 }
    let release: () => void = () => undefined
    let calls = 0
    app.get(
      '/swr',
      cache.route({ ttl: '100ms', staleWhileRevalidate: '1m', tags: ['swr'] }),
      async (_req, res) => {
        calls++
        const read = data.version
        if (calls === 2) await new Promise<void>((resolve) => (release = resolve))
        res.type('text/plain').send(`v${read}`)
      },
    )
    const s = await serve(app)
    servers.push(s)
    await s.get('/swr')
    await until(() => cache.stats().stores === 1)
    await new Promise((r) => setTimeout(r, 150))
    const stale = await s.get('/swr')
    expect([stale.text, String(stale.headers['cache-status'])]).toEqual([
      'v1',
      expect.stringMatching(/fwd=stale/),
    ])
    await until(() => calls === 2)
    await new Promise((r) => setTimeout(r, 5))
    data.version = 2
    await cache.invalidate({ tag: 'swr' })
    release()
    await new Promise((r) => setTimeout(r, 50))
    const next = await s.get('/swr')
    expect(next.text).toBe('v2')
  })
})
