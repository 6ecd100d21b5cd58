import type { TaskError, TaskInfo, TaskState } from './types'

/** The mutable record an engine keeps per task; `snapshot()` is what leaves the engine. */
export interface TaskRecord {
  readonly seq: number
  readonly id: string
  readonly name: string
  data: unknown
  state: TaskState
  progress: number
  message: string
  attempts: number
  result: unknown
  error: TaskError | undefined
  readonly createdAt: number
  /** When it became (or becomes) due: creation + delay, or the time of a retry. */
  dueAt: number
  startedAt: number | null
  finishedAt: number | null
  readonly priority: number
  readonly timeoutMs: number
  local: boolean
}

export function snapshot(rec: TaskRecord): TaskInfo {
  const info: TaskInfo = {
    id: rec.id,
    name: rec.name,
    state: rec.state,
    progress: rec.progress,
    message: rec.message,
    attempts: rec.attempts,
    createdAt: rec.createdAt,
    startedAt: rec.startedAt,
    finishedAt: rec.finishedAt,
    durationMs: rec.startedAt !== null && rec.finishedAt !== null ? rec.finishedAt - rec.startedAt : null,
    queueMs: rec.startedAt !== null ? Math.max(0, rec.startedAt - rec.dueAt) : null,
  }
  if (rec.state === 'completed') info.result = rec.result
  if (rec.error !== undefined && rec.state !== 'completed') info.error = rec.error
  if (rec.local) info.local = true
  return info
}
