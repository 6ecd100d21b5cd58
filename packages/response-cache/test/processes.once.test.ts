import { join } from 'node:path'
import { type AppProcess, type Fixture, prepareFixture, startApp } from '../../../test/helpers/app-processes'
import { describeRedis, type RedisHandle, startRedis, uniquePrefix } from '../../../test/helpers/redis'
import { send, until } from './http'

/**
 * Two app processes on one Redis: an invalidation issued by one while Redis is stopped
 * (SIGSTOP) is never lost, and neither process serves the invalidated entry once Redis is back.
 */
describeRedis('an invalidation during a Redis outage, across app processes', () => {
  let redis: RedisHandle
  let fixture: Fixture
  let apps: AppProcess[] = []
  const ports: number[] = []
  const get = async (i: number) =>
    (await send(ports[i] as number, 'GET', '/p', { host: 'shop.example' })).text

  beforeAll(async () => {
    redis = await startRedis()
    fixture = prepareFixture(join(__dirname, 'fixtures', 'instance.js'))
    const prefix = uniquePrefix('cache-processes')
    apps = await Promise.all(
      ['a', 'b'].map(() => startApp(fixture, { REDIS_URL: redis.url, PREFIX: prefix })),
    )
    for (const a of apps) ports.push(await a.call<number>('port'))
  }, 60_000)

  afterAll(async () => {
    await Promise.all(apps.map((a) => a.exit()))
    await redis.destroy()
    fixture.cleanup()
  }, 30_000)

  it('no process serves the entry invalidated while Redis was stopped, once it is back', async () => {
    await until(async () => (await get(0)) === 'v1' && (await get(1)) === 'v1', 8000)
    await until(async () => {
      const stats = await (apps[1] as AppProcess).call<{ hits: number }>('stats')
      await get(1)
      return stats.hits > 0
    }, 8000)
    process.kill(redis.pid as number, 'SIGSTOP')
    let detail: { applied: boolean; pending: number } | undefined
    const during: string[] = []
    try {
      await Promise.all(apps.map((a) => a.call('setVersion', { version: 2 })))
      detail = await (apps[0] as AppProcess).call('invalidate')
      for (let n = 0; n < 10; n++) during.push(await get(0), await get(1))
      await new Promise((r) => setTimeout(r, 1500))
    } finally {
      process.kill(redis.pid as number, 'SIGCONT')
    }
    expect(detail).toMatchObject({ applied: false, pending: 1 })
    expect(during).not.toContain('v1')
    const after: string[] = []
    const end = Date.now() + 4000
    while (Date.now() < end) {
      after.push(await get(0), await get(1))
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(after).not.toContain('v1')
    expect(after.at(-1)).toBe('v2')
    const stats = await (apps[0] as AppProcess).call<{ pendingInvalidations: number }>('stats')
    expect(stats.pendingInvalidations).toBe(0)
  }, 40_000)
})
