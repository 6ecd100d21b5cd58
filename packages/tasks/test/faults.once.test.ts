/**
 * Redis really stopped, restarted and misconfigured: a private redis-server per suite, so the
 * shared one other suites use is never disturbed.
 */
import { describeRedis, type RedisHandle, startRedis, uniquePrefix } from '../../../test/helpers/redis'
import { BullMQEngine, createTasks, type Tasks, type TasksOptions } from '../src'
import { settled, until } from './conformance'

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown) => unhandled.push(reason)
beforeAll(() => process.on('unhandledRejection', onUnhandled))
afterAll(() => {
  process.off('unhandledRejection', onUnhandled)
})

describeRedis('BullMQ engine when Redis fails', () => {
  let redis: RedisHandle
  const made: Tasks[] = []
  const lines: string[] = []
  const logger = { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) }

  const make = (options: Omit<TasksOptions, 'engine'> = {}) => {
    const tasks = createTasks({
      logger,
      ...options,
      engine: new BullMQEngine({
        connection: { host: redis.host, port: redis.port, maxRetriesPerRequest: null },
        prefix: uniquePrefix('tasks-faults').slice(0, -1),
        commandTimeout: 300,
      }),
    })
    tasks.define('work', async (n: number) => n * 2)
    made.push(tasks)
    return tasks
  }

  beforeAll(async () => {
    redis = await startRedis()
  })
  beforeEach(async () => {
    await redis.start().catch(() => {})
  })
  afterEach(async () => {
    await redis.start().catch(() => {})
    await Promise.all(made.splice(0).map((t) => t.close({ drain: false, timeout: 200 })))
  })
  afterAll(async () => {
    await redis.destroy()
  })

  it("rejects submit within its deadline with ERR_HOTPATH_TASKS_ENGINE while Redis is stopped ('reject')", async () => {
    const tasks = make()
    const { id } = await tasks.submit('work', 1)
    await settled(tasks, id)
    await redis.stop()
    const started = Date.now()
    await expect(tasks.submit('work', 2)).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASKS_ENGINE' })
    expect(Date.now() - started).toBeLessThan(1500)
    expect(tasks.stats().engineErrors).toBeGreaterThan(0)
  })

  it("runs the task in this process while Redis is stopped ('local') and says so", async () => {
    const tasks = make({ onEngineError: 'local' })
    await tasks.submit('work', 1).then(({ id }) => settled(tasks, id))
    await redis.stop()
    const { id } = await tasks.submit('work', 21)
    const task = await settled(tasks, id)
    expect(task).toMatchObject({ state: 'completed', result: 42, local: true })
    expect(lines.some((l) => l.includes('ERR_HOTPATH_TASKS_LOCAL'))).toBe(true)
  })

  it('rejects get and list with ERR_HOTPATH_TASKS_ENGINE while Redis is stopped', async () => {
    const tasks = make()
    const { id } = await tasks.submit('work', 1)
    await settled(tasks, id)
    await redis.stop()
    await expect(tasks.get(id)).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASKS_ENGINE' })
    await expect(tasks.list()).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASKS_ENGINE' })
    await expect(tasks.cancel(id)).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASKS_ENGINE' })
  })

  it('submits and runs tasks again once Redis is back', async () => {
    const tasks = make()
    await tasks.submit('work', 1).then(({ id }) => settled(tasks, id))
    await redis.stop()
    await expect(tasks.submit('work', 2)).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASKS_ENGINE' })
    await redis.start()
    const submitted = await until(
      () => tasks.submit('work', 5).catch(() => undefined),
      (r) => r !== undefined,
      10_000,
    )
    expect(await settled(tasks, submitted?.id as string, 10_000)).toMatchObject({
      state: 'completed',
      result: 10,
    })
  }, 20_000)

  it('rejects data that is not JSON-serializable with ERR_HOTPATH_TASK_DATA', async () => {
    const tasks = make()
    const circular: Record<string, unknown> = {}
    circular.self = circular
    await expect(tasks.submit('work', circular)).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASK_DATA' })
    await expect(tasks.submit('work', { n: 10n })).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASK_DATA' })
  })

  it('leaves no unhandled rejection behind', () => {
    expect(unhandled).toEqual([])
  })
})

describeRedis('BullMQ engine on an evicting Redis', () => {
  let redis: RedisHandle
  beforeAll(async () => {
    redis = await startRedis({ args: ['--maxmemory-policy', 'allkeys-lru'] })
  })
  afterAll(async () => {
    await redis.destroy()
  })

  it('warns once with ERR_HOTPATH_TASKS_EVICTION when maxmemory-policy is not noeviction', async () => {
    const lines: string[] = []
    const tasks = createTasks({
      logger: { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) },
      engine: new BullMQEngine({ connection: { host: redis.host, port: redis.port }, prefix: 'evicting' }),
    })
    try {
      await until(
        async () => lines.filter((l) => l.includes('ERR_HOTPATH_TASKS_EVICTION')),
        (found) => found.length > 0,
      )
      expect(lines.filter((l) => l.includes('ERR_HOTPATH_TASKS_EVICTION'))).toHaveLength(1)
      expect(lines.join('\n')).toContain('"allkeys-lru"')
    } finally {
      await tasks.close()
    }
  })

  it('does not warn on a noeviction Redis', async () => {
    await redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    const lines: string[] = []
    const tasks = createTasks({
      logger: { warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) },
      engine: new BullMQEngine({ connection: { host: redis.host, port: redis.port }, prefix: 'noevict' }),
    })
    tasks.define('ping', async () => 'pong')
    const { id } = await tasks.submit('ping')
    await settled(tasks, id)
    await tasks.close()
    expect(lines.filter((l) => l.includes('ERR_HOTPATH_TASKS_EVICTION'))).toEqual([])
  })
})
