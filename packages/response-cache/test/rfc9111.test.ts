import { formatHttpDate } from '@hotpath/core'
import type { NextFunction, Request, Response } from 'express'
import { express } from '../../../test/helpers/express'
import { MemoryStore, type ResponseCacheOptions, responseCache } from '../src'
import { fakeClock, type Served, serve } from './http'

const servers: Served[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function setup(
  handler: (req: Request, res: Response, next: NextFunction) => void,
  options: ResponseCacheOptions = {},
) {
  const clock = fakeClock()
  const cache = responseCache({ store: new MemoryStore({ now: clock.now }), now: clock.now, ...options })
  const app = express()
  app.set('etag', false)
  const calls = { n: 0 }
  app.all('/r', cache, (req, res, next) => {
    calls.n++
    handler(req, res, next)
  })
  const s = await serve(app)
  servers.push(s)
  return { cache, calls, s, clock }
}

const origin: ResponseCacheOptions = { freshness: 'origin' }

describe("freshness: 'origin'", () => {
  it('does not reuse a response without explicit freshness', async () => {
    const { s, calls, cache } = await setup((_req, res) => res.end('x'), origin)
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=no-freshness')
    await s.get('/r')
    expect(calls.n).toBe(2)
    expect(cache.stats().notStored.noFreshness).toBe(2)
  })

  it('reuses a response for its max-age, longer than ttl', async () => {
    const { s, calls, clock } = await setup((_req, res) => res.set('Cache-Control', 'max-age=600').end('x'), {
      ...origin,
      ttl: '1m',
    })
    await s.get('/r')
    clock.advance(300_000)
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=300')
    expect(calls.n).toBe(1)
  })

  it('caps the lifetime at maxTtl', async () => {
    const { s } = await setup((_req, res) => res.set('Cache-Control', 'max-age=600').end('x'), {
      ...origin,
      maxTtl: '2m',
    })
    await s.get('/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=120')
  })

  it('gives a response without explicit freshness defaultTtl', async () => {
    const { s } = await setup((_req, res) => res.end('x'), { ...origin, defaultTtl: '30s' })
    await s.get('/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=30')
  })

  it('computes heuristic freshness from Last-Modified when heuristic is on (RFC 9111 §4.2.2)', async () => {
    const { s, clock } = await setup(
      (_req, res) =>
        res
          .set({ Date: formatHttpDate(clock.now()), 'Last-Modified': formatHttpDate(clock.now() - 1000_000) })
          .end('x'),
      { ...origin, heuristic: true },
    )
    await s.get('/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=100')
  })
})

describe('age and dates (RFC 9111 §4.2.3, §5.3)', () => {
  it('counts the Age a response arrived with, in freshness and in the Age it sends', async () => {
    const { s, clock } = await setup((_req, res) =>
      res.set({ 'Cache-Control': 'max-age=60', Age: '20' }).end('x'),
    )
    await s.get('/r')
    clock.advance(5000)
    const hit = await s.get('/r')
    expect([hit.headers.age, hit.headers['cache-status']]).toEqual(['25', 'hotpath; hit; ttl=35'])
  })

  it('does not reuse a response whose Age is past its max-age', async () => {
    const { s, calls } = await setup((_req, res) =>
      res.set({ 'Cache-Control': 'max-age=60', Age: '7200' }).end('x'),
    )
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=expired')
    await s.get('/r')
    expect(calls.n).toBe(2)
  })

  it('reads the lifetime as Expires − Date, not against the local clock', async () => {
    const { s, clock } = await setup((_req, res) => {
      const date = clock.now() - 3_600_000
      res.set({ Date: formatHttpDate(date), Expires: formatHttpDate(date + 60_000) }).end('x')
    })
    // An hour-old Date: the response is 3600 s old and was fresh for 60 s, so it is stale.
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=expired')
  })

  it('treats an Expires that is not an HTTP-date as already expired', async () => {
    const { s, calls } = await setup((_req, res) =>
      res.set('Expires', 'Thu, 18 Aug 2050 02:01:18 UTC').end('x'),
    )
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=max-age=0')
    await s.get('/r')
    expect(calls.n).toBe(2)
  })

  it("replays the origin's Date on a hit", async () => {
    const date = 'Tue, 14 Nov 2023 22:13:20 GMT'
    const { s, clock } = await setup((_req, res) =>
      res.set({ 'Cache-Control': 'max-age=600', Date: date }).end('x'),
    )
    await s.get('/r')
    clock.advance(10_000)
    expect((await s.get('/r')).headers.date).toBe(date)
  })

  it('clamps a max-age too large for 31 bits to 2^31 seconds (RFC 9111 §1.2.2)', async () => {
    const { s } = await setup((_req, res) => res.set('Cache-Control', 'max-age=99999999999').end('x'), {
      ...origin,
      maxTtl: '1000d',
    })
    await s.get('/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=86400000')
  })

  it('does not reuse a response with a negative max-age', async () => {
    const { s, calls } = await setup((_req, res) => res.set('Cache-Control', 'max-age=-1').end('x'))
    await s.get('/r')
    await s.get('/r')
    expect(calls.n).toBe(2)
  })
})

describe('invalidation (RFC 9111 §4.4)', () => {
  it.each(['M-SEARCH', 'PATCH', 'PURGE'])(
    'removes the stored response after a successful %s',
    async (method) => {
      const { s, calls } = await setup((req, res) =>
        req.method === 'GET' ? res.set('Cache-Control', 'max-age=60').end('x') : res.status(204).end(),
      )
      await s.get('/r')
      await s.request(method, '/r')
      expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; stored')
      expect(calls.n).toBe(3)
    },
  )

  it('keeps it after OPTIONS', async () => {
    const { s } = await setup((req, res) =>
      req.method === 'GET' ? res.set('Cache-Control', 'max-age=60').end('x') : res.status(204).end(),
    )
    await s.get('/r')
    await s.request('OPTIONS', '/r')
    expect((await s.get('/r')).headers['cache-status']).toMatch(/^hotpath; hit/)
  })
})

describe('revalidation (RFC 9111 §4.3)', () => {
  it('sends the stored validators and takes the headers of the 304 into the entry', async () => {
    const seen: Array<string | undefined> = []
    let version = 1
    const { s, clock } = await setup((req, res) => {
      seen.push(req.headers['if-none-match'])
      res.set({ 'Cache-Control': 'max-age=10', ETag: '"a"', 'X-Version': String(version++) })
      if (req.headers['if-none-match'] === '"a"') res.status(304).end()
      else res.end('body')
    })
    await s.get('/r')
    clock.advance(11_000)
    const revalidated = await s.get('/r')
    expect(seen).toEqual([undefined, '"a"'])
    expect([revalidated.status, revalidated.text, revalidated.headers['x-version']]).toEqual([
      200,
      'body',
      '2',
    ])
    const hit = await s.get('/r')
    expect([hit.headers['cache-status'], hit.headers['x-version']]).toEqual(['hotpath; hit; ttl=10', '2'])
  })

  it('stores a no-cache response with a validator and revalidates it on every use', async () => {
    const { s, calls } = await setup((req, res) => {
      res.set({ 'Cache-Control': 'no-cache', ETag: '"a"' })
      if (req.headers['if-none-match'] === '"a"') res.status(304).end()
      else res.end('body')
    })
    await s.get('/r')
    const second = await s.get('/r')
    const third = await s.get('/r')
    expect([second.text, third.text]).toEqual(['body', 'body'])
    expect(third.headers['cache-status']).toBe('hotpath; fwd=stale; fwd-status=304; ttl=0')
    expect(calls.n).toBe(3)
  })

  it('never serves a must-revalidate response stale, even with staleWhileRevalidate', async () => {
    const { s, calls, clock } = await setup(
      (_req, res) => res.set('Cache-Control', 'max-age=10, must-revalidate').end('x'),
      { staleWhileRevalidate: '1m' },
    )
    await s.get('/r')
    clock.advance(11_000)
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; stored')
    expect(calls.n).toBe(2)
  })

  it('honours a stale-while-revalidate directive', async () => {
    const { s, clock } = await setup(
      (_req, res) => res.set('Cache-Control', 'max-age=10, stale-while-revalidate=30').end('x'),
      { staleWhileRevalidate: '1m' },
    )
    await s.get('/r')
    clock.advance(35_000)
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=stale; ttl=-25')
  })

  it('caps a stale-while-revalidate directive at the option', async () => {
    const { s, clock } = await setup(
      (_req, res) => res.set('Cache-Control', 'max-age=10, stale-while-revalidate=30').end('x'),
      { staleWhileRevalidate: '10s' },
    )
    await s.get('/r')
    clock.advance(25_000)
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; stored')
  })
})

describe('CDN-Cache-Control (RFC 9213)', () => {
  it('obeys CDN-Cache-Control over Cache-Control', async () => {
    const { s, calls } = await setup((_req, res) =>
      res.set({ 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age=60' }).end('x'),
    )
    await s.get('/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(calls.n).toBe(1)
  })

  it('does not store what CDN-Cache-Control makes private', async () => {
    const { s } = await setup((_req, res) =>
      res.set({ 'Cache-Control': 'max-age=60', 'CDN-Cache-Control': 'private' }).end('x'),
    )
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=private')
  })

  it('ignores an invalid CDN-Cache-Control and reads Cache-Control', async () => {
    const { s } = await setup((_req, res) =>
      res.set({ 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age="60"' }).end('x'),
    )
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=no-store')
  })

  it('reads only Cache-Control with targets: []', async () => {
    const { s } = await setup(
      (_req, res) => res.set({ 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age=60' }).end('x'),
      { targets: [] },
    )
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=no-store')
  })
})

describe('stored header fields', () => {
  it('does not store the fields Connection lists (RFC 9110 §7.6.1)', async () => {
    const { s } = await setup((_req, res) =>
      res.set({ Connection: 'x-hop', 'X-Hop': '1', 'X-Kept': '1' }).end('x'),
    )
    await s.get('/r')
    const hit = await s.get('/r')
    expect([hit.headers['x-hop'], hit.headers['x-kept']]).toEqual([undefined, '1'])
  })

  it('never stores per-request fields, and omitHeaders adds more', async () => {
    let n = 0
    const { s } = await setup(
      (_req, res) => {
        n++
        res
          .set({ 'X-Request-Id': `id-${n}`, 'Server-Timing': 'db;dur=1', 'X-Trace': 't', 'X-Kept': 'k' })
          .end('x')
      },
      { omitHeaders: ['X-Trace'] },
    )
    await s.get('/r')
    const hit = await s.get('/r')
    expect([hit.headers['x-request-id'], hit.headers['server-timing'], hit.headers['x-trace']]).toEqual([
      undefined,
      undefined,
      undefined,
    ])
    expect(hit.headers['x-kept']).toBe('k')
  })

  it('lets the live value of a field set before the cache win on a hit', async () => {
    const clock = fakeClock()
    const cache = responseCache({ store: new MemoryStore({ now: clock.now }), now: clock.now })
    const app = express()
    let n = 0
    app.use((_req, res, next) => {
      res.setHeader('X-Request-Id', `live-${++n}`)
      next()
    })
    app.get('/r', cache, (_req, res) => res.end('x'))
    const s = await serve(app)
    servers.push(s)
    await s.get('/r')
    expect((await s.get('/r')).headers['x-request-id']).toBe('live-2')
  })
})

describe('statuses', () => {
  it.each([304, 100, 103])('refuses %i in statuses at construction', (status) => {
    expect(() => responseCache({ statuses: [200, status] })).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_OPTION' }),
    )
  })
})

describe('range requests on a stored 200', () => {
  async function stored() {
    const ctx = await setup((_req, res) =>
      res.set({ 'Cache-Control': 'max-age=60', ETag: '"e"' }).end('0123456789'),
    )
    await ctx.s.get('/r')
    return ctx
  }

  it('answers one range with 206 from the cache', async () => {
    const { s, calls } = await stored()
    const reply = await s.get('/r', { range: 'bytes=2-4' })
    expect([reply.status, reply.text, reply.headers['content-range']]).toEqual([206, '234', 'bytes 2-4/10'])
    expect(reply.headers['content-length']).toBe('3')
    expect(calls.n).toBe(1)
  })

  it('answers a suffix range', async () => {
    const { s } = await stored()
    const reply = await s.get('/r', { range: 'bytes=-3' })
    expect([reply.status, reply.text]).toEqual([206, '789'])
  })

  it('answers a range past the end with 416', async () => {
    const { s } = await stored()
    const reply = await s.get('/r', { range: 'bytes=20-' })
    expect([reply.status, reply.headers['content-range']]).toEqual([416, 'bytes */10'])
  })

  it('sends the whole body for several ranges', async () => {
    const { s } = await stored()
    const reply = await s.get('/r', { range: 'bytes=0-1,4-5' })
    expect([reply.status, reply.text]).toEqual([200, '0123456789'])
  })

  it('sends the whole body when If-Range names another representation', async () => {
    const { s } = await stored()
    const reply = await s.get('/r', { range: 'bytes=0-1', 'if-range': '"other"' })
    expect([reply.status, reply.text]).toEqual([200, '0123456789'])
  })
})

describe('Vary secondary keys (RFC 9111 §4.1)', () => {
  it.each([
    ['x-foo', 'a,b', ' a , b '],
    ['accept-language', 'en, de', 'de, en'],
    ['accept-language', 'en, de', 'EN, De'],
    ['accept-language', 'fr;q=0.5, de', 'de;q=1.0, fr;q=0.5'],
  ])('serves the %s entry for %j to %j', async (field, first, second) => {
    const { s, calls } = await setup((_req, res) =>
      res.set({ 'Cache-Control': 'max-age=60', Vary: field }).end('x'),
    )
    await s.get('/r', { [field]: first })
    expect((await s.get('/r', { [field]: second })).headers['cache-status']).toMatch(/^hotpath; hit/)
    expect(calls.n).toBe(1)
  })

  it('keeps different language preferences apart', async () => {
    const { s, calls } = await setup((_req, res) =>
      res.set({ 'Cache-Control': 'max-age=60', Vary: 'Accept-Language' }).end('x'),
    )
    await s.get('/r', { 'accept-language': 'en' })
    await s.get('/r', { 'accept-language': 'fr' })
    expect(calls.n).toBe(2)
  })
})

describe('Vary: Accept-Encoding', () => {
  it('is not added to a short JSON body of unknown length', async () => {
    const { s } = await setup((_req, res) => {
      res.type('json').write('{"a"')
      res.end(':1}')
    })
    expect((await s.get('/r')).headers.vary).toBeUndefined()
    expect((await s.get('/r', { 'accept-encoding': 'gzip' })).headers.vary).toBeUndefined()
  })

  it('is added to a compressible body known to be large enough', async () => {
    const { s } = await setup((_req, res) => res.json({ a: 'x'.repeat(2000) }))
    expect((await s.get('/r')).headers.vary).toBe('Accept-Encoding')
  })

  it('goes on the hits of a large body that was streamed without a length', async () => {
    const { s } = await setup((_req, res) => {
      res.type('json').write('{"a":"')
      res.end(`${'x'.repeat(2000)}"}`)
    })
    expect((await s.get('/r')).headers.vary).toBeUndefined()
    expect((await s.get('/r')).headers.vary).toBe('Accept-Encoding')
  })
})

describe('Cache-Status of a miss that is not stored', () => {
  it('says ttl-0 for a dynamic ttl of 0 and counts it', async () => {
    const { s, cache } = await setup((_req, res) => res.end('x'), { ttl: () => 0 })
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=ttl-0')
    expect(cache.stats().notStored).toEqual({ ttl0: 1 })
  })

  it('says size for a body over maxEntryBytes with a Content-Length', async () => {
    const { s, cache } = await setup(
      (_req, res) => {
        res.set('Content-Length', '2000').write('x'.repeat(1000))
        res.end('x'.repeat(1000))
      },
      { maxEntryBytes: 1000 },
    )
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=size')
    expect(cache.stats().notStored).toEqual({ size: 1 })
  })

  it('does not claim stored for a streamed body of unknown length', async () => {
    const { s } = await setup((_req, res) => {
      res.write('a')
      res.end('b')
    })
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss')
    expect((await s.get('/r')).headers['cache-status']).toMatch(/^hotpath; hit/)
  })
})
