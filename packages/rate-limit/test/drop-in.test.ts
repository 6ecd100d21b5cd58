/**
 * What an app moving from express-rate-limit relies on besides the counting: its header
 * formats, its option names, the client key as the app sees req.ip, and bounded memory for
 * client-chosen keys. Each on Express 4 and 5.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { profiler } from '@hotpath/profiler'
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { MemoryStore, type RateLimitOptions, rateLimit, type Store } from '../src'
import { BASE } from './contract'

const clock = { t: BASE }
const now = () => clock.t
beforeEach(() => {
  clock.t = BASE
})

function appWith(...middleware: RequestHandler[]): Express {
  const app = express()
  app.use(...middleware)
  app.get('/', (_req, res) => {
    res.send('ok')
  })
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).send(`error: ${err.message}`)
  })
  return app
}

const fixed = (options: RateLimitOptions) =>
  rateLimit({ algorithm: 'fixed-window', window: '1m', limit: 3, now, ...options })

describe('header formats', () => {
  it('sends X-RateLimit-Limit, -Remaining and -Reset (epoch seconds) in legacy mode', async () => {
    const res = await request(appWith(fixed({ headers: 'legacy' }))).get('/')
    expect([
      res.headers['x-ratelimit-limit'],
      res.headers['x-ratelimit-remaining'],
      res.headers['x-ratelimit-reset'],
    ]).toEqual(['3', '2', String(BASE / 1000 + 60)])
    expect(res.headers.ratelimit).toBeUndefined()
  })

  it('sends the draft-6 RateLimit-Limit, -Remaining, -Reset and RateLimit-Policy', async () => {
    const res = await request(appWith(fixed({ headers: 'draft-6' }))).get('/')
    expect([
      res.headers['ratelimit-policy'],
      res.headers['ratelimit-limit'],
      res.headers['ratelimit-remaining'],
      res.headers['ratelimit-reset'],
    ]).toEqual(['3;w=60', '3', '2', '60'])
    expect(res.headers.ratelimit).toBeUndefined()
  })

  it('sends the draft-7 combined RateLimit field and RateLimit-Policy', async () => {
    const res = await request(appWith(fixed({ headers: 'draft-7' }))).get('/')
    expect(res.headers['ratelimit-policy']).toBe('3;w=60')
    expect(res.headers.ratelimit).toBe('limit=3, remaining=2, reset=60')
    expect(res.headers['ratelimit-limit']).toBeUndefined()
  })

  it("sends the current draft's structured fields for 'draft-8' and 'draft'", async () => {
    for (const headers of ['draft-8', 'draft'] as const) {
      const res = await request(appWith(fixed({ headers }))).get('/')
      expect([res.headers['ratelimit-policy'], res.headers.ratelimit]).toEqual([
        '"default";q=3;w=60',
        '"default";r=2;t=60',
      ])
    }
  })

  it('lists each limiter of a response in the current draft', async () => {
    const app = appWith(
      fixed({ name: 'burst', limit: 3 }),
      fixed({ name: 'daily', limit: 100, window: '1d' }),
    )
    const res = await request(app).get('/')
    expect(res.headers['ratelimit-policy']).toBe('"burst";q=3;w=60, "daily";q=100;w=86400')
    expect(res.headers.ratelimit).toBe(
      `"burst";r=2;t=60, "daily";r=99;t=${86_400 - ((BASE / 1000) % 86_400)}`,
    )
  })

  it('names the quota after the name option', async () => {
    const res = await request(appWith(fixed({ name: 'api' }))).get('/')
    expect(res.headers.ratelimit).toBe('"api";r=2;t=60')
  })

  it('shows the most restrictive of two limiters in draft-7 and legacy', async () => {
    const app = appWith(
      fixed({ name: 'wide', limit: 100, headers: ['draft-7', 'legacy'] }),
      fixed({ name: 'narrow', limit: 3, headers: ['draft-7', 'legacy'] }),
    )
    const res = await request(app).get('/')
    expect(res.headers.ratelimit).toBe('limit=3, remaining=2, reset=60')
    expect(res.headers['x-ratelimit-remaining']).toBe('2')
  })

  it('does not touch the headers of a response already started by an earlier layer', async () => {
    const app = express()
    app.use((_req: Request, res: Response, next: NextFunction) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.write('started ')
      next()
    })
    app.use(fixed({ headers: 'both' }))
    app.get('/', (_req, res) => {
      res.end('and finished')
    })
    const res = await request(app).get('/')
    expect([res.status, res.text, res.headers.ratelimit]).toEqual([200, 'started and finished', undefined])
  })

  it.each([
    ['ietf', /headers must be 'draft', 'draft-6'/],
    [['draft-6', 'draft-7'], /pick one draft/],
  ])('refuses headers %j at construction', (headers, message) => {
    expect(() => rateLimit({ headers } as unknown as RateLimitOptions)).toThrow(message)
  })
})

describe("the sliding window's reset", () => {
  it('sends as reset the moment the whole quota is available again', async () => {
    const rl = rateLimit({ limit: 4, window: '1m', now, headers: 'legacy' })
    const res = await request(appWith(rl)).get('/')
    const resetAt = Number(res.headers['x-ratelimit-reset']) * 1000
    expect(resetAt).toBe(BASE + 120_000)
    clock.t = resetAt - 1
    expect((await rl.get('127.0.0.1')).remaining).toBe(3)
    clock.t = resetAt
    expect(await rl.get('127.0.0.1')).toMatchObject({ remaining: 4, resetMs: 0 })
  })

  it('sends t as the seconds until the whole quota is back', async () => {
    const app = appWith(rateLimit({ limit: 4, window: '1m', now }))
    clock.t = BASE + 15_000
    expect((await request(app).get('/')).headers.ratelimit).toBe('"default";r=3;t=105')
  })
})

describe("express-rate-limit's option names", () => {
  it.each([
    ['max', 'limit'],
    ['windowMs', 'window'],
    ['keyGenerator', 'key'],
    ['standardHeaders', 'headers'],
    ['legacyHeaders', 'headers'],
    ['passOnStoreError', 'onStoreError'],
  ])('answers %s with this package’s %s', (given, meant) => {
    expect(() => rateLimit({ [given]: 1 } as RateLimitOptions)).toThrow(`Did you mean ${meant}`)
    expect(() => rateLimit().route({ [given]: 1 } as RateLimitOptions)).toThrow(`Did you mean ${meant}`)
  })

  it('takes handler(req, res, next, info) as express-rate-limit does', async () => {
    const app = appWith(
      fixed({
        limit: 1,
        handler: (_req, res, _next, info) => {
          res.status(429).send(`limit ${info.policy.limit}`)
        },
      }),
    )
    await request(app).get('/')
    expect((await request(app).get('/')).text).toBe('limit 1')
  })
})

describe('the default key', () => {
  /** An adapter that sets req.ip itself (as a platform's middleware does). */
  const setsIp: RequestHandler = (req, _res, next) => {
    Object.defineProperty(req, 'ip', { value: String(req.headers['x-client']), configurable: true })
    next()
  }

  it("keys by the req.ip an adapter set while 'trust proxy' is off", async () => {
    const app = appWith(setsIp, fixed({ limit: 1 }))
    const a = await request(app).get('/').set('x-client', '203.0.113.1')
    const b = await request(app).get('/').set('x-client', '203.0.113.2')
    const a2 = await request(app).get('/').set('x-client', '203.0.113.1')
    expect([a.status, b.status, a2.status]).toEqual([200, 200, 429])
  })

  it("keys by an app's own req.ip getter", async () => {
    const app = appWith(fixed({ limit: 1 }))
    Object.defineProperty(app.request, 'ip', {
      get(this: Request) {
        return String(this.headers['x-client'])
      },
      configurable: true,
    })
    const a = await request(app).get('/').set('x-client', '198.51.100.7')
    const b = await request(app).get('/').set('x-client', '198.51.100.8')
    expect([a.status, b.status]).toEqual([200, 200])
  })

  it('folds an IPv4-mapped IPv6 address into its IPv4 address', async () => {
    const app = appWith(setsIp, fixed({ limit: 1 }))
    await request(app).get('/').set('x-client', '::ffff:192.0.2.1')
    expect((await request(app).get('/').set('x-client', '192.0.2.1')).status).toBe(429)
  })

  it('keys IPv6 clients by their /56 by default', async () => {
    const app = appWith(setsIp, fixed({ limit: 1 }))
    await request(app).get('/').set('x-client', '2001:db8:0:1::1')
    const sameSlash56 = await request(app).get('/').set('x-client', '2001:db8:0:2::9')
    const other = await request(app).get('/').set('x-client', '2001:db8:0:100::1')
    expect([sameSlash56.status, other.status]).toEqual([429, 200])
  })

  it('keys IPv6 clients by the ipv6Subnet given', async () => {
    const app = appWith(setsIp, fixed({ limit: 1, ipv6Subnet: 64 }))
    await request(app).get('/').set('x-client', '2001:db8:0:1::1')
    const otherSlash64 = await request(app).get('/').set('x-client', '2001:db8:0:2::1')
    const sameSlash64 = await request(app).get('/').set('x-client', '2001:db8:0:1::2')
    expect([otherSlash64.status, sameSlash64.status]).toEqual([200, 429])
  })

  it('refuses an ipv6Subnet outside 1..128', () => {
    expect(() => rateLimit({ ipv6Subnet: 0 })).toThrow(/ipv6Subnet must be a prefix length from 1 to 128/)
  })

  it("warns once, with a code, about a Forwarded header while req.ip is the socket's address", async () => {
    const warnings: string[] = []
    const logger = { warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) }
    const app = appWith(fixed({ logger }))
    await request(app).get('/').set('Forwarded', 'for=198.51.100.1')
    await request(app).get('/').set('Forwarded', 'for=198.51.100.2')
    expect(warnings.filter((w) => w.includes('ERR_HOTPATH_RATE_LIMIT_FORWARDED'))).toHaveLength(1)
  })

  it('gives no Forwarded warning when the app keys by its own function', async () => {
    const warnings: string[] = []
    const logger = { warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) }
    const app = appWith(fixed({ logger, key: () => 'one' }))
    await request(app).get('/').set('Forwarded', 'for=198.51.100.1')
    expect(warnings).toEqual([])
  })
})

describe('client-chosen keys', () => {
  /** A memory store that records the keys it is asked about. */
  function spyStore(): Store & { keys: string[] } {
    const inner = new MemoryStore({ now })
    const keys: string[] = []
    return {
      kind: 'memory',
      keys,
      consume: (key, policy, cost) => {
        keys.push(key)
        return inner.consume(key, policy, cost)
      },
      resetKey: (key) => inner.resetKey(key),
    }
  }

  it('stores a 4 KB key by a digest of at most 64 characters', async () => {
    const store = spyStore()
    const app = appWith(fixed({ store, key: (req) => String(req.headers['x-api-key']) }))
    await request(app).get('/').set('x-api-key', 'k'.repeat(4096))
    expect(store.keys).toHaveLength(1)
    expect((store.keys[0] as string).length).toBeLessThanOrEqual('default:'.length + 64)
  })

  it('keeps separate counts for long keys that differ only at the end', async () => {
    const app = appWith(fixed({ limit: 1, key: (req) => String(req.headers['x-api-key']) }))
    const a = `${'k'.repeat(4095)}a`
    const b = `${'k'.repeat(4095)}b`
    const first = await request(app).get('/').set('x-api-key', a)
    const other = await request(app).get('/').set('x-api-key', b)
    const again = await request(app).get('/').set('x-api-key', a)
    expect([first.status, other.status, again.status]).toEqual([200, 200, 429])
  })

  it('forgets a long key through limiter.resetKey(key)', async () => {
    const rl = fixed({ limit: 1, key: (req) => String(req.headers['x-api-key']) })
    const app = appWith(rl)
    const key = 'k'.repeat(300)
    await request(app).get('/').set('x-api-key', key)
    await rl.resetKey(key)
    expect((await request(app).get('/').set('x-api-key', key)).status).toBe(200)
  })
})

describe('labels in the stats of other packages', () => {
  it('labels a 429 and a static file by route and mount path in the profiler', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hotpath-static-'))
    writeFileSync(join(dir, 'site.css'), 'body{}')
    const prof = profiler({ registry: false })
    const app = express()
    app.use(prof)
    app.use(express.static(dir))
    app.use(fixed({ limit: 1 }))
    app.get('/api/products/:id', (_req, res) => {
      res.send('ok')
    })
    await request(app).get('/api/products/1')
    expect((await request(app).get('/api/products/2')).status).toBe(429)
    expect((await request(app).get('/site.css')).status).toBe(200)
    const routes = prof.routes('all').map((r) => [r.route, r.count])
    prof.close?.()
    expect(routes).toEqual(
      expect.arrayContaining([
        ['GET /api/products/:id', 2],
        ['GET /*', 1],
      ]),
    )
    expect(routes.map(([route]) => route)).not.toContain('unmatched')
  })
})
