import { profiler } from '@hotpath/profiler'
import { describeRedis, type RedisHandle, startRedis } from '../../../test/helpers/redis'
import { fleet } from '../src/index'

const quiet = { warn: () => undefined, error: () => undefined }

describeRedis('fleet mode when Redis fails', () => {
  let redis: RedisHandle
  const rejections: unknown[] = []
  const onRejection = (reason: unknown) => rejections.push(reason)

  beforeAll(async () => {
    redis = await startRedis()
    process.on('unhandledRejection', onRejection)
  })
  afterAll(async () => {
    process.off('unhandledRejection', onRejection)
    await redis.destroy()
  })

  it('shows this instance alone, within the deadline, when Redis is stopped; and recovers by itself', async () => {
    const prof = profiler({ registry: false, eventLoop: false })
    const f = fleet({
      redis: redis.url,
      app: 'down',
      instance: 'solo',
      sources: { profiler: prof },
      interval: 200,
      commandTimeout: 100,
      cacheFor: 0,
      logger: quiet,
    })
    await f.publish()
    expect((await f.view()).coverage.total).toBe(1)
    await redis.stop()
    const started = Date.now()
    const view = await f.view()
    expect(Date.now() - started).toBeLessThan(1000)
    expect(view.instances.map((i) => i.id)).toEqual(['solo'])
    await expect(f.publish()).rejects.toBeDefined()
    const history = await f.history({ metric: 'rps' })
    expect(history.window).toBe('1h')
    await redis.start()
    await new Promise((r) => setTimeout(r, 1500))
    await f.publish()
    expect((await f.view()).coverage).toEqual({ fresh: 1, total: 1, stale: [] })
    await f.close()
    prof.close()
    expect(rejections).toEqual([])
  })
})
