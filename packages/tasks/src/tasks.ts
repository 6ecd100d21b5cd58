import { createLogger, didYouMean, HotpathError, parseDuration } from '@hotpath/core'
import { MemoryEngine } from './memory-engine'
import { type Config, checkName, PKG, resolveDefinition, resolveOptions, resolveSubmit } from './options'
import { createTimings } from './stats'
import type {
  CloseOptions,
  Definition,
  EngineHost,
  Listener,
  ListQuery,
  SubmitOptions,
  TaskEventName,
  TaskHandler,
  TaskState,
  Tasks,
  TasksOptions,
  TasksStats,
} from './types'
import { TASK_STATES } from './types'

const EVENTS: readonly TaskEventName[] = ['progress', 'completed', 'failed', 'cancelled', 'timed_out']

function notFound(id: string): HotpathError {
  return new HotpathError(
    'ERR_HOTPATH_TASK_NOT_FOUND',
    `${PKG}: no task "${id}" (never submitted, or past retention).`,
  )
}

function isEngineError(err: unknown): boolean {
  return (
    err instanceof HotpathError &&
    (err.code === 'ERR_HOTPATH_TASKS_ENGINE' || err.code === 'ERR_HOTPATH_DEADLINE')
  )
}

/**
 * Background tasks with progress, timeouts that abort, cancel and a bounded history.
 * `const tasks = createTasks()` runs them in this process; `createTasks({ engine: new BullMQEngine(...) })`
 * shares them between processes through BullMQ.
 */
export function createTasks(options: TasksOptions = {}): Tasks {
  const config: Config = resolveOptions(options)
  const log = createLogger(options.logger)
  const definitions = new Map<string, Definition>()
  const listeners = new Map<TaskEventName, Set<Listener>>()
  const timings = createTimings()
  let listenerCount = 0
  let engineErrors = 0
  let closed = false
  let local: MemoryEngine | undefined

  const host: EngineHost = {
    concurrency: config.concurrency,
    retention: config.retention,
    now: config.now,
    log,
    definition: (name) => definitions.get(name),
    emit(name, event) {
      const set = listeners.get(name)
      if (set === undefined) return
      for (const listener of set) {
        try {
          listener(event)
        } catch (err) {
          log.errorOnce(
            'ERR_HOTPATH_TASKS_LISTENER',
            `${PKG}: an on('${name}') listener threw; it is ignored.`,
            err,
          )
        }
      }
    },
    record: timings.record,
    listening: () => listenerCount > 0,
  }
  const { engine } = config
  engine.attach(host)

  /** The stand-in for `onEngineError: 'local'`, created on the first engine failure. */
  const fallback = (): MemoryEngine => {
    if (local === undefined) {
      local = new MemoryEngine()
      local.attach(host)
    }
    return local
  }
  const ownerOf = (id: string) => (local?.has(id) ? local : engine)
  const guardEngine = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work()
    } catch (err) {
      if (isEngineError(err)) engineErrors++
      throw err
    }
  }

  const tasks: Tasks = {
    name: 'tasks',
    define(name, handler, defineOptions) {
      checkName(name)
      if (definitions.has(name)) {
        throw new HotpathError(
          'ERR_HOTPATH_TASK_DEFINED',
          `${PKG}: task "${name}" is already defined; define each name once.`,
        )
      }
      const definition = resolveDefinition(name, handler as TaskHandler, defineOptions, config)
      definitions.set(name, definition)
      engine.defined(definition)
      local?.defined(definition)
    },
    async submit(name, data, submitOptions?: SubmitOptions) {
      if (closed) throw new HotpathError('ERR_HOTPATH_TASKS_CLOSED', `${PKG}: submit() after close().`)
      const definition = definitions.get(name)
      if (definition === undefined) {
        throw new HotpathError(
          'ERR_HOTPATH_TASK_UNKNOWN',
          `${PKG}: no task named ${JSON.stringify(name)}; define it first with tasks.define(name, handler).${didYouMean(String(name), [...definitions.keys()])}`,
        )
      }
      const request = resolveSubmit(definition, data, submitOptions)
      try {
        return await engine.submit(request)
      } catch (err) {
        if (!isEngineError(err)) throw err
        engineErrors++
        if (config.onEngineError !== 'local') throw err
        log.warnOnce(
          'ERR_HOTPATH_TASKS_LOCAL',
          `${PKG}: the ${engine.kind} engine failed; running tasks in this process (onEngineError: 'local').`,
          err,
        )
        const result = await fallback().submit(request)
        fallback().markLocal(result.id)
        return result
      }
    },
    async get(id) {
      if (typeof id !== 'string') return undefined
      return guardEngine(() => ownerOf(id).get(id))
    },
    async list(query: ListQuery = {}) {
      const limit = query.limit ?? 50
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        throw new HotpathError(
          'ERR_HOTPATH_TASK_QUERY',
          `${PKG}: list({ limit }) takes an integer from 1 to 500.`,
        )
      }
      if (query.state !== undefined && !TASK_STATES.includes(query.state as TaskState)) {
        throw new HotpathError(
          'ERR_HOTPATH_TASK_QUERY',
          `${PKG}: list({ state }) takes one of ${TASK_STATES.join(', ')}.${didYouMean(String(query.state), TASK_STATES)}`,
        )
      }
      return guardEngine(() => engine.list({ ...query, limit }))
    },
    async cancel(id) {
      const result = await guardEngine(() => ownerOf(id).cancel(id))
      if (result === undefined) throw notFound(id)
      return result
    },
    async retry(id) {
      const result = await guardEngine(() => ownerOf(id).retry(id))
      if (result === undefined) throw notFound(id)
      return result
    },
    on(event, listener) {
      if (!EVENTS.includes(event)) {
        throw new HotpathError(
          'ERR_HOTPATH_TASK_EVENT',
          `${PKG}: no event ${JSON.stringify(event)}; use ${EVENTS.join(', ')}.${didYouMean(String(event), EVENTS)}`,
        )
      }
      if (typeof listener !== 'function') optionErrorListener()
      let set = listeners.get(event)
      if (set === undefined) {
        set = new Set()
        listeners.set(event, set)
      }
      // Each call adds one subscription, even for the same function, so each removal is its own.
      const wrapped: Listener = (e) => listener(e)
      set.add(wrapped)
      listenerCount++
      engine.watch?.()
      return () => {
        if (set.delete(wrapped)) listenerCount--
      }
    },
    stats(): TasksStats {
      const counts = engine.counts()
      if (local !== undefined) {
        const extra = local.counts()
        for (const state of TASK_STATES) counts[state] += extra[state]
      }
      return {
        engine: engine.kind,
        counts,
        localRunning: engine.running() + (local?.running() ?? 0),
        concurrency: config.concurrency,
        names: timings.read(),
        engineErrors,
        countsAt: engine.countsAt?.() ?? config.now(),
      }
    },
    async close(closeOptions: CloseOptions = {}) {
      if (closed) return
      closed = true
      const { drainMs, drain } = resolveClose(closeOptions)
      await Promise.all([engine.close(drain, drainMs), local?.close(drain, drainMs)])
    },
  }
  return tasks
}

function optionErrorListener(): never {
  throw new HotpathError('ERR_HOTPATH_TASK_EVENT', `${PKG}: on(event, listener) needs a function.`)
}

function resolveClose(options: CloseOptions): { drain: boolean; drainMs: number } {
  const drain = options.drain ?? true
  try {
    return { drain, drainMs: parseDuration(options.timeout ?? '30s', 'close timeout') }
  } catch {
    throw new HotpathError(
      'ERR_HOTPATH_TASK_OPTION',
      `${PKG}: close({ timeout }) takes ms or a duration such as '30s'.`,
    )
  }
}
