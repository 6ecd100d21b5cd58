/**
 * The open state shared through a real Redis: one instance's discovery opens the others, and
 * with Redis gone every breaker keeps working on its own.
 */
import Redis from 'ioredis'
import {
  describeRedis,
  type RedisHandle,
  redisUrl,
  startRedis,
  uniquePrefix,
} from '../../../test/helpers/redis'
import { type Breaker, breaker } from '../src'
import { type App, buildDir, startApp } from './helpers'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const failing = async (): Promise<string> => {
  throw new Error('upstream down')
}
const healthy = async (): Promise<string> => 'fresh'
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (err: { code?: string }) => err.code ?? String(err),
  )

const clients: Redis[] = []
const breakers: Breaker[] = []
afterEach(async () => {
  for (const b of breakers.splice(0)) b.shutdown()
  await Promise.all(clients.splice(0).map((c) => c.quit().catch(() => c.disconnect())))
})
/** A connected client with no offline queue: with Redis gone, a command fails at once. */
async function client(url: string): Promise<Redis> {
  const c = new Redis(url, { maxRetriesPerRequest: 0, enableOfflineQueue: false })
  c.on('error', () => undefined)
  clients.push(c)
  await new Promise((ready) => c.once('ready', ready))
  return c
}

describeRedis('a breaker shared through Redis', () => {
  it('opens on another instance once one instance has opened it', async () => {
    const prefix = uniquePrefix('breaker')
    const shared = async (fn: () => Promise<string>) => {
      const b = breaker(fn, {
        name: 'catalog',
        minimumCalls: 3,
        resetTimeout: 2000,
        shared: { client: await client(redisUrl()), prefix, pollInterval: 50 },
      })
      breakers.push(b as Breaker)
      return b
    }
    const first = await shared(failing)
    const second = await shared(healthy)
    for (let i = 0; i < 3; i++) await codeOf(first())
    expect(first.state).toBe('open')
    await sleep(250)
    expect(second.state).toBe('open')
    expect(await codeOf(second())).toBe('ERR_HOTPATH_BREAKER_OPEN')
  })

  it('publishes the opening for one resetTimeout only', async () => {
    const prefix = uniquePrefix('breaker')
    const probe = await client(redisUrl())
    const b = breaker(failing, {
      name: 'ttl',
      minimumCalls: 3,
      resetTimeout: 1500,
      shared: { client: await client(redisUrl()), prefix },
    })
    breakers.push(b as Breaker)
    for (let i = 0; i < 3; i++) await codeOf(b())
    await sleep(50)
    const ttl = await probe.pttl(`${prefix}ttl`)
    expect(ttl).toBeGreaterThan(1000)
    expect(ttl).toBeLessThanOrEqual(1500)
  })

  it('does not open an instance again for an opening it has already followed', async () => {
    const prefix = uniquePrefix('breaker')
    const first = breaker(failing, {
      name: 'once',
      minimumCalls: 3,
      resetTimeout: 3000,
      shared: { client: await client(redisUrl()), prefix, pollInterval: 50 },
    })
    const second = breaker(healthy, {
      name: 'once',
      resetTimeout: 3000,
      shared: { client: await client(redisUrl()), prefix, pollInterval: 50 },
    })
    breakers.push(first as Breaker, second as Breaker)
    for (let i = 0; i < 3; i++) await codeOf(first())
    await sleep(250)
    expect(second.state).toBe('open')
    second.close()
    await sleep(250)
    expect(second.state).toBe('closed')
    expect(await second()).toBe('fresh')
  })
})

describeRedis('a shared breaker with Redis down', () => {
  let redis: RedisHandle

  beforeAll(async () => {
    redis = await startRedis()
  })
  afterAll(async () => {
    await redis.destroy()
  })

  it('opens and closes on its own, without waiting for Redis, and warns once', async () => {
    const warnings: string[] = []
    const c = await client(redis.url)
    await redis.stop()
    let fail = true
    const b = breaker(async () => (fail ? failing() : healthy()), {
      name: 'alone',
      minimumCalls: 3,
      resetTimeout: 200,
      logger: { warn: (m: string) => void warnings.push(m), error: () => undefined },
      shared: { client: c, prefix: uniquePrefix('breaker'), pollInterval: 50, commandTimeout: 100 },
    })
    breakers.push(b as Breaker)
    const started = performance.now()
    for (let i = 0; i < 3; i++) expect(await codeOf(b())).toBe('Error: upstream down')
    expect(performance.now() - started).toBeLessThan(100)
    expect(b.state).toBe('open')
    fail = false
    await sleep(300)
    expect(await b()).toBe('fresh')
    expect(b.state).toBe('closed')
    expect(warnings).toEqual([expect.stringContaining('ERR_HOTPATH_BREAKER_SHARED')])
  })
})

describeRedis('a shared breaker across processes', () => {
  let build: ReturnType<typeof buildDir>
  const children: App[] = []

  beforeAll(() => {
    build = buildDir()
  })
  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop()))
    build.remove()
  })

  const ask = (child: App, message: object) =>
    new Promise<{ result?: string; state: string }>((resolve) => {
      child.child.once('message', (m) => resolve(m as { result?: string; state: string }))
      child.child.send(message)
    })

  it('opens in a second process once the first process has opened it', async () => {
    const prefix = uniquePrefix('breaker-fleet')
    const [failing, healthy] = await Promise.all([
      startApp(build.dir, { REDIS_URL: redisUrl(), PREFIX: prefix, FAIL: '1' }, 'breaker-child.js'),
      startApp(build.dir, { REDIS_URL: redisUrl(), PREFIX: prefix, FAIL: '0' }, 'breaker-child.js'),
    ])
    children.push(failing, healthy)
    expect((await ask(healthy, { call: true })).result).toBe('fresh')
    for (let i = 0; i < 3; i++) await ask(failing, { call: true })
    expect((await ask(failing, { state: true })).state).toBe('open')
    await sleep(300)
    expect((await ask(healthy, { state: true })).state).toBe('open')
    expect(await ask(healthy, { call: true })).toEqual({ result: 'ERR_HOTPATH_BREAKER_OPEN', state: 'open' })
  })
})
