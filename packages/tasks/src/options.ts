import { HotpathError, optionError, parseDuration, rejectUnknownOptions } from '@hotpath/core'
import { MemoryEngine } from './memory-engine'
import type {
  Backoff,
  DefineOptions,
  Definition,
  Engine,
  SubmitOptions,
  SubmitRequest,
  TaskHandler,
  TasksOptions,
} from './types'

export const PKG = '@hotpath/tasks'

const DEFAULTS = {
  concurrency: 10,
  timeout: '300s',
  retention: { age: '7d', count: 10_000 },
  onEngineError: 'reject',
} as const

const KNOWN = ['engine', 'concurrency', 'timeout', 'retention', 'onEngineError', 'logger', 'now'] as const
const DEFINE_KNOWN = ['concurrency', 'timeout', 'retries', 'backoff'] as const
const SUBMIT_KNOWN = ['id', 'delay', 'timeout', 'priority'] as const
const MAX_NAME = 200
const MAX_ID = 256

export interface Config {
  readonly engine: Engine
  readonly concurrency: number
  readonly timeoutMs: number
  readonly retention: { readonly ageMs: number; readonly count: number }
  readonly onEngineError: 'reject' | 'local'
  readonly now: () => number
}

function positiveInt(value: unknown, what: string, code = 'ERR_HOTPATH_OPTION'): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    optionError(PKG, `${what} must be a positive integer, got ${String(value)}.`, code)
  }
  return value
}

function duration(value: number | string, what: string, code = 'ERR_HOTPATH_OPTION'): number {
  try {
    return parseDuration(value, what)
  } catch {
    return optionError(
      PKG,
      `${what} must be ms or a duration such as '30s', got ${JSON.stringify(value)}.`,
      code,
    )
  }
}

export function resolveOptions(options: TasksOptions = {}): Config {
  rejectUnknownOptions(PKG, options, KNOWN)
  const o = { ...DEFAULTS, ...options }
  const retention = { ...DEFAULTS.retention, ...(options.retention ?? {}) }
  rejectUnknownOptions(`${PKG} retention`, options.retention, ['age', 'count'])
  const engine = o.engine ?? new MemoryEngine()
  if (typeof engine?.attach !== 'function' || typeof engine.submit !== 'function') {
    optionError(PKG, 'engine must be new MemoryEngine() or new BullMQEngine({ connection }).')
  }
  if (o.onEngineError !== 'reject' && o.onEngineError !== 'local') {
    optionError(PKG, `onEngineError must be 'reject' or 'local', got ${JSON.stringify(o.onEngineError)}.`)
  }
  if (o.now !== undefined && typeof o.now !== 'function')
    optionError(PKG, 'now must be a function returning ms.')
  const timeoutMs = duration(o.timeout, 'timeout')
  if (timeoutMs <= 0) optionError(PKG, 'timeout must be above 0.')
  return {
    engine,
    concurrency: positiveInt(o.concurrency, 'concurrency'),
    timeoutMs,
    retention: {
      ageMs: duration(retention.age, 'retention.age'),
      count: positiveInt(retention.count, 'retention.count'),
    },
    onEngineError: o.onEngineError,
    now: o.now ?? Date.now,
  }
}

function backoffOf(backoff: Backoff | undefined): Definition['backoffSpec'] {
  if (backoff === undefined) return { type: 'fixed', delay: 1000 }
  if (typeof backoff === 'number' || typeof backoff === 'string') {
    return { type: 'fixed', delay: duration(backoff, 'backoff') }
  }
  if (backoff === null || typeof backoff !== 'object') {
    return optionError(PKG, "backoff must be ms, '5s', or { type: 'fixed' | 'exponential', delay }.")
  }
  rejectUnknownOptions(`${PKG} backoff`, backoff, ['type', 'delay'])
  const delay = duration(backoff.delay, 'backoff.delay')
  if (backoff.type === 'fixed' || backoff.type === 'exponential') return { type: backoff.type, delay }
  return optionError(
    PKG,
    `backoff.type must be 'fixed' or 'exponential', got ${JSON.stringify(backoff.type)}.`,
  )
}

export function checkName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) {
    throw new HotpathError(
      'ERR_HOTPATH_TASK_NAME',
      `${PKG}: a task name is a non-empty string of at most ${MAX_NAME} characters, got ${JSON.stringify(name)}.`,
    )
  }
  return name
}

export function resolveDefinition(
  name: string,
  handler: TaskHandler,
  options: DefineOptions | undefined,
  config: Config,
): Definition {
  checkName(name)
  if (typeof handler !== 'function')
    optionError(PKG, `define("${name}", handler): handler must be a function.`)
  rejectUnknownOptions(`${PKG} define("${name}")`, options, DEFINE_KNOWN)
  const o = options ?? {}
  const retries = o.retries ?? 0
  if (!Number.isInteger(retries) || retries < 0)
    optionError(PKG, `retries must be an integer ≥ 0, got ${String(retries)}.`)
  const timeoutMs = o.timeout === undefined ? config.timeoutMs : duration(o.timeout, 'timeout')
  if (timeoutMs <= 0) optionError(PKG, 'timeout must be above 0.')
  const backoffSpec = backoffOf(o.backoff)
  return Object.freeze({
    name,
    handler,
    concurrency: o.concurrency === undefined ? config.concurrency : positiveInt(o.concurrency, 'concurrency'),
    timeoutMs,
    retries,
    backoffSpec,
    // The same formula as BullMQ's, so both engines wait alike: delay, or delay · 2^(attempt − 1).
    backoff: (attempt: number) =>
      backoffSpec.type === 'fixed' ? backoffSpec.delay : backoffSpec.delay * 2 ** Math.max(0, attempt - 1),
  })
}

/** A caller's id is a string BullMQ can take as a job id: not an integer, no `:`. */
export function checkId(id: unknown): string {
  if (
    typeof id !== 'string' ||
    id.length === 0 ||
    id.length > MAX_ID ||
    id.includes(':') ||
    /^\d+$/.test(id)
  ) {
    throw new HotpathError(
      'ERR_HOTPATH_TASK_ID',
      `${PKG}: a task id is a string of 1–${MAX_ID} characters, without ":" and not only digits, got ${JSON.stringify(id)}.`,
    )
  }
  return id
}

export function resolveSubmit(
  definition: Definition,
  data: unknown,
  options: SubmitOptions | undefined,
): SubmitRequest {
  const code = 'ERR_HOTPATH_TASK_OPTION'
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    optionError(PKG, 'submit options must be an object such as { id, delay, timeout, priority }.', code)
  }
  for (const key of Object.keys(options ?? {})) {
    if (!(SUBMIT_KNOWN as readonly string[]).includes(key)) {
      optionError(PKG, `unknown submit option "${key}"; use ${SUBMIT_KNOWN.join(', ')}.`, code)
    }
  }
  const o = options ?? {}
  const priority = o.priority ?? 0
  if (!Number.isInteger(priority) || priority < 0 || priority > 2_097_152) {
    optionError(PKG, `priority must be an integer from 0 (first) to 2097152, got ${String(priority)}.`, code)
  }
  const timeoutMs = o.timeout === undefined ? definition.timeoutMs : duration(o.timeout, 'timeout', code)
  if (timeoutMs <= 0) optionError(PKG, 'timeout must be above 0.', code)
  return {
    name: definition.name,
    data,
    id: o.id === undefined ? undefined : checkId(o.id),
    delayMs: o.delay === undefined ? 0 : duration(o.delay, 'delay', code),
    timeoutMs,
    priority,
  }
}
