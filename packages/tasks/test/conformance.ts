/**
 * One behaviour suite for every engine: the memory engine and BullMQ on a real redis-server
 * run exactly these tests. `make` builds a Tasks on a fresh engine (and queue).
 */
import type { TaskEvent, TaskInfo, TaskState, Tasks, TasksOptions } from '../src'

export type MakeTasks = (options?: Omit<TasksOptions, 'engine'>) => Tasks

const FINAL: readonly TaskState[] = ['completed', 'failed', 'cancelled', 'timed_out']
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, ms = 5000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const value = await read()
    if (ok(value)) return value
    if (Date.now() > end)
      throw new Error(`condition not met within ${ms} ms; last value ${JSON.stringify(value)}`)
    await sleep(10)
  }
}

export const settled = (tasks: Tasks, id: string, ms?: number): Promise<TaskInfo> =>
  until(
    () => tasks.get(id),
    (t) => t !== undefined && FINAL.includes(t.state),
    ms,
  ) as Promise<TaskInfo>

export const inState = (tasks: Tasks, id: string, state: TaskState): Promise<TaskInfo> =>
  until(
    () => tasks.get(id),
    (t) => t?.state === state,
  ) as Promise<TaskInfo>

/** A handler that runs until its signal aborts, then (late) returns a value that must be discarded. */
const untilAborted =
  (lateMs = 20) =>
  async (_data: unknown, { signal }: { signal: AbortSignal }) => {
    while (!signal.aborted) await sleep(5)
    await sleep(lateMs)
    return 'late result'
  }

export function conformance(label: string, make: MakeTasks): void {
  describe(`${label}: running tasks`, () => {
    it('runs a submitted task and keeps its result, attempts and timings', async () => {
      const tasks = make()
      tasks.define('double', async (n: number) => n * 2)
      const { id } = await tasks.submit('double', 21)
      const task = await settled(tasks, id)
      expect(task).toMatchObject({
        id,
        name: 'double',
        state: 'completed',
        result: 42,
        attempts: 1,
        progress: 100,
      })
      expect(task.durationMs).toBeGreaterThanOrEqual(0)
      expect(task.queueMs).toBeGreaterThanOrEqual(0)
      expect(task.finishedAt).toBeGreaterThanOrEqual(task.startedAt as number)
      expect(task.error).toBeUndefined()
    })

    it('reports progress and its message through get() while the task runs', async () => {
      const tasks = make()
      let release = () => {}
      const gate = new Promise<void>((resolve) => {
        release = resolve
      })
      tasks.define('report', async (_d, { progress }) => {
        progress(40, 'rows read')
        await gate
        return 'done'
      })
      const { id } = await tasks.submit('report', {})
      const running = await until(
        () => tasks.get(id),
        (t) => t?.progress === 40,
      )
      expect(running).toMatchObject({ state: 'running', progress: 40, message: 'rows read' })
      release()
      await settled(tasks, id)
    })

    it("emits 'progress' and 'completed' events for the task", async () => {
      const tasks = make()
      const events: TaskEvent[] = []
      tasks.on('progress', (e) => events.push(e))
      tasks.on('completed', (e) => events.push(e))
      tasks.define('evented', async (_d, { progress }) => {
        progress(50, 'half')
        await sleep(50)
        return 1
      })
      const { id } = await tasks.submit('evented')
      await until(
        async () => events.filter((e) => e.id === id).map((e) => e.state),
        (states) => states.includes('completed'),
      )
      const mine = events.filter((e) => e.id === id)
      expect(mine[0]).toMatchObject({ id, name: 'evented', state: 'running', progress: 50, message: 'half' })
      expect(mine[mine.length - 1]).toMatchObject({ id, name: 'evented', state: 'completed', result: 1 })
    })

    it('clamps progress outside 0–100 and ignores a progress that is not a number', async () => {
      const tasks = make()
      let step = (_n: number) => {}
      const steps: Array<Promise<void>> = []
      let next: () => void = () => {}
      const waitStep = () =>
        new Promise<void>((resolve) => {
          next = resolve
        })
      tasks.define('clamp', async (_d, { progress }) => {
        step = (n) => progress(n)
        steps.push(waitStep())
        await steps[0]
      })
      const { id } = await tasks.submit('clamp')
      await inState(tasks, id, 'running')
      await until(
        async () => steps.length,
        (n) => n === 1,
      )
      step(150)
      await until(
        () => tasks.get(id),
        (t) => t?.progress === 100,
      )
      step(Number.NaN)
      step('7' as unknown as number)
      await sleep(50)
      expect((await tasks.get(id))?.progress).toBe(100)
      step(-5)
      await until(
        () => tasks.get(id),
        (t) => t?.progress === 0,
      )
      next()
      expect((await settled(tasks, id)).state).toBe('completed')
    })

    it('never runs more tasks at once than the concurrency limit', async () => {
      const tasks = make({ concurrency: 3 })
      let now = 0
      let peak = 0
      tasks.define('slot', async () => {
        now++
        peak = Math.max(peak, now)
        await sleep(20)
        now--
      })
      const ids = await Promise.all(Array.from({ length: 12 }, () => tasks.submit('slot')))
      for (const { id } of ids) await settled(tasks, id)
      expect(peak).toBe(3)
    })

    it('never runs more of one task at once than its own concurrency', async () => {
      const tasks = make({ concurrency: 10 })
      let now = 0
      let peak = 0
      tasks.define(
        'narrow',
        async () => {
          now++
          peak = Math.max(peak, now)
          await sleep(20)
          now--
        },
        { concurrency: 2 },
      )
      const ids = await Promise.all(Array.from({ length: 8 }, () => tasks.submit('narrow')))
      for (const { id } of ids) await settled(tasks, id)
      expect(peak).toBe(2)
    })

    it('does not start a delayed task before its delay', async () => {
      const tasks = make()
      tasks.define('later', async () => Date.now())
      const submitted = Date.now()
      const { id } = await tasks.submit('later', null, { delay: 300 })
      expect((await tasks.get(id))?.state).toBe('pending')
      const task = await settled(tasks, id)
      expect(task.result as number).toBeGreaterThanOrEqual(submitted + 290)
    })

    it('runs a task submitted twice with the same id once', async () => {
      const tasks = make()
      let runs = 0
      tasks.define('once', async () => {
        runs++
        await sleep(30)
      })
      const a = await tasks.submit('once', 1, { id: 'report-2024-07' })
      const b = await tasks.submit('once', 1, { id: 'report-2024-07' })
      expect(a).toEqual({ id: 'report-2024-07' })
      expect(b).toEqual({ id: 'report-2024-07' })
      await settled(tasks, a.id)
      await sleep(100)
      expect(runs).toBe(1)
    })
  })

  describe(`${label}: failures`, () => {
    it('marks a task failed with the message and code of what its handler threw synchronously', async () => {
      const tasks = make()
      tasks.define('sync-throw', () => {
        throw Object.assign(new Error('no such account'), { code: 'E_ACCOUNT' })
      })
      const { id } = await tasks.submit('sync-throw')
      const task = await settled(tasks, id)
      expect(task.state).toBe('failed')
      expect(task.error).toEqual({ message: 'no such account', code: 'E_ACCOUNT' })
      expect(task.result).toBeUndefined()
    })

    it('gives a rejection without a code ERR_HOTPATH_TASK_FAILED', async () => {
      const tasks = make()
      tasks.define('reject', async () => {
        throw new Error('boom')
      })
      const { id } = await tasks.submit('reject')
      expect((await settled(tasks, id)).error).toEqual({ message: 'boom', code: 'ERR_HOTPATH_TASK_FAILED' })
    })

    it('retries a failing task its retries, then leaves it failed after retries + 1 attempts', async () => {
      const tasks = make()
      let runs = 0
      tasks.define(
        'flaky',
        async () => {
          runs++
          throw new Error(`attempt ${runs}`)
        },
        { retries: 2, backoff: 10 },
      )
      const { id } = await tasks.submit('flaky')
      const task = await until(
        () => tasks.get(id),
        (t) => t?.state === 'failed' && t.attempts === 3,
      )
      expect(task?.error?.message).toBe('attempt 3')
      expect(runs).toBe(3)
    })

    it('completes a task that fails once and succeeds on its retry', async () => {
      const tasks = make()
      let runs = 0
      tasks.define(
        'second-time',
        async () => {
          runs++
          if (runs === 1) throw new Error('first')
          return 'ok'
        },
        { retries: 1, backoff: 10 },
      )
      const { id } = await tasks.submit('second-time')
      const task = await until(
        () => tasks.get(id),
        (t) => t?.state === 'completed',
      )
      expect(task).toMatchObject({ result: 'ok', attempts: 2 })
    })

    it('rejects a submit of an unknown task name with ERR_HOTPATH_TASK_UNKNOWN and a suggestion', async () => {
      const tasks = make()
      tasks.define('export-csv', async () => 1)
      await expect(tasks.submit('export-cvs')).rejects.toMatchObject({
        code: 'ERR_HOTPATH_TASK_UNKNOWN',
        message: expect.stringContaining('Did you mean "export-csv"?'),
      })
    })

    it('answers undefined for an unknown id', async () => {
      const tasks = make()
      expect(await tasks.get('no-such-task')).toBeUndefined()
    })
  })

  describe(`${label}: timeout and cancel`, () => {
    it('aborts the signal on timeout and marks the task timed_out at once', async () => {
      const tasks = make()
      let aborted: unknown
      tasks.define(
        'forever',
        (_d, { signal }) =>
          new Promise(() => {
            signal.addEventListener('abort', () => {
              aborted = signal.reason
            })
          }),
        { timeout: 100 },
      )
      const started = Date.now()
      const { id } = await tasks.submit('forever')
      const task = await settled(tasks, id)
      expect(task.state).toBe('timed_out')
      expect(task.error?.code).toBe('ERR_HOTPATH_TASK_TIMEOUT')
      expect(Date.now() - started).toBeLessThan(2000)
      expect((aborted as { code?: string })?.code).toBe('ERR_HOTPATH_TASK_TIMEOUT')
    })

    it('times out a task that starts after an earlier task with a sooner deadline finished', async () => {
      const tasks = make()
      tasks.define('quick', async () => 'done', { timeout: 100 })
      tasks.define('stuck', untilAborted(), { timeout: 400 })
      const first = await tasks.submit('quick')
      expect((await settled(tasks, first.id)).state).toBe('completed')
      const { id } = await tasks.submit('stuck')
      expect((await settled(tasks, id)).state).toBe('timed_out')
    })

    it('uses the timeout given at submit over the one defined', async () => {
      const tasks = make()
      tasks.define('per-submit', untilAborted(), { timeout: '1h' })
      const { id } = await tasks.submit('per-submit', null, { timeout: 80 })
      expect((await settled(tasks, id)).state).toBe('timed_out')
    })

    it('cancels a running task: aborts its signal, marks it cancelled and discards its late result', async () => {
      const tasks = make()
      tasks.define('long', untilAborted(30))
      const { id } = await tasks.submit('long')
      await inState(tasks, id, 'running')
      expect(await tasks.cancel(id)).toBe(true)
      const task = await settled(tasks, id)
      expect(task.state).toBe('cancelled')
      expect(task.error?.code).toBe('ERR_HOTPATH_TASK_CANCELLED')
      await sleep(100)
      const later = await tasks.get(id)
      expect(later?.state).toBe('cancelled')
      expect(later?.result).toBeUndefined()
    })

    it('cancels a pending task so that it never runs', async () => {
      const tasks = make()
      let runs = 0
      tasks.define('not-yet', async () => {
        runs++
      })
      const { id } = await tasks.submit('not-yet', null, { delay: 200 })
      expect(await tasks.cancel(id)).toBe(true)
      expect((await tasks.get(id))?.state).toBe('cancelled')
      await sleep(400)
      expect(runs).toBe(0)
      expect((await tasks.get(id))?.state).toBe('cancelled')
    })

    it('answers false to a cancel of a finished task and leaves it completed', async () => {
      const tasks = make()
      tasks.define('quick', async () => 'r')
      const { id } = await tasks.submit('quick')
      await settled(tasks, id)
      expect(await tasks.cancel(id)).toBe(false)
      expect(await tasks.get(id)).toMatchObject({ state: 'completed', result: 'r' })
    })

    it('rejects a cancel of an unknown id with ERR_HOTPATH_TASK_NOT_FOUND', async () => {
      const tasks = make()
      await expect(tasks.cancel('never-was')).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASK_NOT_FOUND' })
    })

    it('reports 0 zombie completions from handlers that loop until signal.aborted', async () => {
      const tasks = make({ concurrency: 20 })
      const completions: string[] = []
      tasks.on('completed', (e) => completions.push(e.id))
      tasks.define('zombie', untilAborted(15), { timeout: 60 })
      const ids = (await Promise.all(Array.from({ length: 40 }, () => tasks.submit('zombie')))).map(
        (t) => t.id,
      )
      const cancelled = ids.slice(0, 10)
      await Promise.all(cancelled.map((id) => inState(tasks, id, 'running').then(() => tasks.cancel(id))))
      const final = await Promise.all(ids.map((id) => settled(tasks, id)))
      await sleep(150)
      const again = await Promise.all(ids.map((id) => tasks.get(id)))
      expect(completions).toEqual([])
      expect(final.filter((t) => t.state === 'completed')).toEqual([])
      expect(again.map((t) => t?.state)).toEqual(final.map((t) => t.state))
      expect(again.every((t) => t?.result === undefined)).toBe(true)
      expect(
        again
          .filter((t) => t?.state === 'cancelled')
          .map((t) => t?.id)
          .sort(),
      ).toEqual([...cancelled].sort())
    })
  })

  describe(`${label}: retry`, () => {
    it('runs a failed task again under the same id', async () => {
      const tasks = make()
      let runs = 0
      tasks.define('again', async () => {
        runs++
        if (runs === 1) throw new Error('first run fails')
        return runs
      })
      const { id } = await tasks.submit('again')
      expect((await settled(tasks, id)).state).toBe('failed')
      expect(await tasks.retry(id)).toEqual({ id })
      const task = await until(
        () => tasks.get(id),
        (t) => t?.state === 'completed',
      )
      expect(task).toMatchObject({ id, result: 2 })
      expect(task?.error).toBeUndefined()
    })

    it('runs a cancelled task again when it is retried', async () => {
      const tasks = make()
      tasks.define('resumable', async () => 'resumed')
      const { id } = await tasks.submit('resumable', null, { delay: 5000 })
      await tasks.cancel(id)
      await tasks.retry(id)
      expect(
        await until(
          () => tasks.get(id),
          (t) => t?.state === 'completed',
        ),
      ).toMatchObject({ result: 'resumed' })
    })

    it('rejects a retry of a running task with ERR_HOTPATH_TASK_NOT_FINISHED', async () => {
      const tasks = make()
      tasks.define('busy', untilAborted(0))
      const { id } = await tasks.submit('busy')
      await inState(tasks, id, 'running')
      await expect(tasks.retry(id)).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASK_NOT_FINISHED' })
      await tasks.cancel(id)
    })
  })

  describe(`${label}: list and stats`, () => {
    it('lists by state and by name, newest first, in pages', async () => {
      const tasks = make()
      tasks.define('a', async () => 1)
      tasks.define('b', async () => {
        throw new Error('b fails')
      })
      const as: string[] = []
      for (let i = 0; i < 5; i++) as.push((await tasks.submit('a', i)).id)
      const bs: string[] = []
      for (let i = 0; i < 2; i++) bs.push((await tasks.submit('b', i)).id)
      for (const id of [...as, ...bs]) await settled(tasks, id)

      const failed = await tasks.list({ state: 'failed' })
      expect(failed.tasks.map((t) => t.id).sort()).toEqual([...bs].sort())
      const first = await tasks.list({ name: 'a', limit: 3 })
      expect(first.tasks).toHaveLength(3)
      expect(first.nextCursor).toEqual(expect.any(String))
      const second = await tasks.list({ name: 'a', limit: 3, cursor: first.nextCursor })
      const all = [...first.tasks, ...second.tasks].map((t) => t.id)
      expect(all.sort()).toEqual([...as].sort())
      expect(new Set(all).size).toBe(5)
      expect(second.nextCursor).toBeUndefined()
      expect(first.tasks[0]?.createdAt).toBeGreaterThanOrEqual(first.tasks[2]?.createdAt as number)
    })

    it('rejects a list with an unknown state with ERR_HOTPATH_TASK_QUERY', async () => {
      const tasks = make()
      await expect(tasks.list({ state: 'done' as TaskState })).rejects.toMatchObject({
        code: 'ERR_HOTPATH_TASK_QUERY',
      })
    })

    it('counts tasks by state and keeps queue-wait and run-time percentiles per name', async () => {
      const tasks = make()
      tasks.define('timed', async () => {
        await sleep(30)
      })
      const ids = await Promise.all(Array.from({ length: 4 }, () => tasks.submit('timed')))
      for (const { id } of ids) await settled(tasks, id)
      const stats = await until(
        async () => tasks.stats(),
        (s) => s.counts.completed === 4,
      )
      expect(stats.counts).toMatchObject({ completed: 4, running: 0, pending: 0 })
      const timed = stats.names.find((n) => n.name === 'timed')
      expect(timed?.runMs.count).toBe(4)
      expect(timed?.runMs.p50).toBeGreaterThanOrEqual(25)
      expect(timed?.queueMs.p95).toBeGreaterThanOrEqual(0)
    })

    it('keeps at most retention.count finished tasks per state', async () => {
      const tasks = make({ retention: { count: 3 } })
      tasks.define('kept', async (i: number) => i)
      const ids: string[] = []
      for (let i = 0; i < 6; i++) {
        const { id } = await tasks.submit('kept', i)
        await settled(tasks, id)
        ids.push(id)
      }
      const page = await until(
        () => tasks.list({ state: 'completed' }),
        (p) => p.tasks.length === 3,
      )
      expect(page.tasks.map((t) => t.id).sort()).toEqual(ids.slice(3).sort())
      expect(await tasks.get(ids[0] as string)).toBeUndefined()
    })
  })

  describe(`${label}: close`, () => {
    it('waits for a running task to finish', async () => {
      const tasks = make()
      tasks.define('finishing', async () => {
        await sleep(100)
        return 'finished'
      })
      const { id } = await tasks.submit('finishing')
      await inState(tasks, id, 'running')
      let result: TaskInfo | undefined
      tasks.on('completed', (e) => {
        if (e.id === id) result = e as TaskInfo
      })
      await tasks.close({ timeout: '5s' })
      expect(result?.state ?? 'completed').toBe('completed')
    })

    it('aborts what still runs at its deadline', async () => {
      const tasks = make()
      let aborted = false
      tasks.define('stubborn', async (_d, { signal }) => {
        while (!signal.aborted) await sleep(5)
        aborted = true
      })
      const { id } = await tasks.submit('stubborn')
      await inState(tasks, id, 'running')
      const started = Date.now()
      await tasks.close({ timeout: 100 })
      expect(Date.now() - started).toBeLessThan(3000)
      await until(
        async () => aborted,
        (a) => a,
      )
    })

    it('rejects a submit after close with ERR_HOTPATH_TASKS_CLOSED', async () => {
      const tasks = make()
      tasks.define('late', async () => 1)
      await tasks.close()
      await expect(tasks.submit('late')).rejects.toMatchObject({ code: 'ERR_HOTPATH_TASKS_CLOSED' })
    })
  })
}
