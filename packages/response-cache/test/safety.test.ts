import type { Request, Response } from 'express'
import { express } from '../../../test/helpers/express'
import { MemoryStore, type ResponseCacheOptions, responseCache } from '../src'
import { fakeClock, type Served, serve } from './http'

let served: Served | undefined
afterEach(async () => {
  await served?.close()
  served = undefined
})

/** An app whose one route counts its calls and answers what `answer` does. */
async function appWith(answer: (req: Request, res: Response) => void, options: ResponseCacheOptions = {}) {
  const clock = fakeClock()
  const cache = responseCache({
    store: new MemoryStore({ now: options.now ?? clock.now }),
    now: clock.now,
    ...options,
  })
  const app = express()
  const calls = { n: 0 }
  app.all('/r', cache, (req, res) => {
    calls.n++
    answer(req, res)
  })
  served = await serve(app)
  return { cache, calls, s: served }
}

describe('responses that are never stored', () => {
  it('does not store a response that sets a cookie', async () => {
    const { calls, s } = await appWith((_req, res) => {
      res.cookie('sid', 'abc')
      res.send('hello')
    })
    const first = await s.get('/r')
    const second = await s.get('/r')
    expect(first.headers['cache-status']).toBe('hotpath; fwd=miss; detail=set-cookie')
    expect(second.headers['set-cookie']).toEqual(['sid=abc; Path=/'])
    expect(second.headers['cache-status']).toBe('hotpath; fwd=miss; detail=set-cookie')
    expect(calls.n).toBe(2)
  })

  it.each([
    ['private', 'private'],
    ['PRIVATE, max-age=60', 'private'],
    ['No-Store', 'no-store'],
    ['public, NO-CACHE', 'no-cache'],
    ['private="set-cookie"', 'private'],
  ])('does not store Cache-Control: %s', async (value, reason) => {
    // res.end: no ETag, so nothing to revalidate with (a no-cache response with one is stored).
    const { calls, s } = await appWith((_req, res) => {
      res.set('Cache-Control', value).end('x')
    })
    await s.get('/r')
    const second = await s.get('/r')
    expect(second.headers['cache-status']).toBe(`hotpath; fwd=miss; detail=${reason}`)
    expect(calls.n).toBe(2)
  })

  it('does not store a response with Vary: *', async () => {
    const { calls, s } = await appWith((_req, res) => {
      res.set('Vary', 'Accept, *').send('x')
    })
    await s.get('/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=vary-star')
    expect(calls.n).toBe(2)
  })

  it('does not store a status outside `statuses` (500)', async () => {
    const { calls, s } = await appWith((_req, res) => {
      res.status(500).send('boom')
    })
    await s.get('/r')
    const second = await s.get('/r')
    expect(second.status).toBe(500)
    expect(second.headers['cache-status']).toBe('hotpath; fwd=miss; detail=status')
    expect(calls.n).toBe(2)
  })

  it('stores a 404 (in the default statuses)', async () => {
    const { calls, s } = await appWith((_req, res) => {
      res.status(404).send('nope')
    })
    await s.get('/r')
    const second = await s.get('/r')
    expect(second.status).toBe(404)
    expect(second.text).toBe('nope')
    expect(second.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(calls.n).toBe(1)
  })

  it('does not store partial content', async () => {
    const { calls, s } = await appWith(
      (_req, res) => {
        res.status(200).set('Content-Range', 'bytes 0-1/10').send('ab')
      },
      { statuses: [200] },
    )
    await s.get('/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=partial')
    expect(calls.n).toBe(2)
  })

  it('does not store a body over maxEntryBytes', async () => {
    const { calls, s } = await appWith((_req, res) => res.send('x'.repeat(2000)), { maxEntryBytes: 1000 })
    await s.get('/r')
    const second = await s.get('/r')
    expect(second.text).toHaveLength(2000)
    expect(calls.n).toBe(2)
  })

  it('does not store a response with max-age=0', async () => {
    const { calls, s } = await appWith((_req, res) => {
      res.set('Cache-Control', 'public, max-age=0').end('x')
    })
    await s.get('/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; fwd=miss; detail=max-age=0')
    expect(calls.n).toBe(2)
  })

  it('bounds the TTL by the response s-maxage', async () => {
    const clock = fakeClock()
    const { calls, s } = await appWith(
      (_req, res) => {
        res.set('Cache-Control', 'max-age=600, s-maxage=5').send('x')
      },
      { ttl: '1h', now: clock.now },
    )
    await s.get('/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=5')
    clock.advance(5000)
    await s.get('/r')
    expect(calls.n).toBe(2)
  })
})

describe('a shared store that fails as a response is ruled out', () => {
  it('still sends the whole response when unlocking throws', async () => {
    const errors: string[] = []
    const inner = new MemoryStore()
    const store = {
      kind: 'flaky',
      shared: true,
      get: (key: string) => inner.get(key),
      set: (...args: Parameters<MemoryStore['set']>) => inner.set(...args),
      delete: (key: string) => inner.delete(key),
      deleteTag: (tag: string) => inner.deleteTag(tag),
      clear: () => inner.clear(),
      lock: () => 'token',
      unlock: () => {
        throw new Error('unlock failed')
      },
      size: () => inner.size(),
      close: () => inner.close(),
    }
    const { s, calls } = await appWith(
      (_req, res) => {
        res.set('Cache-Control', 'private').send('for one user')
      },
      { store, onError: (error) => errors.push((error as Error).message) },
    )
    for (let i = 0; i < 2; i++) {
      const reply = await s.get('/r')
      expect(reply.status).toBe(200)
      expect(reply.text).toBe('for one user')
      expect(reply.headers['cache-status']).toBe('hotpath; fwd=miss; detail=private')
    }
    expect(calls.n).toBe(2)
    expect(errors).toEqual(['unlock failed', 'unlock failed'])
  })
})

describe('requests that bypass', () => {
  it('bypasses a request with Authorization', async () => {
    const { calls, s } = await appWith((_req, res) => res.send('secret'))
    await s.get('/r', { authorization: 'Bearer a' })
    const second = await s.get('/r', { authorization: 'Bearer a' })
    expect(second.headers['cache-status']).toBe('hotpath; fwd=bypass; detail=authorization')
    expect(calls.n).toBe(2)
  })

  it('does not serve an entry to a request with Authorization', async () => {
    const { calls, s } = await appWith((req, res) => res.send(req.headers.authorization ?? 'anon'))
    await s.get('/r')
    const authed = await s.get('/r', { authorization: 'Bearer a' })
    expect(authed.text).toBe('Bearer a')
    expect(calls.n).toBe(2)
  })

  it('bypasses a request with Cookie', async () => {
    const { calls, s } = await appWith((_req, res) => res.send('x'))
    await s.get('/r', { cookie: 'a=1' })
    const second = await s.get('/r', { cookie: 'a=1' })
    expect(second.headers['cache-status']).toBe('hotpath; fwd=bypass; detail=cookie')
    expect(calls.n).toBe(2)
  })

  it('caches a request with Cookie when the route opts in', async () => {
    const { calls, s } = await appWith((_req, res) => res.send('x'), { cookies: true })
    await s.get('/r', { cookie: 'a=1' })
    const second = await s.get('/r', { cookie: 'b=2' })
    expect(second.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(calls.n).toBe(1)
  })

  it('caches a request with Authorization when a function says so', async () => {
    const { calls, s } = await appWith((_req, res) => res.send('x'), {
      authorization: async () => true,
      ttl: 60_500,
    })
    await s.get('/r', { authorization: 'Basic a' })
    expect((await s.get('/r', { authorization: 'Basic b' })).headers['cache-status']).toBe(
      'hotpath; hit; ttl=60',
    )
    expect(calls.n).toBe(1)
  })

  it('never caches a POST and counts it as a method bypass', async () => {
    const { cache, calls, s } = await appWith((_req, res) => res.send('posted'))
    await s.request('POST', '/r')
    const second = await s.request('POST', '/r')
    expect(second.headers['cache-status']).toBe('hotpath; fwd=bypass; detail=method')
    expect(calls.n).toBe(2)
    expect(cache.stats().bypasses).toEqual({ method: 2 })
  })

  it('invalidates the stored GET when a POST to the URL succeeds', async () => {
    const { cache, calls, s } = await appWith((req, res) => res.send(req.method))
    await s.get('/r')
    await s.request('POST', '/r')
    const after = await s.get('/r')
    expect(after.headers['cache-status']).toBe('hotpath; fwd=miss; stored')
    expect(calls.n).toBe(3)
    expect(cache.stats().invalidations).toBe(1)
  })

  it('keeps the stored GET when the POST fails', async () => {
    const { calls, s } = await appWith((req, res) => {
      res.status(req.method === 'POST' ? 400 : 200).send(req.method)
    })
    await s.get('/r')
    await s.request('POST', '/r')
    expect((await s.get('/r')).headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(calls.n).toBe(2)
  })

  it.each([
    ['cache-control', 'no-cache'],
    ['pragma', 'no-cache'],
    ['cache-control', 'max-age=0'],
  ])('does not let a client header (%s: %s) force a refresh', async (name, value) => {
    const { calls, s } = await appWith((_req, res) => res.send('x'))
    await s.get('/r')
    const second = await s.get('/r', { [name]: value })
    expect(second.headers['cache-status']).toBe('hotpath; hit; ttl=60')
    expect(calls.n).toBe(1)
  })

  it('keys by host: another Host never gets this host’s entry', async () => {
    const { calls, s } = await appWith((req, res) => res.send(req.headers.host ?? ''))
    await s.get('/r', { host: 'a.example' })
    const other = await s.get('/r', { host: 'b.example' })
    expect(other.text).toBe('b.example')
    expect(calls.n).toBe(2)
  })

  it('ignores X-Forwarded-Host unless trust proxy is on', async () => {
    const { calls, s } = await appWith((req, res) => res.send(String(req.headers['x-forwarded-host'])))
    await s.get('/r', { host: 'a.example', 'x-forwarded-host': 'evil.example' })
    const second = await s.get('/r', { host: 'a.example', 'x-forwarded-host': 'other.example' })
    expect(second.text).toBe('evil.example')
    expect(calls.n).toBe(1)
  })
})

describe('Vary and secondary keys', () => {
  it('never serves the en entry to a fr request', async () => {
    const { calls, s } = await appWith((req, res) => {
      res.set('Vary', 'Accept-Language').send(req.headers['accept-language'] === 'fr' ? 'bonjour' : 'hello')
    })
    expect((await s.get('/r', { 'accept-language': 'en' })).text).toBe('hello')
    expect((await s.get('/r', { 'accept-language': 'fr' })).text).toBe('bonjour')
    const en = await s.get('/r', { 'accept-language': 'en' })
    const fr = await s.get('/r', { 'accept-language': 'fr' })
    expect([en.text, en.headers['cache-status']]).toEqual(['hello', 'hotpath; hit; ttl=60'])
    expect([fr.text, fr.headers['cache-status']]).toEqual(['bonjour', 'hotpath; hit; ttl=60'])
    expect(calls.n).toBe(2)
  })

  it('keys on the extra `vary` headers and announces them in Vary', async () => {
    const { calls, s } = await appWith((req, res) => res.send(String(req.headers['x-tenant'])), {
      vary: ['x-tenant'],
    })
    const a = await s.get('/r', { 'x-tenant': 'a' })
    const b = await s.get('/r', { 'x-tenant': 'b' })
    expect([a.text, b.text]).toEqual(['a', 'b'])
    expect(a.headers.vary).toBe('x-tenant')
    expect((await s.get('/r', { 'x-tenant': 'a' })).text).toBe('a')
    expect(calls.n).toBe(2)
  })

  it('keys on the custom key parts', async () => {
    const { calls, s } = await appWith((req, res) => res.send(String(req.query.t)), {
      key: (req) => String(req.headers['x-team'] ?? ''),
    })
    await s.get('/r?t=1', { 'x-team': 'red' })
    const blue = await s.get('/r?t=2', { 'x-team': 'blue' })
    const red = await s.get('/r?t=3', { 'x-team': 'red' })
    expect(blue.text).toBe('2')
    expect(red.text).toBe('3')
    expect(calls.n).toBe(3)
  })
})
