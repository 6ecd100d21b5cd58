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

/**
 * The seq an id of the form the memory engine makes (`base` + seq in base 36) names, read without
 * allocating; the history checks it against the record's own id, so a caller's id that merely
 * looks like one is found by its map instead.
 */
export function seqOfId(base: string, id: string): number | undefined {
  const n = id.length
  if (n <= base.length || n > base.length + 10 || !id.startsWith(base)) return undefined
  let seq = 0
  for (let i = base.length; i < n; i++) {
    const c = id.charCodeAt(i)
    const digit = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1
    if (digit < 0) return undefined
    seq = seq * 36 + digit
  }
  return seq
}
