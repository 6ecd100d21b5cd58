/**
 * Several real app processes sharing one Redis: coherence over the bus, fleet-wide
 * single-flight through the lease, and the same with Redis stopped.
 */
import { describeRedis, type RedisHandle, startRedis, uniquePrefix } from '../../../test/helpers/redis'
import { type Instance, prepare, startInstance } from './fixtures/processes'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describeRedis('several app processes on one Redis', () => {
  let redis: RedisHandle
  let fixture: ReturnType<typeof prepare>
  const running: Instance[] = []

  const start = async (count: number, env: Record<string, string> = {}) => {
    const base = { REDIS_URL: redis.url, PREFIX: uniquePrefix('cache-procs'), ...env }
    const started = await Promise.all(Array.from({ length: count }, () => startInstance(fixture.dir, base)))
    running.push(...started)
    await Promise.all(started.map((instance) => instance.call('ready')))
    return started
  }

  beforeAll(async () => {
    fixture = prepare()
    redis = await startRedis()
  })
  afterEach(async () => {
    await Promise.all(running.splice(0).map((instance) => instance.exit()))
    await redis.start()
  })
  afterAll(async () => {
    await redis.destroy()
    fixture.cleanup()
  })

  it('runs the factory exactly once for 1,000 concurrent misses over 4 processes', async () => {
    const apps = await start(4)
    const results = await Promise.all(
      apps.map((app) =>
        app.call<{ runs: number; by: number[] }>('stampede', { key: 'hot', n: 250, delay: 100 }),
      ),
    )
    expect(results.reduce((sum, r) => sum + r.runs, 0)).toBe(1)
    // Every caller in every process got the one value the one run produced.
    expect(new Set(results.flatMap((r) => r.by)).size).toBe(1)
  })

  it('runs the factory at most once per process with Redis down, no caller waiting beyond lock.wait', async () => {
    const apps = await start(4, { LOCK_WAIT: '300', COMMAND_TIMEOUT: '50' })
    await redis.stop()
    const results = await Promise.all(
      apps.map((app) =>
        app.call<{ runs: number; maxWait: number }>('stampede', { key: 'down', n: 250, delay: 20 }),
      ),
    )
    for (const r of results) expect(r.runs).toBeLessThanOrEqual(1)
    // The factory takes 20 ms; the deadline is 50 ms; nothing waits for a lease that cannot exist.
    for (const r of results) expect(r.maxWait).toBeLessThan(300)
  })

  // The 50 ms p99 of the issue is the bench's to measure on a quiet host (bench/data-cache.mjs,
  // coherence); here every change must arrive, the typical one within 50 ms even under load.
  it('waits no longer than lock.wait for a slow holder on another process, then runs its own factory', async () => {
    const [a, b] = (await start(2, { LOCK_WAIT: '300' })) as [Instance, Instance]
    const holder = a.call<{ runs: number }>('stampede', { key: 'slow', n: 1, delay: 1500 })
    await sleep(100)
    const waiter = await b.call<{ runs: number; maxWait: number }>('stampede', {
      key: 'slow',
      n: 5,
      delay: 10,
    })
    expect(waiter.runs).toBe(1)
    expect(waiter.maxWait).toBeGreaterThanOrEqual(300)
    // lock.wait, the re-read and the 10 ms factory, with room for a loaded 2-core host.
    expect(waiter.maxWait).toBeLessThan(300 + 400)
    expect((await holder).runs).toBe(1)
  })

  it('shows a set on one process to another, typically within 50 ms', async () => {
    const [a, b] = (await start(2)) as [Instance, Instance]
    const lags: number[] = []
    for (let i = 0; i < 40; i++) {
      const key = `k${i}`
      await a.call('set', { key, value: 'old' })
      expect(await b.call('get', { key })).toBe('old')
      const watching = b.call<{ at: number | null }>('watch', { key, old: 'old', limit: 1000 })
      await sleep(5)
      const sent = await a.call<number>('timedSet', { key, value: 'new' })
      const { at } = await watching
      expect(at).not.toBeNull()
      lags.push((at as number) - sent)
    }
    lags.sort((x, y) => x - y)
    expect(lags[Math.floor(lags.length / 2)]).toBeLessThanOrEqual(50)
  })

  it('drops a deleted key from the other process', async () => {
    const [a, b] = (await start(2)) as [Instance, Instance]
    await a.call('set', { key: 'k', value: 1 })
    expect(await b.call('get', { key: 'k' })).toBe(1)
    await a.call('delete', { key: 'k' })
    const { at } = await b.call<{ at: number | null }>('watch', { key: 'k', old: 1, limit: 500 })
    expect(at).not.toBeNull()
  })

  it('applies a tag deletion on every process and in their linked response caches', async () => {
    const [a, b, c] = (await start(3)) as [Instance, Instance, Instance]
    for (const app of [a, b, c])
      expect(await app.call('getOrSet', { key: 'p1', value: 'old', tags: ['products'] })).toBe('old')
    await a.call('deleteByTag', { tag: 'products' })
    await sleep(50)
    for (const app of [b, c]) {
      expect(await app.call('getOrSet', { key: 'p1', value: 'new', tags: ['products'] })).toBe('new')
      expect(await app.call('linked')).toEqual(['products'])
    }
    expect(await a.call('linked')).toEqual(['products'])
  })

  it('expires a tag on every process', async () => {
    const [a, b] = (await start(2)) as [Instance, Instance]
    for (const app of [a, b]) await app.call('getOrSet', { key: 'p1', value: 'old', tags: ['products'] })
    await a.call('expireByTag', { tag: 'products' })
    await sleep(50)
    expect(await b.call('getOrSet', { key: 'p1', value: 'new', tags: ['products'] })).toBe('new')
  })

  it('replays an invalidation issued while Redis is down, so no process serves the old value after', async () => {
    const [a, b] = (await start(2, { COMMAND_TIMEOUT: '100', MAX_STALE: '60s' })) as [Instance, Instance]
    for (const app of [a, b])
      expect(await app.call('getOrSet', { key: 'p1', value: 'old', tags: ['products'] })).toBe('old')
    await a.call('set', { key: 'k', value: 'old' })
    expect(await b.call('get', { key: 'k' })).toBe('old')
    redis.pause(1500).catch(() => undefined)
    await sleep(50)
    await a.call('deleteByTag', { tag: 'products' })
    await a.call('delete', { key: 'k' })
    expect((await a.call<{ l2: { pendingInvalidations: number } }>('stats')).l2.pendingInvalidations).toBe(2)
    // Applied on A at once, while Redis sleeps.
    expect(await a.call('getOrSet', { key: 'p1', value: 'new', tags: ['products'] })).toBe('new')
    // After Redis answers again, the replay reaches B.
    await sleep(2500)
    expect(await b.call('getOrSet', { key: 'p1', value: 'new', tags: ['products'] })).toBe('new')
    expect(await b.call('get', { key: 'k' })).toBeUndefined()
  })

  it('raises no unhandled rejection in any process through a Redis restart', async () => {
    const apps = await start(2, { COMMAND_TIMEOUT: '50' })
    await redis.stop()
    await Promise.all(apps.map((app) => app.call('stampede', { key: 'x', n: 10, delay: 1 })))
    await redis.start()
    await sleep(700)
    await Promise.all(apps.map((app) => app.call('stampede', { key: 'y', n: 10, delay: 1 })))
    for (const app of apps) expect(await app.call('rejections')).toEqual([])
  })
})
