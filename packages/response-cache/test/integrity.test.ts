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
