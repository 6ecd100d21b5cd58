import type { Logger } from '@hotpath/core'

/** pending → running → completed | failed | cancelled | timed_out. */
export type TaskState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'timed_out'

export const TASK_STATES: readonly TaskState[] = [
  'pending',
  'running',
  'completed',
  'failed',
  'cancelled',
  'timed_out',
]

/** The states a task ends in; retention keeps each of them separately. */
export const FINISHED_STATES: readonly TaskState[] = ['completed', 'failed', 'cancelled', 'timed_out']

export interface TaskError {
  message: string
  /** `ERR_HOTPATH_TASK_TIMEOUT`, `ERR_HOTPATH_TASK_CANCELLED`, or the handler error's own `code`. */
  code: string
}

/** A task as `get()`, `list()` and the dashboard show it: plain JSON. */
export interface TaskInfo {
  id: string
  name: string
  state: TaskState
  /** 0..100. */
  progress: number
  message: string
  /** Attempts started so far. */
  attempts: number
  result?: unknown
  error?: TaskError
  /** Epoch ms. */
  createdAt: number
  startedAt: number | null
  finishedAt: number | null
  /** Run time of the last attempt (finishedAt − startedAt), or null while it runs. */
  durationMs: number | null
  /** Time spent waiting for a slot (startedAt − the time it became due), or null before it starts. */
  queueMs: number | null
  /** Set when `onEngineError: 'local'` ran the task in this process because the engine failed. */
  local?: boolean
}

export interface TaskContext {
  readonly id: string
  /** Aborted on timeout, cancel (from any instance) and on `close()` past its deadline. */
  readonly signal: AbortSignal
  /** 0..100; values outside are clamped, a non-number is ignored. */
  progress(pct: number, message?: string): void
  log(message: string): void
}

export type TaskHandler<D = unknown, R = unknown> = (data: D, context: TaskContext) => R | Promise<R>

export type Backoff =
  | number
  | string
  | { readonly type: 'fixed' | 'exponential'; readonly delay: number | string }

export interface DefineOptions {
  /** At most this many of this task at once in one process. Default: the global concurrency. */
  readonly concurrency?: number
  /** Per-attempt timeout. Default: the `createTasks` timeout. */
  readonly timeout?: number | string
  /** Extra attempts after a failure (not after a timeout or cancel). Default 0. */
  readonly retries?: number
  /** Delay before a retry: ms, `'5s'`, or `{ type: 'exponential', delay: '1s' }`. Default `'1s'` fixed. */
  readonly backoff?: Backoff
}

export interface SubmitOptions {
  /** Your own id; submitting the same id again returns the existing task (idempotent). */
  readonly id?: string
  /** Run no earlier than this (ms or `'10s'`). Default 0. */
  readonly delay?: number | string
  /** Overrides the task's timeout for this submission. */
  readonly timeout?: number | string
  /** Lower runs first, 0 (default) is the highest. */
  readonly priority?: number
}

export interface ListQuery {
  readonly state?: TaskState
  readonly name?: string
  /** 1..500. Default 50. */
  readonly limit?: number
  /** `nextCursor` of the previous page. */
  readonly cursor?: string
}

export interface TaskPage {
  tasks: TaskInfo[]
  /** Present when there may be more. */
  nextCursor?: string
}

export type TaskEventName = 'progress' | 'completed' | 'failed' | 'cancelled' | 'timed_out'

/** What `on()` listeners receive; a terminal event carries the final task. */
export type TaskEvent = Pick<TaskInfo, 'id' | 'name' | 'state' | 'progress' | 'message'> & Partial<TaskInfo>

export interface Percentiles {
  count: number
  p50: number
  p95: number
  p99: number
  max: number
}

export interface TaskNameStats {
  name: string
  queueMs: Percentiles
  runMs: Percentiles
  completed: number
  failed: number
}

export interface TasksStats {
  engine: 'memory' | 'bullmq'
  counts: Record<TaskState, number>
  /** Running in this process. */
  localRunning: number
  concurrency: number
  names: TaskNameStats[]
  engineErrors: number
  /** When `counts` was read (the BullMQ engine refreshes it in the background). */
  countsAt: number
}

export interface RetentionOptions {
  /** Finished tasks older than this are dropped. Default `'7d'`. */
  readonly age?: number | string
  /** At most this many finished tasks per state. Default 10 000. */
  readonly count?: number
}

export interface CloseOptions {
  /** `true` (default): also run what is queued; `false`: only let running tasks finish. */
  readonly drain?: boolean
  /** After this, running tasks are aborted (state `cancelled`, code `ERR_HOTPATH_TASKS_CLOSED`). Default `'30s'`. */
  readonly timeout?: number | string
}

export interface TasksOptions {
  /** Default `new MemoryEngine()`. */
  readonly engine?: Engine
  /** Tasks running at once in this process. Default 10. */
  readonly concurrency?: number
  /** Per-attempt timeout. Default `'300s'`. */
  readonly timeout?: number | string
  /** Per finished state. Default `{ age: '7d', count: 10_000 }`. */
  readonly retention?: RetentionOptions
  /** When the engine (Redis) fails: reject `submit()` (default) or run the task in this process. */
  readonly onEngineError?: 'reject' | 'local'
  /** Default `console`. */
  readonly logger?: Logger
  /** Clock in ms. Default `Date.now`. */
  readonly now?: () => number
}

export type Listener = (event: TaskEvent) => void

export interface Tasks {
  readonly name: 'tasks'
  define<D = unknown, R = unknown>(name: string, handler: TaskHandler<D, R>, options?: DefineOptions): void
  submit(name: string, data?: unknown, options?: SubmitOptions): Promise<{ id: string }>
  get(id: string): Promise<TaskInfo | undefined>
  list(query?: ListQuery): Promise<TaskPage>
  /** `true` when the task was pending or running and is now cancelled; `false` when it had already finished. */
  cancel(id: string): Promise<boolean>
  /** Runs a finished task again under the same id. */
  retry(id: string): Promise<{ id: string }>
  /** Returns a function that removes the listener. */
  on(event: TaskEventName, listener: Listener): () => void
  stats(): TasksStats
  close(options?: CloseOptions): Promise<void>
}

/** A defined task as the engines see it. */
export interface Definition {
  readonly name: string
  readonly handler: TaskHandler
  readonly concurrency: number
  readonly timeoutMs: number
  readonly retries: number
  /** The backoff as BullMQ takes it. */
  readonly backoffSpec: { readonly type: 'fixed' | 'exponential'; readonly delay: number }
  backoff(attempt: number): number
}

export interface SubmitRequest {
  readonly name: string
  readonly data: unknown
  readonly id: string | undefined
  readonly delayMs: number
  readonly timeoutMs: number
  readonly priority: number
}

/** What `createTasks` hands its engine once. */
export interface EngineHost {
  readonly concurrency: number
  readonly retention: { readonly ageMs: number; readonly count: number }
  readonly now: () => number
  readonly log: import('@hotpath/core').OnceLogger
  definition(name: string): Definition | undefined
  emit(name: TaskEventName, event: TaskEvent): void
  /** Called when an attempt ends, for the per-name percentiles. */
  record(name: string, queueMs: number, runMs: number, ok: boolean): void
  /** Whether anyone listens (engines with remote events subscribe lazily). */
  listening(): boolean
}

/** The storage and execution contract; `MemoryEngine` and `BullMQEngine` implement it. */
export interface Engine {
  readonly kind: 'memory' | 'bullmq'
  attach(host: EngineHost): void
  /** A task was defined after attach (the BullMQ engine starts its worker). */
  defined(definition: Definition): void
  submit(request: SubmitRequest): Promise<{ id: string }>
  get(id: string): Promise<TaskInfo | undefined>
  list(query: Required<Pick<ListQuery, 'limit'>> & ListQuery): Promise<TaskPage>
  cancel(id: string): Promise<boolean | undefined>
  retry(id: string): Promise<{ id: string } | undefined>
  counts(): Record<TaskState, number>
  /** Tasks running in this process. */
  running(): number
  /** Events for other instances' tasks, when the engine has them. */
  watch?(): void
  /** When `counts()` was read, for an engine that reads them in the background. */
  countsAt?(): number
  close(drain: boolean, deadlineMs: number): Promise<void>
}
