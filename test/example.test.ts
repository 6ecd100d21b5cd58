/**
 * The whole suite in one app: the example shop, with every package mounted as the README
 * shows, driven over HTTP on Express 5 and Express 4.
 */
import { once } from 'node:events'
import { get, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gunzipSync } from 'node:zlib'
import request from 'supertest'
import { createApp } from '../examples/basic/src/app'
import { createCatalog } from '../examples/basic/src/catalog'

const TOKEN = 'example-test-token-0123456789'
const quiet = () => createApp({ token: TOKEN, catalog: createCatalog(120, 0) })

function rawGet(server: Server, path: string, headers: Record<string, string>) {
  const { port } = server.address() as AddressInfo
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      )
    }).on('error', reject)
  })
}

describe('the example shop', () => {
  let shop: ReturnType<typeof createApp>
  // One listening server per test, so every request carries the same Host (part of the cache key).
  let server: Server
  beforeEach(async () => {
    shop = quiet()
    server = shop.app.listen(0, '127.0.0.1')
    await once(server, 'listening')
  })
  afterEach(async () => {
    server.close()
    await shop.close()
  })

  it('answers /health with no-store', async () => {
    const res = await request(server).get('/health').expect(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body.status).toBe('ok')
  })

  it('serves the product list from the cache the second time, with the API policy', async () => {
    const first = await request(server).get('/api/products').expect(200)
    expect(first.headers['cache-status']).toMatch(/^hotpath; fwd=miss; stored/)
    const second = await request(server).get('/api/products').expect(200)
    expect(second.headers['cache-status']).toMatch(/^hotpath; hit; ttl=\d+/)
    expect(second.body).toEqual(first.body)
    expect(second.body.items).toHaveLength(20)
    expect(second.headers['cache-control']).toBe('public, max-age=300, stale-while-revalidate=60')
    expect(shop.cache.stats().hits).toBe(1)
  })

  it('sends gzip to a gzip client, with Vary: Accept-Encoding, on a miss and on a hit', async () => {
    const plain = await request(server).get('/api/products').set('Accept-Encoding', 'identity').expect(200)
    for (const expected of ['hit', 'hit']) {
      // A raw client: supertest would decode gzip before the test could see the bytes.
      const res = await rawGet(server, '/api/products', { 'accept-encoding': 'gzip' })
      expect(res.status).toBe(200)
      expect(res.headers['cache-status']).toContain(expected)
      expect(res.headers['content-encoding']).toBe('gzip')
      expect(res.headers.vary).toMatch(/Accept-Encoding/i)
      expect(JSON.parse(gunzipSync(res.body).toString())).toEqual(plain.body)
    }
  })

  it('invalidates the cached list when a price changes', async () => {
    await request(server).get('/api/products').expect(200)
    await request(server).get('/api/products').expect(200)
    const update = await request(server).put('/api/products/1').send({ price: 1.25 }).expect(200)
    expect(update.body.invalidated).toBeGreaterThanOrEqual(1)
    const after = await request(server).get('/api/products').expect(200)
    expect(after.headers['cache-status']).toMatch(/fwd=miss/)
    expect(after.body.items[0].price).toBe(1.25)
  })

  it('gives fingerprinted static files one year immutable and others revalidation', async () => {
    const hashed = await request(server).get('/static/app.3f9a1c2b.js').expect(200)
    expect(hashed.headers['cache-control']).toBe('public, max-age=31536000, immutable')
    expect(hashed.headers.etag).toBeDefined()
    const page = await request(server).get('/').expect(200)
    expect(page.text).toContain('hotpath shop')
  })

  it('limits login attempts and never caches the answer', async () => {
    for (let i = 0; i < 5; i++) {
      await request(server).post('/login').send({ username: 'demo', password: 'wrong' }).expect(401)
    }
    const limited = await request(server)
      .post('/login')
      .send({ username: 'demo', password: 'hotpath' })
      .expect(429)
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0)
    expect(limited.headers['cache-control']).toBe('no-store')
  })

  it('signs a user in with a cookie that is never stored by the cache', async () => {
    const res = await request(server)
      .post('/login')
      .send({ username: 'demo', password: 'hotpath' })
      .expect(200)
    expect(res.headers['set-cookie']?.[0]).toMatch(
      /^session=[0-9a-f]{32}; Path=\/; HttpOnly; SameSite=Strict$/,
    )
    expect(shop.cache.stats().entries).toBe(0)
  })

  it('times requests and queries in the profiler and sends Server-Timing', async () => {
    const res = await request(server).get('/api/products/3').expect(200)
    expect(res.headers['server-timing']).toMatch(/total;dur=\d/)
    const routes = shop.prof.routes('all').map((route) => route.route)
    expect(routes).toContain('GET /api/products/:id')
    expect(shop.prof.queries().shapes.map((shape) => shape.shape)).toContain(
      'SELECT * FROM products WHERE id = ?',
    )
  })

  it('keeps the dashboard behind its token and reports the shop traffic', async () => {
    await request(server).get('/performance/dashboard').expect(401)
    await request(server).get('/api/products').expect(200)
    const res = await request(server)
      .get('/performance/dashboard')
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(200)
    expect(res.body.schema).toBe(1)
    expect(res.headers['cache-control']).toBe('no-store')
    const metrics = await request(server)
      .get('/performance/metrics')
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(200)
    expect(metrics.text).toContain('http_server_request_duration_seconds_bucket')
  })
})
