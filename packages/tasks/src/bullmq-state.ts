import type { Job } from 'bullmq'
import { abortError } from './runner'
import type { TaskError, TaskInfo, TaskState } from './types'

/**
 * How a hotpath task is stored in a BullMQ job. `data` is the envelope `{"t":<timeout ms>,"d":<data>}`;
 * a cancel or a timeout prefixes it with `"c":<state>,"ca":<ms>,` in one Lua step (so the mark and the
 * check that the job has not finished are atomic), which every instance and every later read sees.
 */
export interface Envelope {
  /** `cancelled` or `timed_out` once marked. */
  c?: 'cancelled' | 'timed_out'
  /** When it was marked. */
  ca?: number
  t: number
  d?: unknown
}

/** Progress as stored by `job.updateProgress`: percent, message, task name (for remote listeners). */
export interface StoredProgress {
  p: number
  m?: string
  n?: string
}

export const MARK_LUA = `
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return -1 end
if redis.call('HEXISTS', key, 'finishedOn') == 1 then return 0 end
local data = redis.call('HGET', key, 'data')
if not data or string.sub(data, 1, 5) == '{"c":' then return 0 end
redis.call('HSET', key, 'data', '{"c":"' .. ARGV[1] .. '","ca":' .. ARGV[2] .. ',' .. string.sub(data, 2))
return 1
`

export const UNMARK_LUA = `
local key = KEYS[1]
local data = redis.call('HGET', key, 'data')
if not data then return -1 end
local stripped, n = string.gsub(data, '^{"c":"[%a_]+","ca":%d+,', '{', 1)
if n == 0 then return 0 end
redis.call('HSET', key, 'data', stripped)
return 1
`

/** BullMQ job types that hold each hotpath state (marked jobs can still sit in the waiting ones). */
export const TYPES_OF: Record<TaskState, readonly string[]> = {
  pending: ['waiting', 'prioritized', 'delayed', 'waiting-children', 'paused'],
  running: ['active'],
  completed: ['completed'],
  failed: ['failed'],
  cancelled: ['failed', 'active', 'waiting', 'prioritized', 'delayed'],
  timed_out: ['failed', 'active'],
}
export const ALL_TYPES = [
  'active',
  'waiting',
  'prioritized',
  'delayed',
  'paused',
  'waiting-children',
  'completed',
  'failed',
]

export function stateOfType(type: string): TaskState | undefined {
  if (type === 'active') return 'running'
  if (type === 'completed') return 'completed'
  if (type === 'failed') return 'failed'
  if (TYPES_OF.pending.includes(type) || type === 'wait') return 'pending'
  return undefined
}

const CODED = /^([A-Z][A-Z0-9_]{2,}): ([\s\S]*)$/

/** BullMQ keeps an error as one string; hotpath writes it as `CODE: message`. */
export function encodeError(error: TaskError): string {
  return `${error.code}: ${error.message}`
}

export function decodeError(reason: string | undefined): TaskError | undefined {
  if (reason === undefined || reason === null || reason === '') return undefined
  const match = CODED.exec(reason)
  if (match) return { code: match[1] as string, message: match[2] as string }
  return {
    code: /stalled/i.test(reason) ? 'ERR_HOTPATH_TASK_STALLED' : 'ERR_HOTPATH_TASK_FAILED',
    message: reason,
  }
}

export function envelopeOf(job: Job): Envelope {
  const data = job.data as Envelope | null | undefined
  return data !== null && typeof data === 'object' ? data : { t: 0 }
}

export function infoOf(job: Job, bullState: TaskState): TaskInfo {
  const env = envelopeOf(job)
  const state: TaskState = env.c ?? bullState
  const stored = job.progress as unknown
  let progress = 0
  let message = ''
  if (typeof stored === 'number') progress = stored
  else if (stored !== null && typeof stored === 'object') {
    const p = stored as StoredProgress
    if (typeof p.p === 'number') progress = p.p
    if (typeof p.m === 'string') message = p.m
  }
  const createdAt = job.timestamp
  const dueAt = createdAt + (job.opts?.delay ?? 0)
  const startedAt = job.processedOn ?? null
  const finishedAt = job.finishedOn ?? (env.c !== undefined ? (env.ca ?? null) : null)
  const info: TaskInfo = {
    id: String(job.id),
    name: job.name,
    state,
    progress: state === 'completed' ? 100 : progress,
    message,
    attempts: job.attemptsStarted ?? job.attemptsMade ?? 0,
    createdAt,
    startedAt,
    finishedAt: state === 'pending' || state === 'running' ? null : finishedAt,
    durationMs: startedAt !== null && job.finishedOn ? job.finishedOn - startedAt : null,
    queueMs: startedAt !== null ? Math.max(0, startedAt - dueAt) : null,
  }
  if (state === 'completed') info.result = job.returnvalue
  else if (env.c !== undefined) info.error = decodeError(job.failedReason) ?? abortError(env.c)
  else if (state === 'failed' || job.failedReason) {
    const error = decodeError(job.failedReason)
    if (error !== undefined) info.error = error
  }
  return info
}
