import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { NextFunction, Request, Response } from 'express'
import { express } from '../../../test/helpers/express'
import { MemoryStore, type ResponseCacheOptions, responseCache } from '../src'
import { fakeClock, type Served, send, serve, until } from './http'

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
  const calls = { n: 0 }
  app.get('/r', cache, (req, res, next) => {
    calls.n++
    handler(req, res, next)
  })
  const s = await serve(app)
  servers.push(s)
  return { cache, calls, s, clock }
}

describe('a hit', () => {
  it('restores status, headers and body exactly', async () => {
    const { s } = await setup((_req, res) => {
      res
        .status(203)
        .set({ 'X-Thing': 'a', Link: ['</a>; rel=x', '</b>; rel=y'] })
        .type('text/plain')
        .send('body!')
    })
    const miss = await s.get('/r')
    const hit = await s.get('/r')
    expect(hit.status).toBe(203)
    expect(hit.text).toBe('body!')
    for (const name of ['x-thing', 'link', 'content-type', 'etag', 'content-length', 'x-powered-by']) {
      expect(hit.headers[name]).toBe(miss.headers[name])
    }
  })

  it('adds Age and Cache-Status with the remaining ttl', async () => {
    const { s, clock } = await setup((_req, res) => res.send('x'))
    await s.get('/r')
    clock.advance(12_400)
    const hit = await s.get('/r')
    expect(hit.headers.age).toBe('12')
    expect(hit.headers['cache-status']).toBe('hotpath; hit; ttl=47')
  })

  it('sends X-Cache only when asked', async () => {
    const off = await setup((_req, res) => res.send('x'))
    await off.s.get('/r')
    expect((await off.s.get('/r')).headers['x-cache']).toBeUndefined()
    const on = await setup((_req, res) => res.send('x'), { headers: { xCache: true } })
    expect((await on.s.get('/r')).headers['x-cache']).toBe('MISS')
    expect((await on.s.get('/r')).headers['x-cache']).toBe('HIT')
  })

  it('does not replay hop-by-hop headers', async () => {
    const { s } = await setup((_req, res) => {
      res.set({ 'Keep-Alive': 'timeout=99', Upgrade: 'h2c' }).send('x')
    })
    await s.get('/r')
    const hit = await s.get('/r')
    expect(hit.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(hit.headers['keep-alive']).not.toBe('timeout=99')
    expect(hit.headers.upgrade).toBeUndefined()
  })

  it('answers a matching If-None-Match with 304 and no body', async () => {
    const { s, calls } = await setup((_req, res) =>
      res.set('ETag', '"v1"').set('Cache-Control', 'public, max-age=60').send('x'),
    )
    await s.get('/r')
    const hit = await s.get('/r', { 'if-none-match': 'W/"v1"' })
    expect(hit.status).toBe(304)
    expect(hit.body.length).toBe(0)
    expect(hit.headers.etag).toBe('"v1"')
    expect(hit.headers['cache-control']).toBe('public, max-age=60')
    expect(hit.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(calls.n).toBe(1)
  })

  it('answers a non-matching If-None-Match with the full body', async () => {
    const { s } = await setup((_req, res) => res.set('ETag', '"v1"').send('x'))
    await s.get('/r')
    const hit = await s.get('/r', { 'if-none-match': '"v0"' })
    expect([hit.status, hit.text]).toEqual([200, 'x'])
  })

  it('answers If-Modified-Since with 304 when not modified', async () => {
    const lastModified = 'Tue, 01 Oct 2024 10:00:00 GMT'
    const { s } = await setup((_req, res) => res.set('Last-Modified', lastModified).send('x'))
    await s.get('/r')
    const hit = await s.get('/r', { 'if-modified-since': 'Wed, 02 Oct 2024 10:00:00 GMT' })
    expect(hit.status).toBe(304)
  })

  it('answers HEAD from a GET entry with headers only', async () => {
    const { s, calls } = await setup((_req, res) => res.send('12345'))
    await s.get('/r')
    const head = await s.request('HEAD', '/r')
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe('5')
    expect(head.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(head.body.length).toBe(0)
    expect(calls.n).toBe(1)
  })

  it('does not store the answer to a HEAD miss', async () => {
    const { s, calls } = await setup((_req, res) => res.send('12345'))
    await s.request('HEAD', '/r')
    const get = await s.get('/r')
    expect(get.text).toBe('12345')
    expect(calls.n).toBe(2)
  })

  it('expires after ttl', async () => {
    const { s, calls, clock } = await setup((_req, res) => res.end('x'), { ttl: '10s' })
    await s.get('/r')
    clock.advance(10_000)
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; stored')
    expect(calls.n).toBe(2)
  })

  it('revalidates an expired entry with its ETag and serves it refreshed on a 304', async () => {
    const seen: Array<string | undefined> = []
    const { s, calls, clock } = await setup(
      (req, res) => {
        seen.push(req.headers['if-none-match'])
        res.send('x')
      },
      { ttl: '10s' },
    )
    const first = await s.get('/r')
    clock.advance(10_000)
    const second = await s.get('/r')
    expect(seen).toEqual([undefined, first.headers.etag])
    expect([second.status, second.text, second.headers['cache-status']]).toEqual([
      200,
      'x',
      'hotpath; fwd=stale; fwd-status=304; ttl=10',
    ])
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=10')
    expect(calls.n).toBe(2)
  })
})

describe('responses that fail', () => {
  it('stores nothing when the client aborts mid-response', async () => {
    let release: () => void = () => undefined
    const { s, cache } = await setup((_req, res) => {
      res.write('part one')
      release = () => res.end('part two')
    })
    await new Promise<void>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port: s.port, path: '/r' }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => undefined)
    })
    await until(() => cache.stats().misses === 1)
    release()
    expect(cache.stats().stores).toBe(0)
    expect(cache.stats().entries).toBe(0)
  })

  it('stores nothing when the handler throws after the headers went out', async () => {
    const { s, cache, calls } = await setup((_req, res, next) => {
      res.write('started')
      next(new Error('late failure'))
    })
    await s.get('/r').catch(() => undefined)
    await s.get('/r').catch(() => undefined)
    expect(calls.n).toBe(2)
    expect(cache.stats().stores).toBe(0)
  })
})

describe('stale-while-revalidate', () => {
  it('serves the stale entry at once and refreshes it once in the background', async () => {
    let version = 0
    let open: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const { s, calls, clock } = await setup(
      async (_req, res) => {
        const v = ++version
        if (v > 1) await gate
        res.send(`v${v}`)
      },
      { ttl: '10s', staleWhileRevalidate: '1m' },
    )
    await s.get('/r')
    clock.advance(15_000)
    const a = await s.get('/r')
    const b = await s.get('/r')
    expect([a.text, b.text]).toEqual(['v1', 'v1'])
    expect(a.headers['cache-status']).toBe('hotpath; fwd=stale; ttl=-5')
    expect(calls.n).toBe(2)
    open()
    await until(async () => (await s.get('/r')).text === 'v2')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=10')
    expect(calls.n).toBe(2)
  })

  it('does not refresh from a handler error', async () => {
    let fail = false
    const { s, calls, clock } = await setup(
      (_req, res) => {
        if (fail) throw new Error('down')
        res.send('good')
      },
      { ttl: '10s', staleWhileRevalidate: '1m' },
    )
    await s.get('/r')
    fail = true
    clock.advance(11_000)
    expect((await s.get('/r')).text).toBe('good')
    await until(() => calls.n === 2)
    expect((await s.get('/r')).text).toBe('good')
  })
})

describe('stale-if-error', () => {
  it('serves the stale entry when the handler answers 5xx', async () => {
    let fail = false
    const { s, clock } = await setup(
      (_req, res) => (fail ? res.status(503).send('down') : res.send('good')),
      {
        ttl: '10s',
        staleIfError: '1h',
      },
    )
    await s.get('/r')
    fail = true
    clock.advance(20_000)
    const reply = await s.get('/r')
    expect([reply.status, reply.text]).toEqual([200, 'good'])
    expect(reply.headers['cache-status']).toBe('hotpath; fwd=stale; fwd-status=503; ttl=-10')
  })

  it('serves the stale entry when the handler throws', async () => {
    let fail = false
    const { s, clock } = await setup(
      (_req, res) => {
        if (fail) throw new Error('boom')
        res.send('good')
      },
      { ttl: '10s', staleIfError: '1h' },
    )
    await s.get('/r')
    fail = true
    clock.advance(20_000)
    const reply = await s.get('/r')
    expect([reply.status, reply.text]).toEqual([200, 'good'])
  })

  it('forwards and stores a good answer', async () => {
    let version = 0
    const { s, clock } = await setup((_req, res) => res.send(`v${++version}`), {
      ttl: '10s',
      staleIfError: '1h',
    })
    await s.get('/r')
    clock.advance(20_000)
    const reply = await s.get('/r')
    expect([reply.text, reply.headers['cache-status']]).toEqual(['v2', 'hotpath; fwd=stale; stored'])
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=10')
  })

  it('answers 5xx once the error window is over', async () => {
    let fail = false
    const { s, clock } = await setup(
      (_req, res) => (fail ? res.status(500).send('down') : res.send('good')),
      {
        ttl: '10s',
        staleIfError: '5s',
      },
    )
    await s.get('/r')
    fail = true
    clock.advance(16_000)
    expect((await s.get('/r')).status).toBe(500)
  })
})

describe('request coalescing', () => {
  const N = 1000
  async function flood(s: Served, n: number, headers?: (i: number) => Record<string, string>) {
    return Promise.all(Array.from({ length: n }, (_, i) => s.get('/r', headers?.(i))))
  }

  it(`runs the handler once for ${N} concurrent misses`, async () => {
    let arrived = 0
    let open: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const clock = fakeClock()
    const cache = responseCache({ store: new MemoryStore({ now: clock.now }), now: clock.now })
    const app = express()
    let calls = 0
    app.use((_req, _res, next) => {
      if (++arrived === N) open()
      next()
    })
    app.get('/r', cache, async (_req, res) => {
      calls++
      await gate
      res.json({ value: 42 })
    })
    const s = await serve(app)
    servers.push(s)
    const replies = await flood(s, N)
    expect(calls).toBe(1)
    expect(replies.every((r) => r.status === 200 && r.text === '{"value":42}')).toBe(true)
    expect(
      replies.filter((r) => r.headers['cache-status'] === 'hotpath; fwd=miss; collapsed; ttl=60'),
    ).toHaveLength(N - 1)
    expect(cache.stats().coalesced).toBe(N - 1)
  }, 30_000)

  it('does not share a per-user response with waiters', async () => {
    let arrived = 0
    let open: () => void = () => undefined
    const gate = new Promise<void>((resolve) => {
      open = resolve
    })
    const cache = responseCache({ store: new MemoryStore() })
    const app = express()
    let calls = 0
    app.use((_req, _res, next) => {
      if (++arrived === 20) open()
      next()
    })
    // Whether a handler began while another response was inside its send: a waiter learns that
    // the leader's response is not shared as that response's head goes out, and must still run
    // its own handler afterwards, not on the leader's stack.
    let sending = false
    const startedInsideSend: boolean[] = []
    app.get('/r', cache, async (req, res) => {
      calls++
      startedInsideSend.push(sending)
      await gate
      sending = true
      res.set('Cache-Control', 'private').send(`user ${req.query.u ?? req.headers['x-user']}`)
      sending = false
    })
    const s = await serve(app)
    servers.push(s)
    const replies = await flood(s, 20, (i) => ({ 'x-user': String(i) }))
    expect(calls).toBe(20)
    expect(replies.map((r) => r.text)).toEqual(Array.from({ length: 20 }, (_, i) => `user ${i}`))
    expect(replies.map((r) => r.headers['cache-status'])).toEqual(
      Array.from({ length: 20 }, () => 'hotpath; fwd=miss; detail=private'),
    )
    expect(startedInsideSend).toEqual(Array.from({ length: 20 }, () => false))
    expect(cache.stats().notStored).toEqual({ private: 20 })
  })
})

describe('front mode', () => {
  async function front(options: ResponseCacheOptions = {}) {
    const clock = fakeClock()
    const cache = responseCache({ store: new MemoryStore({ now: clock.now }), now: clock.now, ...options })
    const app = express()
    const calls = { n: 0 }
    app.get('/r', cache, (_req, res) => {
      calls.n++
      res.set('X-From', 'route').json({ ok: true })
    })
    const listener = cache.front(app)
    const server = http.createServer((req, res) => listener(req, res))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as AddressInfo).port
    const s = await serve(app)
    servers.push(s, {
      ...s,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    })
    return { cache, calls, s, port }
  }

  it('answers a hit before Express with the same headers as a normal hit', async () => {
    const { s, port, calls } = await front()
    const host = { host: 'shop.example' }
    await s.get('/r', host)
    const inside = await s.get('/r', host)
    const outside = await send(port, 'GET', '/r', host)
    expect(calls.n).toBe(1)
    expect(outside.text).toBe(inside.text)
    const strip = (h: http.IncomingHttpHeaders) => {
      const { date: _date, ...rest } = h
      return rest
    }
    expect(strip(outside.headers)).toEqual(strip(inside.headers))
  })

  it('hands a miss to the app', async () => {
    const { port, calls } = await front()
    const reply = await send(port, 'GET', '/r')
    expect(reply.headers['cache-status']).toBe('hotpath; fwd=miss; stored')
    expect(calls.n).toBe(1)
  })

  it('hands requests with credentials to the app', async () => {
    const { s, port } = await front()
    await s.get('/r', { host: 'shop.example' })
    const reply = await send(port, 'GET', '/r', { host: 'shop.example', cookie: 'a=1' })
    expect(reply.headers['cache-status']).toBe('hotpath; fwd=bypass; detail=cookie')
  })
})
