import { HotpathError, isPromiseLike } from '@hotpath/core'
import type { Definition, TaskContext, TaskError } from './types'

/** Why an attempt was stopped from outside. */
export type AbortReason = 'cancelled' | 'timed_out' | 'closed'

export type Outcome =
  | { readonly kind: 'completed'; readonly result: unknown }
  | { readonly kind: 'failed'; readonly error: TaskError }
  | { readonly kind: AbortReason; readonly error: TaskError }

export interface AttemptSink {
  progress(pct: number, message: string | undefined): void
  log(message: string): void
  /** Called exactly once; a result that arrives after an abort is dropped, never reported. */
  finish(outcome: Outcome): void
}

export interface Attempt {
  readonly id: string
  readonly deadline: number
  done: boolean
  abort(reason: AbortReason): void
}

const ABORT_ERRORS: Record<AbortReason, TaskError> = {
  cancelled: { code: 'ERR_HOTPATH_TASK_CANCELLED', message: 'The task was cancelled.' },
  timed_out: { code: 'ERR_HOTPATH_TASK_TIMEOUT', message: 'The task ran past its timeout and was aborted.' },
  closed: {
    code: 'ERR_HOTPATH_TASKS_CLOSED',
    message: 'The task was aborted because close() reached its deadline.',
  },
}

export function abortError(reason: AbortReason): TaskError {
  return ABORT_ERRORS[reason]
}

/** A plain `{ message, code }` from anything a handler may throw. */
export function toTaskError(err: unknown): TaskError {
  if (err !== null && typeof err === 'object') {
    const { message, code } = err as { message?: unknown; code?: unknown }
    return {
      message: typeof message === 'string' ? message : String(err),
      code: typeof code === 'string' && code !== '' ? code : 'ERR_HOTPATH_TASK_FAILED',
    }
  }
  return { message: String(err), code: 'ERR_HOTPATH_TASK_FAILED' }
}

/** 0..100, or undefined for something that is not a finite number. */
export function clampProgress(pct: unknown): number | undefined {
  if (typeof pct !== 'number' || !Number.isFinite(pct)) return undefined
  return pct < 0 ? 0 : pct > 100 ? 100 : pct
}

/**
 * One timer for every running attempt's deadline, armed at the earliest one (timeouts are
 * long and mostly in submission order, so it is rarely re-armed): no timer per task. When the
 * last attempt ends the timer stays armed but unref'd (it then fires into an empty set): clearing
 * and re-arming it for every task of a serial stream costs a timer list insert and unlink each.
 */
export function createDeadlines(now: () => number) {
  const running = new Set<Attempt>()
  let timer: NodeJS.Timeout | undefined
  let armedAt = Number.POSITIVE_INFINITY

  const arm = (at: number) => {
    if (timer !== undefined) clearTimeout(timer)
    armedAt = at
    timer = setTimeout(fire, Math.max(0, at - now()))
  }
  const fire = () => {
    timer = undefined
    armedAt = Number.POSITIVE_INFINITY
    const t = now()
    let next = Number.POSITIVE_INFINITY
    for (const attempt of running) {
      if (attempt.deadline <= t) attempt.abort('timed_out')
      else if (attempt.deadline < next) next = attempt.deadline
    }
    if (next !== Number.POSITIVE_INFINITY) arm(next)
  }
  return {
    add(attempt: Attempt) {
      running.add(attempt)
      if (attempt.deadline < armedAt) arm(attempt.deadline)
      else if (running.size === 1) timer?.ref()
    },
    delete(attempt: Attempt) {
      running.delete(attempt)
      // Nothing left to time out: the armed timer must not keep the process alive.
      if (running.size === 0) timer?.unref()
    },
    all(): Attempt[] {
      return [...running]
    },
    get size() {
      return running.size
    },
  }
}

export type Deadlines = ReturnType<typeof createDeadlines>

/**
 * Runs one attempt of a handler. Timeout, cancel and close abort the handler's signal and
 * settle the attempt at once; whatever the handler returns afterwards is discarded.
 */
export function runAttempt(
  definition: Definition,
  id: string,
  data: unknown,
  timeoutMs: number,
  deadlines: Deadlines,
  now: () => number,
  sink: AttemptSink,
): Attempt {
  let controller: AbortController | undefined
  let reason: AbortReason | undefined
  const attempt: Attempt = {
    id,
    deadline: now() + timeoutMs,
    done: false,
    abort(why) {
      if (attempt.done) return
      reason = why
      settle({ kind: why, error: ABORT_ERRORS[why] })
      controller?.abort(new HotpathError(ABORT_ERRORS[why].code, ABORT_ERRORS[why].message))
    },
  }
  const settle = (outcome: Outcome) => {
    if (attempt.done) return
    attempt.done = true
    deadlines.delete(attempt)
    try {
      sink.finish(outcome)
    } catch {
      // The engine's own bookkeeping never throws; a listener's error must not leak into the handler.
    }
  }
  const context: TaskContext = {
    id,
    // Created on first read: a handler that never looks at its signal costs no AbortController.
    get signal() {
      if (controller === undefined) {
        controller = new AbortController()
        if (reason !== undefined) {
          controller.abort(new HotpathError(ABORT_ERRORS[reason].code, ABORT_ERRORS[reason].message))
        }
      }
      return controller.signal
    },
    progress(pct, message) {
      if (attempt.done) return
      const value = clampProgress(pct)
      if (value === undefined) return
      sink.progress(value, typeof message === 'string' ? message : undefined)
    },
    log(message) {
      if (!attempt.done) sink.log(String(message))
    },
  }
  deadlines.add(attempt)
  let value: unknown
  try {
    value = definition.handler(data, context)
  } catch (err) {
    settle({ kind: 'failed', error: toTaskError(err) })
    return attempt
  }
  if (isPromiseLike(value)) {
    try {
      ;(value as PromiseLike<unknown>).then(
        (result) => settle({ kind: 'completed', result }),
        (err: unknown) => settle({ kind: 'failed', error: toTaskError(err) }),
      )
    } catch (err) {
      // A thenable whose then() throws: a failure of the task, not of the engine.
      settle({ kind: 'failed', error: toTaskError(err) })
    }
  } else settle({ kind: 'completed', result: value })
  return attempt
}
