import type { Job } from 'bullmq'
import type { BullMQ } from './bullmq-options'
import { encodeError, envelopeOf, type StoredProgress } from './bullmq-state'
import { type AbortReason, type Attempt, abortError, type Deadlines, runAttempt } from './runner'
import type { EngineHost } from './types'

const RECENT_CANCELS = 10_000

export interface JobRunnerDeps {
  readonly host: EngineHost
  readonly bull: BullMQ
  readonly deadlines: Deadlines
  mark(id: string, state: 'cancelled' | 'timed_out'): Promise<number>
  redisError(err: unknown): void
}

/**
 * The BullMQ processor of one engine: runs an attempt with the task's timeout and signal, keeps the
 * attempts running here by id (for cancels from the control channel), and turns a timeout or cancel
 * into an `UnrecoverableError` after marking the job, so BullMQ does not retry it.
 */
export function createJobRunner({ host, bull, deadlines, mark, redisError }: JobRunnerDeps) {
  const local = new Map<string, Attempt>()
  const runningByName = new Map<string, number>()
  const recentCancels = new Map<string, number>()

  async function processJob(job: Job, token: string | undefined): Promise<unknown> {
    const id = String(job.id)
    const env = envelopeOf(job)
    const cancelledAt = recentCancels.get(id)
    if (env.c !== undefined || (cancelledAt !== undefined && Date.now() - cancelledAt < 60_000)) {
      throw new bull.UnrecoverableError(encodeError(abortError(env.c ?? 'cancelled')))
    }
    const definition = host.definition(job.name)
    if (definition === undefined) {
      throw new bull.UnrecoverableError(
        encodeError({
          code: 'ERR_HOTPATH_TASK_UNKNOWN',
          message: `No handler for "${job.name}" on the worker that took it.`,
        }),
      )
    }
    const busy = runningByName.get(job.name) ?? 0
    if (busy >= definition.concurrency && token !== undefined) {
      // This name is at its own limit here: hand the job back for a moment, as BullMQ's manual rate limiting does.
      await job.moveToDelayed(Date.now() + 25, token)
      throw new bull.DelayedError()
    }
    runningByName.set(job.name, busy + 1)
    const startedAt = job.processedOn ?? host.now()
    return new Promise((resolve, reject) => {
      const attempt = runAttempt(definition, id, env.d, env.t || definition.timeoutMs, deadlines, host.now, {
        progress: (pct, message) => {
          const stored: StoredProgress = {
            p: pct,
            n: job.name,
            ...(message !== undefined ? { m: message } : {}),
          }
          job.updateProgress(stored as never).catch((err) => redisError(err))
        },
        log: (message) => {
          job.log(message).catch((err) => redisError(err))
        },
        finish: (outcome) => {
          local.delete(id)
          runningByName.set(job.name, (runningByName.get(job.name) ?? 1) - 1)
          const now = host.now()
          host.record(
            job.name,
            Math.max(0, startedAt - job.timestamp - (job.opts?.delay ?? 0)),
            now - startedAt,
            outcome.kind === 'completed',
          )
          if (outcome.kind === 'completed') return resolve(outcome.result)
          if (outcome.kind === 'failed') return reject(new Error(encodeError(outcome.error)))
          const error = new bull.UnrecoverableError(encodeError(outcome.error))
          markAfterAbort(id, outcome.kind).finally(() => reject(error))
        },
      })
      if (!attempt.done) local.set(id, attempt)
    })
  }

  async function markAfterAbort(id: string, reason: AbortReason): Promise<void> {
    try {
      await mark(id, reason === 'timed_out' ? 'timed_out' : 'cancelled')
    } catch (err) {
      redisError(err)
    }
  }

  function remoteCancel(id: string): void {
    const attempt = local.get(id)
    if (attempt !== undefined) {
      attempt.abort('cancelled')
      return
    }
    // The job may be between BullMQ's fetch and our start: remember it for a minute.
    recentCancels.set(id, Date.now())
    if (recentCancels.size > RECENT_CANCELS) {
      const oldest = recentCancels.keys().next().value
      if (oldest !== undefined) recentCancels.delete(oldest)
    }
  }

  return { local, process: processJob, remoteCancel, forgetCancel: (id: string) => recentCancels.delete(id) }
}

export type JobRunner = ReturnType<typeof createJobRunner>
