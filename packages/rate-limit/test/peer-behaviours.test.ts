/**
 * The wire behaviours express-rate-limit's own suite checks, written anew for this project and
 * run against `@hotpath/rate-limit` on Express 4 and 5 (one jest project each). Where hotpath
 * answers differently on purpose, the `it` says what it does instead and the README's
 * "Moving from express-rate-limit" lists it. The fixed window is used where the peer's
 * arithmetic is compared (its memory store is a fixed window).
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Express, NextFunction, Request, RequestHandler, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { MemoryStore, type RateLimitOptions, rateLimit, type Store } from '../src'
import { BASE } from './contract'

const quiet = { warn: () => undefined, error: () => undefined }
const clock = { t: BASE }
const now = () => clock.t
beforeEach(() => {
  clock.t = BASE
})

/** A limiter over a fixed window with the test clock, unless the options say otherwise. */
function limiter(options: RateLimitOptions = {}) {
  return rateLimit({ algorithm: 'fixed-window', window: '1m', now, logger: quiet, ...options })
}

/** An app with `middleware`, routes `/` (200), `/fail` (400), `/error` (500) and an error handler. */
function appWith(...middleware: RequestHandler[]): Express {
  const app = express()
  app.use(...middleware)
  app.get('/', (_req, res) => {
    res.send('ok')
  })
  app.get('/fail', (_req, res) => {
    res.status(400).send('bad')
  })
  app.get('/slow', (_req, res) => {
    // The response goes out after the window ended.
    clock.t += 61_000
    res.send('late')
  })
  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).send(`error: ${err.message}`)
  })
  return app
}

async function statuses(app: Express, count: number, path = '/'): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < count; i++) out.push((await request(app).get(path)).status)
  return out
}

/** Remaining units for the default client, read without counting. */
async function remaining(rl: ReturnType<typeof rateLimit>): Promise<number> {
  return (await rl.get('127.0.0.1')).remaining
}

/** A request's `close` runs after supertest has its answer: wait for the refund. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 20))

describe('limiting', () => {
  it('lets the first request through', async () => {
    expect((await request(appWith(limiter({ limit: 1 }))).get('/')).status).toBe(200)
  })

  it('refuses further requests once the client reached the limit', async () => {
    expect(await statuses(appWith(limiter({ limit: 2 })), 3)).toEqual([200, 200, 429])
  })

  it('eventually accepts a refused client again', async () => {
    const app = appWith(limiter({ limit: 1 }))
    expect(await statuses(app, 2)).toEqual([200, 429])
    clock.t += 60_000
    expect(await statuses(app, 1)).toEqual([200])
  })

  it('works repeatedly, window after window', async () => {
    const app = appWith(limiter({ limit: 1 }))
    for (let round = 0; round < 3; round++) {
      expect(await statuses(app, 2)).toEqual([200, 429])
      clock.t += 60_000
    }
  })

  // Difference: express-rate-limit's max 0 refuses everything; here a limit is at least 1.
  it('refuses limit 0 at construction, naming the fix', () => {
    expect(() => limiter({ limit: 0 })).toThrow(/limit must be a positive integer/)
  })

  it('counts the remaining requests down', async () => {
    const app = appWith(limiter({ limit: 3, headers: 'legacy' }))
    const seen: string[] = []
    for (let i = 0; i < 4; i++) seen.push((await request(app).get('/')).headers['x-ratelimit-remaining'])
    expect(seen).toEqual(['2', '1', '0', '0'])
  })

  it('does not modify the options object it is given', () => {
    const options = { limit: 5, window: '1m', headers: ['draft-7', 'legacy'] } as RateLimitOptions
    const copy = JSON.stringify(options)
    rateLimit(options)
    expect(JSON.stringify(options)).toBe(copy)
  })

  // Difference: nothing is added to req (req.rateLimit); the limiter reports a key's state.
  it("reports a client's limit and remaining units through get(key)", async () => {
    const rl = limiter({ limit: 5 })
    await statuses(appWith(rl), 2)
    expect(await rl.get('127.0.0.1')).toMatchObject({ key: '127.0.0.1', limit: 5, remaining: 3 })
  })
})

describe('the limited response', () => {
  it('sends the given message', async () => {
    const app = appWith(limiter({ limit: 1, message: 'Slow down.' }))
    await request(app).get('/')
    const res = await request(app).get('/')
    expect([res.status, res.text]).toEqual([429, 'Slow down.'])
  })

  it('sends the given status code', async () => {
    const app = appWith(limiter({ limit: 1, statusCode: 503 }))
    expect(await statuses(app, 2)).toEqual([200, 503])
  })

  it('sends a JSON message', async () => {
    const app = appWith(limiter({ limit: 1, message: { error: 'too many' } }))
    await request(app).get('/')
    const res = await request(app).get('/')
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.body).toEqual({ error: 'too many' })
  })

  it('sends the value of a message function', async () => {
    const app = appWith(limiter({ limit: 1, message: (req) => `no more for ${req.path}` }))
    await request(app).get('/')
    expect((await request(app).get('/')).text).toBe('no more for /')
  })

  it('sends the resolved value of a message function that returns a promise', async () => {
    const app = appWith(limiter({ limit: 1, message: async () => ({ error: 'later' }) }))
    await request(app).get('/')
    const res = await request(app).get('/')
    expect([res.status, res.body]).toEqual([429, { error: 'later' }])
  })

  it('sends the rejection of a message function to the error handler', async () => {
    const app = appWith(limiter({ limit: 1, message: () => Promise.reject(new Error('message broke')) }))
    await request(app).get('/')
    const res = await request(app).get('/')
    expect([res.status, res.text]).toEqual([500, 'error: message broke'])
  })

  it('uses a custom handler', async () => {
    const app = appWith(
      limiter({
        limit: 1,
        handler: (_req, res, _next, info) => {
          res.status(420).json({ name: info.name, remaining: info.decision.remaining })
        },
      }),
    )
    await request(app).get('/')
    const res = await request(app).get('/')
    expect([res.status, res.body]).toEqual([420, { name: 'default', remaining: 0 }])
  })

  it('forwards an error thrown in the handler to next()', async () => {
    const app = appWith(
      limiter({
        limit: 1,
        handler: () => {
          throw new Error('handler broke')
        },
      }),
    )
    await request(app).get('/')
    expect((await request(app).get('/')).text).toBe('error: handler broke')
  })

  it('sends Retry-After once the client reached the limit', async () => {
    const app = appWith(limiter({ limit: 1 }))
    await request(app).get('/')
    expect((await request(app).get('/')).headers['retry-after']).toBe('60')
  })

  // Difference: Retry-After is HTTP's own field (RFC 6585 §4), sent on a 429 whatever `headers` says.
  it('still sends Retry-After with every rate-limit header turned off', async () => {
    const app = appWith(limiter({ limit: 1, headers: false }))
    await request(app).get('/')
    const res = await request(app).get('/')
    expect([res.headers['retry-after'], res.headers.ratelimit, res.headers['x-ratelimit-limit']]).toEqual([
      '60',
      undefined,
      undefined,
    ])
  })
})

describe('options that are functions', () => {
  it('uses a custom key', async () => {
    const app = appWith(limiter({ limit: 1, key: (req) => String(req.headers['x-api-key']) }))
    const a = await request(app).get('/').set('x-api-key', 'a')
    const b = await request(app).get('/').set('x-api-key', 'b')
    const a2 = await request(app).get('/').set('x-api-key', 'a')
    expect([a.status, b.status, a2.status]).toEqual([200, 200, 429])
  })

  it('skips the requests skip() accepts', async () => {
    const app = appWith(limiter({ limit: 1, skip: (req) => req.path === '/fail' }))
    expect([...(await statuses(app, 3, '/fail')), ...(await statuses(app, 2))]).toEqual([
      400, 400, 400, 200, 429,
    ])
  })

  it('skips the requests a skip() promise accepts', async () => {
    const app = appWith(limiter({ limit: 1, skip: async () => true }))
    expect(await statuses(app, 3)).toEqual([200, 200, 200])
  })

  it('forwards an error thrown in skip() to next()', async () => {
    const app = appWith(
      limiter({
        skip: () => {
          throw new Error('skip broke')
        },
      }),
    )
    expect((await request(app).get('/')).text).toBe('error: skip broke')
  })

  it('takes the limit from a function', async () => {
    expect(await statuses(appWith(limiter({ limit: () => 2 })), 3)).toEqual([200, 200, 429])
  })

  it('takes the limit from a function that returns a promise', async () => {
    expect(await statuses(appWith(limiter({ limit: async () => 2 })), 3)).toEqual([200, 200, 429])
  })
})

describe('skipSuccessfulRequests and skipFailedRequests', () => {
  it('gives back the units of a successful request with skipSuccessfulRequests', async () => {
    const rl = limiter({ limit: 3, skipSuccessfulRequests: true })
    await statuses(appWith(rl), 2)
    await settled()
    expect(await remaining(rl)).toBe(3)
  })

  it('keeps counting a failed request with skipSuccessfulRequests', async () => {
    const rl = limiter({ limit: 3, skipSuccessfulRequests: true })
    await statuses(appWith(rl), 2, '/fail')
    await settled()
    expect(await remaining(rl)).toBe(1)
  })

  it('does not give back units of a window that ended before the response finished', async () => {
    const rl = limiter({ limit: 3, skipSuccessfulRequests: true })
    const app = appWith(rl)
    await request(app).get('/')
    await request(app).get('/')
    await request(app).get('/slow') // counted in the first window, answered in the second
    await request(app).get('/fail')
    await settled()
    expect(await remaining(rl)).toBe(2)
  })

  it('asks a custom requestWasSuccessful whether to give back', async () => {
    const rl = limiter({
      limit: 3,
      skipSuccessfulRequests: true,
      requestWasSuccessful: (_req, res) => res.statusCode === 400,
    })
    const app = appWith(rl)
    await statuses(app, 2, '/fail')
    await statuses(app, 1)
    await settled()
    expect(await remaining(rl)).toBe(2)
  })

  it('waits for a requestWasSuccessful that returns a promise', async () => {
    const rl = limiter({ limit: 3, skipFailedRequests: true, requestWasSuccessful: async () => false })
    await statuses(appWith(rl), 2)
    await settled()
    expect(await remaining(rl)).toBe(3)
  })

  it('gives back the units of a failed request with skipFailedRequests', async () => {
    const rl = limiter({ limit: 3, skipFailedRequests: true })
    await statuses(appWith(rl), 3, '/fail')
    await settled()
    expect(await remaining(rl)).toBe(3)
  })

  it('keeps counting a successful request with skipFailedRequests', async () => {
    const rl = limiter({ limit: 3, skipFailedRequests: true })
    await statuses(appWith(rl), 2)
    await settled()
    expect(await remaining(rl)).toBe(1)
  })

  it('gives back the units of a request whose response closed before it finished', async () => {
    const rl = limiter({ limit: 3, skipFailedRequests: true })
    const app = express()
    app.use(rl)
    app.get('/', (req, res) => {
      res.write('partial')
      req.socket.destroy()
    })
    const server = http.createServer(app).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    const { port } = server.address() as AddressInfo
    await new Promise<void>((resolve) => {
      http
        .get({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.on('error', () => resolve())
          res.on('close', () => resolve())
          res.resume()
        })
        .on('error', () => resolve())
    })
    await settled()
    server.close()
    expect(await remaining(rl)).toBe(3)
  })

  it('gives back the units of a response destroyed with an error', async () => {
    const rl = limiter({ limit: 3, skipFailedRequests: true })
    const app = express()
    app.use(rl)
    app.get('/', (_req, res) => {
      res.destroy(new Error('stream broke'))
    })
    await request(app)
      .get('/')
      .catch(() => undefined)
    await settled()
    expect(await remaining(rl)).toBe(3)
  })

  // Here a refused request never counts (the peer counts it, then gives it back): the same wire.
  it('keeps refusing a limited client with skipFailedRequests', async () => {
    const rl = limiter({ limit: 1, skipFailedRequests: true })
    const app = appWith(rl)
    expect(await statuses(app, 3)).toEqual([200, 429, 429])
    await settled()
    expect(await remaining(rl)).toBe(0)
  })

  it('gives back on the store a route layer counted in', async () => {
    const rl = limiter({ limit: 5 })
    const app = express()
    app.use(rl)
    app.get('/login', rl.route({ name: 'login', limit: 2, skipSuccessfulRequests: true }), (_req, res) => {
      res.send('in')
    })
    expect((await statuses(app as Express, 3, '/login')).every((s) => s === 200)).toBe(true)
  })
})

describe('the store', () => {
  /** A store whose every call fails. */
  const broken: Store = {
    kind: 'broken',
    consume: () => Promise.reject(new Error('store down')),
    resetKey: () => undefined,
  }

  // Difference: the default is 'memory' (a local limiter stands in), not an error.
  it('limits with a local memory store while the store fails, by default', async () => {
    expect(await statuses(appWith(limiter({ limit: 1, store: broken })), 2)).toEqual([200, 429])
  })

  it("lets requests through while the store fails with onStoreError 'open'", async () => {
    expect(
      await statuses(appWith(limiter({ limit: 1, store: { ...broken }, onStoreError: 'open' })), 3),
    ).toEqual([200, 200, 200])
  })

  it("refuses requests with 503 while the store fails with onStoreError 'closed'", async () => {
    expect(await statuses(appWith(limiter({ store: { ...broken }, onStoreError: 'closed' })), 1)).toEqual([
      503,
    ])
  })

  it("calls next once when onStoreError 'open' lets a request through", async () => {
    let calls = 0
    const app = express()
    app.use(limiter({ store: { ...broken }, onStoreError: 'open' }))
    app.use((_req, _res, next) => {
      calls++
      next()
    })
    app.get('/', (_req, res) => {
      res.send('ok')
    })
    await request(app).get('/')
    expect(calls).toBe(1)
  })

  it('counts in the store it is given and resets a key there', async () => {
    const store = new MemoryStore({ now })
    const rl = limiter({ limit: 2, store })
    const app = appWith(rl)
    expect(await statuses(app, 3)).toEqual([200, 200, 429])
    await rl.resetKey('127.0.0.1')
    expect(await statuses(app, 1)).toEqual([200])
  })
})

describe('reset and resetKey', () => {
  it('forgets one client with resetKey(key), as express-rate-limit names it', async () => {
    const rl = limiter({ limit: 1 })
    const app = appWith(rl)
    expect(await statuses(app, 2)).toEqual([200, 429])
    await rl.resetKey('127.0.0.1')
    expect(await statuses(app, 1)).toEqual([200])
  })

  it('sets the statistics back to zero with reset(), keeping the counts', async () => {
    const rl = limiter({ limit: 1 })
    const app = appWith(rl)
    await statuses(app, 2)
    rl.reset()
    expect(rl.stats()).toMatchObject({ allowed: 0, limited: 0, topLimited: [] })
    expect(await statuses(app, 1)).toEqual([429])
  })

  it('refuses reset(key), naming resetKey', () => {
    expect(() => (limiter() as unknown as { reset(key: string): void }).reset('127.0.0.1')).toThrow(
      /use resetKey\(key\)/,
    )
  })
})
