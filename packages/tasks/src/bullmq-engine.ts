import { createCircuitBreaker, HotpathError } from '@hotpath/core'
import type { ConnectionOptions, Job, Queue, QueueEvents, Worker } from 'bullmq'
import type Redis from 'ioredis'
import {
  type BullMQ,
  type BullMQEngineOptions,
  engineError,
  type MarkingClient,
  type ResolvedEngineOptions,
  resolveEngineOptions,
  within,
} from './bullmq-options'
import {
  ALL_TYPES,
  type Envelope,
  infoOf,
  MARK_LUA,
  type StoredProgress,
  stateOfType,
  TYPES_OF,
  UNMARK_LUA,
} from './bullmq-state'
import { createJobRunner, type JobRunner } from './bullmq-worker'
import { PKG } from './options'
import { type Attempt, createDeadlines } from './runner'
import type {
  Definition,
  Engine,
  EngineHost,
  ListQuery,
  SubmitRequest,
  TaskInfo,
  TaskPage,
  TaskState,
} from './types'
import { TASK_STATES } from './types'

export type { BullMQEngineOptions } from './bullmq-options'

const RECENT = 10_000

/**
 * Tasks in BullMQ on Redis: state and history live in the queue, every process that defines a
 * task can run it, and `cancel()` anywhere aborts it where it runs (Redis pub/sub on the same server).
 */
export class BullMQEngine implements Engine {
  readonly kind = 'bullmq' as const
  private readonly options: ResolvedEngineOptions
  private host: EngineHost | undefined
  private bull: BullMQ | undefined
  private queue: Queue | undefined
  private worker: Worker | undefined
  private subscriber: Redis | undefined
  private events: QueueEvents | undefined
  private runner: JobRunner | undefined
  private readonly terminalSent = new Map<string, number>()
  private readonly breaker = createCircuitBreaker({ failureThreshold: 2, cooldown: 1000 })
  /** The command deadlines of every pending call on one timer (see {@link BullMQEngine.deadline}). */
  private readonly callDeadlines = createDeadlines(Date.now)
  private cachedCounts: Record<TaskState, number> = zero()
  private countsReadAt = 0
  private countsPending = false
  private closed = false

  constructor(options: BullMQEngineOptions) {
    this.options = resolveEngineOptions(options)
  }

  attach(host: EngineHost): void {
    if (this.host !== undefined) {
      throw new HotpathError(
        'ERR_HOTPATH_TASKS_ENGINE_SHARED',
        `${PKG}: this engine already belongs to another createTasks(); create one engine per instance.`,
      )
    }
    this.host = host
    // Loaded here, not at import: bullmq is an optional peer, needed only by this engine.
    this.bull = require('bullmq') as BullMQ
    this.runner = createJobRunner({
      host,
      bull: this.bull,
      deadlines: createDeadlines(host.now),
      mark: (id, state) => this.mark(id, state),
      redisError: (err) => this.redisError(err),
    })
    const { connection, prefix, queueName } = this.options
    // Producer calls fail fast while Redis is away (BullMQ's advice for queues): an offline queue would
    // add a job after its submit() had already been rejected or run locally.
    const shared = typeof (connection as { duplicate?: unknown }).duplicate === 'function'
    const producer = shared ? connection : { ...(connection as object), enableOfflineQueue: false }
    this.queue = new this.bull.Queue(queueName, { connection: producer as ConnectionOptions, prefix })
    this.queue.on('error', (err) => this.redisError(err))
    this.client()
      .then(async (client) => {
        const reply = (await client.config('GET', 'maxmemory-policy')) as unknown as string[]
        const policy = Array.isArray(reply) ? reply[1] : undefined
        if (policy !== undefined && policy !== 'noeviction') {
          host.log.warnOnce(
            'ERR_HOTPATH_TASKS_EVICTION',
            `${PKG}: Redis maxmemory-policy is "${policy}"; under memory pressure Redis may evict queued tasks and their locks. Use "noeviction" for the task Redis (and keep an evicting cache on another one).`,
          )
        }
      })
      .catch(() => {
        // CONFIG is often disabled on managed Redis; the README says what to check by hand.
      })
  }

  defined(definition: Definition): void {
    if (!this.options.worker || this.closed || this.worker !== undefined || this.bull === undefined) return
    void definition
    const host = this.need()
    const { connection, prefix, queueName } = this.options
    this.worker = new this.bull.Worker(
      queueName,
      // Two parameters on purpose: BullMQ gives a processor that declares a third one an
      // AbortController per job, aborted only by worker.cancelJob(), which this engine never calls
      // (its cancels go through the control channel and the runner's own signal).
      (job, token) => (this.runner as JobRunner).process(job, token),
      {
        connection,
        prefix,
        concurrency: host.concurrency,
      },
    )
    this.worker.on('error', (err) => this.redisError(err))
    this.client()
      .then(async (client) => {
        const subscriber = client.duplicate({ enableOfflineQueue: true })
        this.subscriber = subscriber
        subscriber.on('error', (err) => this.redisError(err))
        subscriber.on('message', (_channel: string, id: string) => this.runner?.remoteCancel(id))
        await subscriber.subscribe(this.channel())
        if (this.closed) subscriber.disconnect()
      })
      .catch((err) => this.redisError(err))
  }

  async submit(request: SubmitRequest): Promise<{ id: string }> {
    const definition = this.need().definition(request.name) as Definition
    const { retention } = this.need()
    const keep = { age: Math.ceil(retention.ageMs / 1000), count: retention.count }
    const envelope: Envelope = { t: request.timeoutMs, d: request.data }
    const job = await this.call('add', async (queue) => {
      try {
        return await queue.add(request.name, envelope, {
          ...(request.id !== undefined ? { jobId: request.id } : {}),
          ...(request.delayMs > 0 ? { delay: request.delayMs } : {}),
          ...(request.priority > 0 ? { priority: request.priority } : {}),
          attempts: definition.retries + 1,
          // Only where BullMQ can use it: a job with one attempt never backs off, and every job stores its options.
          ...(definition.retries > 0
            ? { backoff: { type: definition.backoffSpec.type, delay: definition.backoffSpec.delay } }
            : {}),
          removeOnComplete: keep,
          removeOnFail: keep,
        })
      } catch (err) {
        if (err instanceof TypeError) {
          throw new HotpathError(
            'ERR_HOTPATH_TASK_DATA',
            `${PKG}: task data must be JSON-serializable with the BullMQ engine (${err.message}).`,
          )
        }
        throw err
      }
    })
    return { id: String(job.id) }
  }

  async get(id: string): Promise<TaskInfo | undefined> {
    return this.call('get', async (queue) => {
      // State first, then the hash: BullMQ finishes a job (state and fields) in one script, so fields read
      // after a finished state are its final ones; a job that finished in between is read again.
      for (let tries = 0; ; tries++) {
        const state = stateOfType(await queue.getJobState(id))
        if (state === undefined) return undefined
        const job = await queue.getJob(id)
        if (job === undefined || job === null) return undefined
        const finished = job.finishedOn !== undefined && job.finishedOn !== null
        // A job that started between the two reads shows more attempts started than made.
        const started = (job.attemptsStarted ?? 0) > (job.attemptsMade ?? 0)
        const consistent =
          finished === (state === 'completed' || state === 'failed') && !(state === 'pending' && started)
        if (consistent || tries >= 2) return infoOf(job as Job, state)
      }
    })
  }

  async list(query: ListQuery & { limit: number }): Promise<TaskPage> {
    const types = query.state !== undefined ? TYPES_OF[query.state] : ALL_TYPES
    const [t0, o0] = (query.cursor ?? '0.0').split('.').map(Number)
    let ti = Number.isInteger(t0) && (t0 as number) >= 0 ? (t0 as number) : 0
    let offset = Number.isInteger(o0) && (o0 as number) >= 0 ? (o0 as number) : 0
    const tasks: TaskInfo[] = []
    const batch = Math.max(50, query.limit * 2)
    while (ti < types.length) {
      const type = types[ti] as string
      const jobs = await this.call('list', (queue) =>
        queue.getJobs([type as never], offset, offset + batch - 1, false),
      )
      for (let k = 0; k < jobs.length; k++) {
        const job = jobs[k] as Job | undefined
        if (!job) continue
        const info = infoOf(job, stateOfType(type) ?? 'pending')
        if (query.state !== undefined && info.state !== query.state) continue
        if (query.name !== undefined && info.name !== query.name) continue
        tasks.push(info)
        if (tasks.length === query.limit) return { tasks, nextCursor: `${ti}.${offset + k + 1}` }
      }
      if (jobs.length < batch) {
        ti++
        offset = 0
      } else offset += batch
    }
    return { tasks }
  }

  async cancel(id: string): Promise<boolean | undefined> {
    const marked = await this.mark(id, 'cancelled')
    if (marked === -1) return undefined
    if (marked === 0) return false
    this.runner?.local.get(id)?.abort('cancelled')
    await this.call('publish', async () => (await this.client()).publish(this.channel(), id))
    return true
  }

  async retry(id: string): Promise<{ id: string } | undefined> {
    const info = await this.get(id)
    if (info === undefined) return undefined
    if (info.state === 'pending' || info.state === 'running') {
      throw new HotpathError(
        'ERR_HOTPATH_TASK_NOT_FINISHED',
        `${PKG}: task "${id}" is ${info.state}; only a finished task can be retried.`,
      )
    }
    await this.call('retry', async (queue) => {
      await (this.client() as Promise<MarkingClient>).then((c) => c.hotpathTaskUnmark(this.jobKey(id)))
      this.runner?.forgetCancel(id)
      const job = await queue.getJob(id)
      if (!job) return
      const state = await job.getState()
      if (state === 'delayed') await job.promote()
      else if (state === 'failed' || state === 'completed') await job.retry(state)
    })
    return { id }
  }

  counts(): Record<TaskState, number> {
    const now = Date.now()
    if (!this.countsPending && now - this.countsReadAt > 250 && this.queue !== undefined && !this.closed) {
      this.countsPending = true
      this.call('counts', (queue) => queue.getJobCounts())
        .then((c) => {
          const counts = zero()
          for (const [type, n] of Object.entries(c)) {
            const state = stateOfType(type)
            if (state !== undefined) counts[state] += n
          }
          this.cachedCounts = counts
          this.countsReadAt = Date.now()
        })
        .catch(() => {})
        .finally(() => {
          this.countsPending = false
        })
    }
    return { ...this.cachedCounts }
  }

  countsAt(): number {
    return this.countsReadAt
  }

  running(): number {
    return this.runner?.local.size ?? 0
  }

  watch(): void {
    if (this.events !== undefined || this.bull === undefined || this.closed) return
    const { connection, prefix, queueName } = this.options
    // From now, not from the stream's end at connect time: a task submitted right after on() is seen.
    const events = new this.bull.QueueEvents(queueName, {
      connection,
      prefix,
      lastEventId: `${Date.now()}-0`,
    })
    this.events = events
    events.on('error', (err) => this.redisError(err))
    events.on('progress', ({ jobId, data }) => {
      const p = data as unknown as StoredProgress
      if (p === null || typeof p !== 'object') return
      this.need().emit('progress', {
        id: jobId,
        name: p.n ?? '',
        state: 'running',
        progress: p.p,
        message: p.m ?? '',
      })
    })
    const terminal = ({ jobId }: { jobId: string }) => {
      this.get(jobId)
        .then((info) => {
          if (info !== undefined && info.state !== 'pending' && info.state !== 'running')
            this.emitTerminal(info)
        })
        .catch(() => {})
    }
    events.on('completed', terminal)
    events.on('failed', terminal)
  }

  async close(drain: boolean, deadlineMs: number): Promise<void> {
    void drain // queued tasks stay in Redis for the other workers either way
    this.closed = true
    const worker = this.worker
    if (worker !== undefined) {
      const closing = worker.close().catch((err) => this.redisError(err))
      if ((await within(closing, deadlineMs)) === 'late') {
        for (const attempt of this.runner?.local.values() ?? []) attempt.abort('closed')
        // The aborted jobs settle at once; a worker that still cannot close (Redis away) is cut off.
        if ((await within(closing, 1000)) === 'late')
          await within(
            worker.disconnect().catch(() => {}),
            1000,
          )
      }
    }
    this.subscriber?.disconnect()
    const rest = Promise.allSettled([this.events?.close(), this.queue?.close()])
    if ((await within(rest, 1000)) === 'late') {
      await within(Promise.allSettled([this.events?.disconnect(), this.queue?.disconnect()]), 1000)
    }
  }

  private emitTerminal(info: TaskInfo): void {
    if (this.terminalSent.get(info.id) === info.finishedAt) return
    this.terminalSent.set(info.id, info.finishedAt ?? 0)
    if (this.terminalSent.size > RECENT) {
      const oldest = this.terminalSent.keys().next().value
      if (oldest !== undefined) this.terminalSent.delete(oldest)
    }
    const name = info.state === 'completed' ? 'completed' : info.state === 'failed' ? 'failed' : info.state
    if (name === 'completed' || name === 'failed' || name === 'cancelled' || name === 'timed_out') {
      this.need().emit(name, info)
    }
  }

  private mark(id: string, state: 'cancelled' | 'timed_out'): Promise<number> {
    return this.call('cancel', async () => {
      const client = await this.client()
      return client.hotpathTaskMark(this.jobKey(id), state, Date.now())
    })
  }

  private async client(): Promise<MarkingClient> {
    const client = (await (this.queue as Queue).getBackend().client) as unknown as MarkingClient
    if (typeof client.hotpathTaskMark !== 'function') {
      client.defineCommand('hotpathTaskMark', { numberOfKeys: 1, lua: MARK_LUA })
      client.defineCommand('hotpathTaskUnmark', { numberOfKeys: 1, lua: UNMARK_LUA })
    }
    return client
  }

  private jobKey(id: string): string {
    return `${this.options.prefix}:${this.options.queueName}:${id}`
  }

  private channel(): string {
    return `${this.options.prefix}:${this.options.queueName}:hotpath:control`
  }

  /** Every engine call: a deadline, and a breaker that fails at once while Redis is down. */
  private async call<T>(what: string, work: (queue: Queue) => Promise<T>): Promise<T> {
    const queue = this.queue
    if (queue === undefined) throw engineError(what, new Error('not attached'))
    if (!this.breaker.allow())
      throw engineError(what, new Error('Redis did not answer recently; retrying in 1 s'))
    try {
      const result = await this.deadline(work(queue), what)
      this.breaker.success()
      return result
    } catch (err) {
      if (
        err instanceof HotpathError &&
        err.code !== 'ERR_HOTPATH_DEADLINE' &&
        err.code !== 'ERR_HOTPATH_TASKS_ENGINE'
      ) {
        throw err
      }
      this.breaker.failure()
      throw engineError(what, err)
    }
  }

  /**
   * `withDeadline` on a shared timer: every call has the same timeout, so deadlines come in call
   * order and one timer armed at the oldest serves them all, instead of a setTimeout and a
   * clearTimeout per command (a timer list created and unlinked per call of a serial caller).
   */
  private deadline<T>(work: Promise<T>, what: string): Promise<T> {
    const ms = this.options.commandTimeoutMs
    if (!(ms > 0) || !Number.isFinite(ms)) return work
    const deadlines = this.callDeadlines
    return new Promise<T>((resolve, reject) => {
      const pending: Attempt = {
        id: what,
        deadline: Date.now() + ms,
        done: false,
        abort: () =>
          settle(() =>
            reject(new HotpathError('ERR_HOTPATH_DEADLINE', `BullMQ ${what} did not answer within ${ms} ms`)),
          ),
      }
      const settle = (then: () => void) => {
        if (pending.done) return
        pending.done = true
        deadlines.delete(pending)
        then()
      }
      deadlines.add(pending)
      work.then(
        (value) => settle(() => resolve(value)),
        (err: unknown) => settle(() => reject(err)),
      )
    })
  }

  private redisError(err: unknown): void {
    this.host?.log.warnOnce(
      'ERR_HOTPATH_TASKS_REDIS',
      `${PKG}: Redis error in the BullMQ engine (${err instanceof Error ? err.message : String(err)}); it reconnects by itself.`,
    )
  }

  private need(): EngineHost {
    if (this.host === undefined) {
      throw new HotpathError(
        'ERR_HOTPATH_TASKS_ENGINE',
        `${PKG}: pass the engine to createTasks({ engine }).`,
      )
    }
    return this.host
  }
}

function zero(): Record<TaskState, number> {
  const counts = {} as Record<TaskState, number>
  for (const state of TASK_STATES) counts[state] = 0
  return counts
}
