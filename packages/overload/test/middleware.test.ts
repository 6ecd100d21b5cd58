import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Express, RequestHandler } from 'express'
import { Registry } from 'prom-client'
import { express } from '../../../test/helpers/express'
import { type OverloadGuard, type OverloadOptions, overload } from '../src'

/** One slot (the limit pinned at 1), so a held request fills it and the next one queues. */
const ONE_SLOT: OverloadOptions = { minLimit: 1, maxLimit: 1, initialLimit: 1, eventLoop: false }

interface Harness {
  guard: OverloadGuard
  url: string
  /** Requests now held in GET /hold, released in arrival order. */
  held: Array<() => void>
  order: string[]
  server: http.Server
}
const open: Harness[] = []

async function harness(options: OverloadOptions, before: RequestHandler[] = []): Promise<Harness> {
  const guard = overload(options)
  const held: Array<() => void> = []
  const order: string[] = []
  const app: Express = express()
  for (const m of before) app.use(m)
  app.use(guard)
  app.get('/hold', (_req, res) => {
    held.push(() => res.send('released'))
  })
  app.get(['/work', '/health', '/reports/daily'], (req, res) => {
    order.push(req.originalUrl)
    res.send(`ok ${req.path}`)
  })
  const server = http.createServer(app)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const h = { guard, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held, order, server }
  open.push(h)
  return h
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    h.guard.close()
    h.server.closeAllConnections()
    await new Promise((r) => h.server.close(r))
  }
})

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}
function get(url: string, signal?: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, signal }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c) => {
        body += c
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
  })
}

/** Resolves once `n` requests are held. */
async function heldCount(h: Harness, n: number): Promise<void> {
  for (let i = 0; i < 200 && h.held.length < n; i++) await new Promise((r) => setTimeout(r, 5))
  expect(h.held.length).toBe(n)
}
const settle = (ms = 30) => new Promise((r) => setTimeout(r, ms))

describe('refusals', () => {
  it('answers 503 with Retry-After: 1 and Cache-Control: no-store when the queue is full', async () => {
    const h = await harness({ ...ONE_SLOT, maxQueue: 0 })
    const first = get(`${h.url}/hold`)
    await heldCount(h, 1)
    const res = await get(`${h.url}/work`)
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('1')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8')
    expect(res.body).toBe('Service Unavailable: the server is overloaded, retry later.')
    h.held[0]?.()
    expect((await first).status).toBe(200)
    expect(h.guard.stats().refused).toEqual({ 'queue-timeout': 0, 'queue-full': 1, 'event-loop': 0 })
  })

  it('sends the retryAfter, statusCode and JSON message it is given', async () => {
    const h = await harness({
      ...ONE_SLOT,
      maxQueue: 0,
      retryAfter: 7,
      statusCode: 529,
      message: { error: 'busy' },
    })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const res = await get(`${h.url}/work`)
    expect(res.status).toBe(529)
    expect(res.headers['retry-after']).toBe('7')
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(JSON.parse(res.body)).toEqual({ error: 'busy' })
    h.held[0]?.()
  })

  it('refuses a queued request once it has waited `interval` (not congested)', async () => {
    const h = await harness({ ...ONE_SLOT, target: '5ms', interval: '40ms' })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const started = performance.now()
    const res = await get(`${h.url}/work`)
    expect(res.status).toBe(503)
    expect(performance.now() - started).toBeGreaterThanOrEqual(35)
    expect(h.guard.stats().refused['queue-timeout']).toBe(1)
    h.held[0]?.()
  })

  it('answers through the custom handler with the reason and priority', async () => {
    const seen: unknown[] = []
    const h = await harness({
      ...ONE_SLOT,
      maxQueue: 0,
      handler: (_req, res, _next, info) => {
        seen.push(info)
        res.status(429).json({ busy: true })
      },
    })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const res = await get(`${h.url}/work`)
    expect(res.status).toBe(429)
    expect(seen).toEqual([{ reason: 'queue-full', priority: 'normal', retryAfter: 1 }])
    h.held[0]?.()
  })

  it('sends the default 503 when the custom handler throws', async () => {
    const errors: string[] = []
    const h = await harness({
      ...ONE_SLOT,
      maxQueue: 0,
      logger: { warn: () => undefined, error: (m: string) => void errors.push(m) },
      handler: () => {
        throw new Error('broken handler')
      },
    })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const res = await get(`${h.url}/work`)
    expect(res.status).toBe(503)
    expect(res.headers['retry-after']).toBe('1')
    expect(errors).toEqual([expect.stringContaining('ERR_HOTPATH_OVERLOAD_HANDLER')])
    h.held[0]?.()
  })
})

describe('the admission queue', () => {
  it('runs a queued request as soon as the slot frees, and counts its wait', async () => {
    const h = await harness({ ...ONE_SLOT, interval: '2s', target: '1s' })
    const first = get(`${h.url}/hold`)
    await heldCount(h, 1)
    const second = get(`${h.url}/work`)
    await settle(40)
    expect(h.guard.stats().queued).toBe(1)
    h.held[0]?.()
    expect((await second).body).toBe('ok /work')
    expect((await first).status).toBe(200)
    const stats = h.guard.stats()
    expect(stats.admitted).toBe(2)
    expect(stats.queued).toBe(0)
    expect(stats.queueDelayMs.p99).toBeGreaterThanOrEqual(30)
  })

  /** One GET /work?i every `everyMs`, `count` times; resolves to their promises. */
  async function trickle(h: Harness, count: number, everyMs: number): Promise<Array<Promise<Answer>>> {
    const answers: Array<Promise<Answer>> = []
    for (let i = 0; i < count; i++) {
      answers.push(get(`${h.url}/work?${i}`))
      await settle(everyMs)
    }
    return answers
  }

  it('turns congested once requests have waited `target` for a whole `interval`, and refuses the old ones', async () => {
    const h = await harness({ ...ONE_SLOT, target: '100ms', interval: '200ms' })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const answers = await trickle(h, 12, 40)
    expect(h.guard.stats().congested).toBe(true)
    h.held[0]?.()
    const statuses = (await Promise.all(answers)).map((a) => a.status)
    expect(statuses.slice(0, 4)).toEqual([503, 503, 503, 503])
    expect(statuses).toContain(200)
  })

  it('serves the newest waiting request first while congested (LIFO)', async () => {
    const h = await harness({ ...ONE_SLOT, target: '200ms', interval: '300ms' })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const answers = await trickle(h, 20, 40)
    h.held[0]?.()
    await Promise.all(answers)
    const served = h.order.map((url) => Number(url.split('?')[1]))
    expect(served.length).toBeGreaterThan(1)
    expect(served).toEqual([...served].sort((a, b) => b - a))
  })

  it('ends congestion after an interval in which no request waited `target`', async () => {
    const h = await harness({ ...ONE_SLOT, target: '100ms', interval: '200ms' })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const answers = await trickle(h, 12, 40)
    expect(h.guard.stats().congested).toBe(true)
    h.held[0]?.()
    await Promise.all(answers)
    await settle(400)
    expect(h.guard.stats().congested).toBe(false)
  })

  it('gives up the place of a request whose client left while it waited', async () => {
    const h = await harness({ ...ONE_SLOT, interval: '2s', target: '1s' })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const controller = new AbortController()
    const gone = get(`${h.url}/work`, controller.signal).catch(() => 'aborted')
    await settle(30)
    controller.abort()
    expect(await gone).toBe('aborted')
    await settle(30)
    expect(h.guard.stats().queued).toBe(0)
    expect(h.guard.stats().abandoned).toBe(1)
    h.held[0]?.()
    await settle(20)
    expect(h.order).toEqual([])
    expect(h.guard.stats().inFlight).toBe(0)
  })

  it('frees the slot of a request whose client left while it ran', async () => {
    const h = await harness({ ...ONE_SLOT, interval: '2s', target: '1s' })
    const controller = new AbortController()
    const gone = get(`${h.url}/hold`, controller.signal).catch(() => 'aborted')
    await heldCount(h, 1)
    controller.abort()
    await gone
    await settle(30)
    expect(h.guard.stats().inFlight).toBe(0)
    expect((await get(`${h.url}/work`)).status).toBe(200)
  })
})

describe('priorities', () => {
  const priorities = [
    { match: '/health', priority: 'critical' as const },
    { match: '/reports/**', priority: 'sheddable' as const },
  ]

  it('admits a critical request while every slot is taken and the queue is full', async () => {
    const h = await harness({ ...ONE_SLOT, maxQueue: 0, priorities })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    expect((await get(`${h.url}/work`)).status).toBe(503)
    expect((await get(`${h.url}/health`)).status).toBe(200)
    expect(h.guard.stats().priorities.critical).toEqual({ admitted: 1, refused: 0 })
    h.held[0]?.()
  })

  it('serves a waiting normal request before a sheddable one that arrived first', async () => {
    const h = await harness({ ...ONE_SLOT, interval: '2s', target: '1s', priorities })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const reports = get(`${h.url}/reports/daily`)
    await settle(20)
    const work = get(`${h.url}/work`)
    await settle(20)
    h.held[0]?.()
    await Promise.all([reports, work])
    expect(h.order).toEqual(['/work', '/reports/daily'])
  })

  it('refuses a sheddable request that waited `target`, where a normal one may wait `interval`', async () => {
    const h = await harness({ ...ONE_SLOT, interval: '1s', target: '20ms', priorities })
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    const work = get(`${h.url}/work`)
    const reports = await get(`${h.url}/reports/daily`)
    expect(reports.status).toBe(503)
    h.held[0]?.()
    expect((await work).status).toBe(200)
  })

  it('lets the request through by the next rule when a matcher throws, and warns once', async () => {
    const warnings: string[] = []
    const h = await harness({
      ...ONE_SLOT,
      logger: { warn: (m: string) => void warnings.push(m), error: () => undefined },
      priorities: [
        {
          match: () => {
            throw new Error('bad matcher')
          },
          priority: 'sheddable',
        },
        { match: '/health', priority: 'critical' },
      ],
    })
    expect((await get(`${h.url}/health`)).status).toBe(200)
    expect((await get(`${h.url}/health`)).status).toBe(200)
    expect(h.guard.stats().priorities.critical.admitted).toBe(2)
    expect(warnings).toEqual([expect.stringContaining('ERR_HOTPATH_OVERLOAD_MATCH')])
  })
})

describe('the guard as a stats source', () => {
  it("is named 'overload' and reports the limit, counts and minRTT", async () => {
    const h = await harness({ ...ONE_SLOT })
    expect(h.guard.name).toBe('overload')
    await get(`${h.url}/work`)
    const stats = h.guard.stats()
    expect(stats).toMatchObject({
      admitted: 1,
      limit: 1,
      inFlight: 0,
      queued: 0,
      congested: false,
      eventLoop: null,
      breakers: [],
    })
  })

  it('reports a null limit when the concurrency limit is off', async () => {
    const h = await harness({ concurrency: false, eventLoop: false })
    expect((await get(`${h.url}/work`)).status).toBe(200)
    expect(h.guard.stats().limit).toBeNull()
  })

  it('publishes its counters on the registry it is given', async () => {
    const registry = new Registry()
    const h = await harness({ ...ONE_SLOT, maxQueue: 0, registry })
    await get(`${h.url}/work`)
    get(`${h.url}/hold`).catch(() => undefined)
    await heldCount(h, 1)
    await get(`${h.url}/work`)
    const text = await registry.metrics()
    expect(text).toContain('hotpath_overload_requests_total{priority="normal",outcome="admitted"} 2')
    expect(text).toContain('hotpath_overload_requests_total{priority="all",outcome="queue-full"} 1')
    expect(text).toContain('hotpath_overload_limit 1')
    expect(text).toContain('hotpath_overload_in_flight 1')
    h.held[0]?.()
  })

  it('does not change the options it was given', () => {
    const options = Object.freeze({
      ...ONE_SLOT,
      priorities: Object.freeze([Object.freeze({ match: '/x', priority: 'critical' as const })]),
    })
    const copy = JSON.parse(JSON.stringify(options))
    const guard = overload(options)
    guard.close()
    expect(JSON.parse(JSON.stringify(options))).toEqual(copy)
  })
})

describe('faults on the request path', () => {
  const quiet = () => {
    const errors: string[] = []
    return { errors, logger: { warn: () => undefined, error: (m: string) => void errors.push(m) } }
  }

  it('runs the request, without taking a slot, when its response cannot take a listener', () => {
    const { errors, logger } = quiet()
    const guard = overload({ ...ONE_SLOT, logger })
    const next = jest.fn()
    guard({ url: '/x', originalUrl: '/x' } as never, {} as never, next)
    guard({ url: '/x', originalUrl: '/x' } as never, {} as never, next)
    guard.close()
    expect(next).toHaveBeenCalledTimes(2)
    expect(next).toHaveBeenCalledWith()
    expect(guard.stats().inFlight).toBe(0)
    expect(errors).toEqual([expect.stringContaining('ERR_HOTPATH_OVERLOAD_INTERNAL')])
  })

  it('never throws on malformed requests, and runs each once', () => {
    const { logger } = quiet()
    const guard = overload({ ...ONE_SLOT, logger, priorities: [{ match: '/api/**', priority: 'sheddable' }] })
    const inputs = [null, undefined, {}, { url: 42 }, { originalUrl: {} }, 'GET /']
    for (const input of inputs) {
      const next = jest.fn()
      expect(() => guard(input as never, input as never, next)).not.toThrow()
      expect(next).toHaveBeenCalledTimes(1)
    }
    guard.close()
  })

  it("leaves an error thrown by the app's own next() to the app", () => {
    const guard = overload({ ...ONE_SLOT, concurrency: false })
    const boom = new Error('downstream')
    const next = jest.fn(() => {
      throw boom
    })
    expect(() =>
      guard({ url: '/', originalUrl: '/' } as never, { on: () => undefined } as never, next),
    ).toThrow(boom)
    expect(next).toHaveBeenCalledTimes(1)
    guard.close()
  })
})
