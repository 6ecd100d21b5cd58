import { createTasks, MemoryEngine, type Tasks } from '../src'
import { settled, until } from './conformance'

const made: Tasks[] = []
const make = (options: Parameters<typeof createTasks>[0] = {}) => {
  const tasks = createTasks(options)
  made.push(tasks)
  return tasks
}
afterEach(async () => {
  await Promise.all(made.splice(0).map((t) => t.close({ drain: false, timeout: 200 })))
})
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('memory engine: order and history', () => {
  it('starts the lowest priority number first when a slot frees', async () => {
    const tasks = make({ concurrency: 1 })
    const order: string[] = []
    tasks.define('step', async (label: string) => {
      order.push(label)
      await sleep(10)
    })
    await tasks.submit('step', 'first')
    await tasks.submit('step', 'low', { priority: 5 })
    await tasks.submit('step', 'high', { priority: 1 })
    const last = await tasks.submit('step', 'low-2', { priority: 5 })
    await settled(tasks, last.id)
    expect(order).toEqual(['first', 'high', 'low', 'low-2'])
  })

  it('drops finished tasks older than retention.age', async () => {
    let now = 1_000_000
    const tasks = make({ now: () => now, retention: { age: '1h' } })
    tasks.define('old', async () => 1)
    const { id: old } = await tasks.submit('old')
    await settled(tasks, old)
    now += 3_600_001
    const { id: fresh } = await tasks.submit('old')
    await settled(tasks, fresh)
    expect(await tasks.get(old)).toBeUndefined()
    expect((await tasks.get(fresh))?.state).toBe('completed')
  })

  it('uses the default engine when none is given', () => {
    expect(make().stats().engine).toBe('memory')
  })

  it('refuses one engine for two createTasks with ERR_HOTPATH_TASKS_ENGINE_SHARED', () => {
    const engine = new MemoryEngine()
    make({ engine })
    expect(() => createTasks({ engine })).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_TASKS_ENGINE_SHARED' }),
    )
  })

  it('keeps running tasks and other listeners when a listener throws', async () => {
    const errors: unknown[] = []
    const tasks = make({ logger: { warn: () => {}, error: (...m) => errors.push(m) } })
    const seen: string[] = []
    tasks.on('completed', () => {
      throw new Error('listener bug')
    })
    tasks.on('completed', (e) => seen.push(e.id))
    tasks.define('fine', async () => 'ok')
    const { id } = await tasks.submit('fine')
    expect((await settled(tasks, id)).state).toBe('completed')
    expect(seen).toEqual([id])
    expect(errors).toHaveLength(1)
  })

  it('stops calling a listener after its unsubscribe function runs', async () => {
    const tasks = make()
    const seen: string[] = []
    const off = tasks.on('completed', (e) => seen.push(e.id))
    tasks.define('n', async () => 1)
    const a = await tasks.submit('n')
    await settled(tasks, a.id)
    off()
    const b = await tasks.submit('n')
    await settled(tasks, b.id)
    expect(seen).toEqual([a.id])
  })

  it('runs the queued tasks before close({ drain: true }) resolves', async () => {
    const tasks = make({ concurrency: 1 })
    tasks.define('queued', async () => {
      await sleep(10)
      return 1
    })
    const ids = await Promise.all([1, 2, 3].map(() => tasks.submit('queued')))
    await tasks.close({ drain: true, timeout: '5s' })
    for (const { id } of ids) expect((await tasks.get(id))?.state).toBe('completed')
  })

  it('cancels the queued tasks on close({ drain: false }) with ERR_HOTPATH_TASKS_CLOSED', async () => {
    const tasks = make({ concurrency: 1 })
    tasks.define('queued', async () => {
      await sleep(30)
    })
    const [first, second] = await Promise.all([1, 2].map(() => tasks.submit('queued')))
    await tasks.close({ drain: false, timeout: '5s' })
    expect((await tasks.get(first?.id as string))?.state).toBe('completed')
    expect(await tasks.get(second?.id as string)).toMatchObject({
      state: 'cancelled',
      error: { code: 'ERR_HOTPATH_TASKS_CLOSED' },
    })
  })

  it('keeps a late progress() after a timeout out of the task', async () => {
    const tasks = make()
    let report: ((pct: number) => void) | undefined
    tasks.define(
      'late-progress',
      (_d, { progress }) => {
        report = progress
        return new Promise(() => {})
      },
      { timeout: 30 },
    )
    const { id } = await tasks.submit('late-progress')
    await settled(tasks, id)
    report?.(80)
    expect((await tasks.get(id))?.progress).toBe(0)
  })

  it('marks a task failed when its handler returns a thenable whose then() throws', async () => {
    const tasks = make()
    tasks.define('odd', () => ({
      // biome-ignore lint/suspicious/noThenProperty: the bad input under test is exactly such an object
      then() {
        throw new Error('bad thenable')
      },
    }))
    const { id } = await tasks.submit('odd')
    expect(await settled(tasks, id)).toMatchObject({ state: 'failed', error: { message: 'bad thenable' } })
    expect(tasks.stats().localRunning).toBe(0)
  })

  it('keeps the history bounded after many tasks', async () => {
    const tasks = make({ concurrency: 10, retention: { count: 100 } })
    tasks.define('noop', () => 1)
    for (let i = 0; i < 5000; i++) await tasks.submit('noop', i)
    await until(
      async () => tasks.stats().counts,
      (c) => c.running === 0 && c.pending === 0,
    )
    expect(tasks.stats().counts.completed).toBe(100)
    expect((await tasks.list({ limit: 500 })).tasks).toHaveLength(100)
  })
})

describe('options', () => {
  it.each([
    [{ concurency: 5 }, 'unknown option "concurency". Did you mean "concurrency"?'],
    [{ concurrency: 0 }, 'concurrency must be a positive integer'],
    [{ timeout: 'soon' }, 'timeout must be ms or a duration'],
    [{ onEngineError: 'open' }, "onEngineError must be 'reject' or 'local'"],
    [{ retention: { count: -1 } }, 'retention.count must be a positive integer'],
    [{ retention: { ages: '1d' } }, 'unknown option "ages"'],
    [{ engine: {} }, 'engine must be new MemoryEngine()'],
  ])('rejects %j with ERR_HOTPATH_OPTION', (options, message) => {
    expect(() => createTasks(options as never)).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_OPTION', message: expect.stringContaining(message) }),
    )
  })

  it('does not change the options object it is given', () => {
    const options = Object.freeze({ concurrency: 3, retention: Object.freeze({ count: 5 }) })
    const tasks = make(options)
    expect(tasks.stats().concurrency).toBe(3)
    expect(options).toEqual({ concurrency: 3, retention: { count: 5 } })
  })

  it('rejects a second define of one name with ERR_HOTPATH_TASK_DEFINED', () => {
    const tasks = make()
    tasks.define('x', () => 1)
    expect(() => tasks.define('x', () => 2)).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_TASK_DEFINED' }),
    )
  })

  it('rejects a handler that is not a function', () => {
    expect(() => make().define('x', 'run' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_OPTION' }),
    )
  })

  it('rejects an empty task name with ERR_HOTPATH_TASK_NAME', () => {
    expect(() => make().define('', () => 1)).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_TASK_NAME' }),
    )
  })

  it.each(['42', 'a:b', '', 'x'.repeat(300)])('rejects the id %j with ERR_HOTPATH_TASK_ID', async (id) => {
    const tasks = make()
    tasks.define('x', () => 1)
    await expect(tasks.submit('x', null, { id })).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASK_ID' })
  })

  it.each([[{ priority: -1 }], [{ delay: 'later' }], [{ timeout: 0 }], [{ retries: 2 }]])(
    'rejects the submit options %j with ERR_HOTPATH_TASK_OPTION',
    async (options) => {
      const tasks = make()
      tasks.define('x', () => 1)
      await expect(tasks.submit('x', null, options as never)).rejects.toMatchObject({
        code: 'ERR_HOTPATH_TASK_OPTION',
      })
    },
  )

  it("rejects on('done') with ERR_HOTPATH_TASK_EVENT", () => {
    expect(() => make().on('done' as never, () => {})).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_TASK_EVENT' }),
    )
  })

  it('rejects an unknown backoff type', () => {
    expect(() => make().define('x', () => 1, { backoff: { type: 'linear' as never, delay: 5 } })).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_OPTION' }),
    )
  })
})
