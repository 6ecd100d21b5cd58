import { HotpathError, optionError, parseDuration, rejectUnknownOptions } from '@hotpath/core'
import type { ConnectionOptions } from 'bullmq'
import type Redis from 'ioredis'
import { PKG } from './options'

export interface BullMQEngineOptions {
  /** ioredis options (`{ host, port }`) or an ioredis instance; the same Redis carries the control channel. */
  readonly connection: ConnectionOptions
  /** BullMQ key prefix. Default `'hotpath'`. */
  readonly prefix?: string
  /** Default `'tasks'`. */
  readonly queueName?: string
  /** Run tasks in this process (`false`: submit, read and cancel only). Default `true`. */
  readonly worker?: boolean
  /** Deadline of every engine call (submit, get, list, cancel, retry). Default `'2s'`. */
  readonly commandTimeout?: number | string
}

const KNOWN = ['connection', 'prefix', 'queueName', 'worker', 'commandTimeout'] as const

export type ResolvedEngineOptions = Required<Omit<BullMQEngineOptions, 'commandTimeout'>> & {
  commandTimeoutMs: number
}

export type BullMQ = typeof import('bullmq')
export type MarkingClient = Redis & {
  hotpathTaskMark(key: string, state: string, at: number): Promise<number>
  hotpathTaskUnmark(key: string): Promise<number>
}

export function resolveEngineOptions(options: BullMQEngineOptions): ResolvedEngineOptions {
  rejectUnknownOptions(`${PKG} BullMQEngine`, options, KNOWN)
  if (
    options?.connection === undefined ||
    options.connection === null ||
    typeof options.connection !== 'object'
  ) {
    optionError(
      PKG,
      'BullMQEngine needs { connection }: ioredis options such as { host, port } or an ioredis instance.',
    )
  }
  const prefix = options.prefix ?? 'hotpath'
  const queueName = options.queueName ?? 'tasks'
  if (typeof prefix !== 'string' || prefix === '')
    optionError(PKG, 'BullMQEngine prefix must be a non-empty string.')
  if (typeof queueName !== 'string' || queueName === '' || queueName.includes(':')) {
    optionError(PKG, 'BullMQEngine queueName must be a non-empty string without ":".')
  }
  let commandTimeoutMs: number
  try {
    commandTimeoutMs = parseDuration(options.commandTimeout ?? '2s', 'commandTimeout')
  } catch {
    commandTimeoutMs = optionError(PKG, "BullMQEngine commandTimeout must be ms or a duration such as '2s'.")
  }
  return {
    connection: options.connection,
    prefix,
    queueName,
    worker: options.worker ?? true,
    commandTimeoutMs,
  }
}

export function engineError(what: string, err: unknown): HotpathError {
  if (err instanceof HotpathError && err.code !== 'ERR_HOTPATH_DEADLINE') return err
  const reason = err instanceof Error ? err.message : String(err)
  const error = new HotpathError('ERR_HOTPATH_TASKS_ENGINE', `${PKG}: BullMQ ${what} failed (${reason}).`)
  ;(error as { cause?: unknown }).cause = err
  return error
}

/** Resolves `'late'` when `work` has not settled within `ms`. */
export function within(work: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([work, new Promise((resolve) => setTimeout(() => resolve('late'), ms).unref())])
}
