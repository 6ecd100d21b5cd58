/**
 * The response cache in a real app: express-session, the rate limiter, the profiler with
 * `Server-Timing`, cache-control and the cache mounted together, as an app mounts them. Every
 * header that describes one request is the live one on a hit, and every header the suite adds
 * says what happened (miss, hit, 304, not stored and why).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { cacheControl } from '@hotpath/cache-control'
import { profiler } from '@hotpath/profiler'
import { rateLimit } from '@hotpath/rate-limit'
import { MemoryStore, responseCache } from '@hotpath/response-cache'
import session from 'express-session'
import { express } from './helpers/express'

interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  text: string
}

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

let server: http.Server
let port = 0
let cache: ReturnType<typeof responseCache>
let prof: ReturnType<typeof profiler>
const calls = { products: 0, cart: 0 }

beforeAll(async () => {
  const app = express()
  prof = profiler({ serverTiming: true })
  cache = responseCache({ store: new MemoryStore(), ttl: '1m' })
  app.use(prof)
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }))
  app.use(rateLimit({ limit: 600, window: '1m' }))
  app.use(cacheControl({ rules: [{ match: '/api/**', preset: 'api' }] }))
  app.use(cache)
  app.get('/api/products', (_req, res) => {
    calls.products++
    res.json({ products: [1, 2, 3] })
  })
  app.get('/api/cart', (req, res) => {
    calls.cart++
    // Writing the session makes express-session send its cookie, late, as the head goes out.
    ;(req.session as unknown as { visits?: number }).visits = 1
    res.json({ cart: [] })
  })
  server = http.createServer(app)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await cache.close()
  ;(prof as unknown as { close?: () => void }).close?.()
})

describe('a cached route in an app with session, rate limiter, profiler and cache-control', () => {
  let miss: Reply
  let hit1: Reply
  let hit2: Reply
  let notModified: Reply

  beforeAll(async () => {
    miss = await get(port, '/api/products')
    hit1 = await get(port, '/api/products')
    hit2 = await get(port, '/api/products')
    notModified = await get(port, '/api/products', { 'if-none-match': String(miss.headers.etag) })
  })

  it('stores the miss and says so', () => {
    expect(miss.status).toBe(200)
    expect(miss.headers['cache-status']).toBe('hotpath; fwd=miss; stored')
    expect(miss.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=60')
  })

  it('answers the next two from the cache without running the route', () => {
    expect([hit1.status, hit2.status]).toEqual([200, 200])
    expect(hit1.headers['cache-status']).toMatch(/^hotpath; hit; ttl=(59|60)$/)
    expect(hit1.text).toBe(miss.text)
    expect(calls.products).toBe(1)
  })

  it('sends the live RateLimit of each request on a hit, not the stored one', () => {
    expect(miss.headers['ratelimit']).toMatch(/(?:^|[,;]\s*)r=599(?:[;,]|$)/)
    expect(hit1.headers['ratelimit']).toMatch(/(?:^|[,;]\s*)r=598(?:[;,]|$)/)
    expect(hit2.headers['ratelimit']).toMatch(/(?:^|[,;]\s*)r=597(?:[;,]|$)/)
    expect(notModified.headers['ratelimit']).toMatch(/(?:^|[,;]\s*)r=596(?:[;,]|$)/)
    expect(hit1.headers['ratelimit-policy']).toBe(miss.headers['ratelimit-policy'])
  })

  it('sends a Server-Timing of its own on each hit', () => {
    expect(miss.headers['server-timing']).toMatch(/^total;dur=[\d.]+$/)
    expect(hit1.headers['server-timing']).toMatch(/^total;dur=[\d.]+$/)
    // One entry per response: a stored one would come back beside the live one.
    expect(String(hit2.headers['server-timing']).split(',')).toHaveLength(1)
  })

  it('keeps the stored Cache-Control, ETag and Date on a hit', () => {
    expect(hit1.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=60')
    expect(hit1.headers.etag).toBe(miss.headers.etag)
    expect(hit1.headers.date).toBe(miss.headers.date)
    expect(hit1.headers['set-cookie']).toBeUndefined()
  })

  it('answers a matching If-None-Match from the cache with 304 and the stored validators', () => {
    expect(notModified.status).toBe(304)
    expect(notModified.text).toBe('')
    expect(notModified.headers.etag).toBe(miss.headers.etag)
    expect(notModified.headers['cache-status']).toMatch(/^hotpath; hit; ttl=(59|60)$/)
    expect(notModified.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=60')
    expect(calls.products).toBe(1)
  })
})

describe('a route that sets a session cookie', () => {
  let first: Reply
  let second: Reply

  beforeAll(async () => {
    first = await get(port, '/api/cart')
    second = await get(port, '/api/cart')
  })

  it('gets Cache-Control private from cache-control, not public', () => {
    expect(first.headers['set-cookie']).toHaveLength(1)
    expect(first.headers['cache-control']).toBe('private, max-age=60, stale-while-revalidate=60')
  })

  it('is not stored, and Cache-Status says why', () => {
    expect(first.headers['cache-status']).toBe('hotpath; fwd=miss; detail=set-cookie')
    expect(second.headers['cache-status']).toBe('hotpath; fwd=miss; detail=set-cookie')
    expect(calls.cart).toBe(2)
  })

  it('counts the reason in stats().notStored', () => {
    expect(cache.stats().notStored.setCookie).toBe(2)
  })
})
