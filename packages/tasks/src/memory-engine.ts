import { HotpathError } from '@hotpath/core'
import { History, type HistorySizes } from './history'
import { Heap, Line } from './queue'
import { seqOfId, snapshot, type TaskRecord } from './record'
import { type Attempt, createDeadlines, type Deadlines, type Outcome, runAttempt } from './runner'
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

type Rec = TaskRecord & {
  queued: boolean
  attempt: Attempt | undefined
  gone: boolean
  pos: number
}

/**
 * The in-process engine (the default): tasks, their queue and their bounded history live in
 * this process; nothing survives a restart. Concurrency is per process and per task name.
 */
export class MemoryEngine implements Engine {
  readonly kind = 'memory' as const
  private host: EngineHost | undefined
  private history: History<Rec> | undefined
  private readonly lines = new Map<string, Line<Rec>>()
  private readonly delayed = new Heap<Rec>((rec) => rec.dueAt)
  private delayTimer: NodeJS.Timeout | undefined
  private delayAt = Number.POSITIVE_INFINITY
  private readonly runningByName = new Map<string, number>()
  private readonly countsByState: Record<TaskState, number> = zeroCounts()
  private deadlines: Deadlines | undefined
  private pruneTimer: NodeJS.Timeout | undefined
  private seq = 0
  private readonly base = Math.random().toString(36).slice(2, 8)
  private runningCount = 0
  private closing: { drain: boolean; resolve: () => void } | undefined
  private pumping = false

  attach(host: EngineHost): void {
    if (this.host !== undefined) {
      throw new HotpathError(
        'ERR_HOTPATH_TASKS_ENGINE_SHARED',
        '@hotpath/tasks: this engine already belongs to another createTasks(); create one engine per instance.',
      )
    }
    this.host = host
    this.deadlines = createDeadlines(host.now)
    this.history = new History<Rec>(
      host.retention,
      (rec) => {
        this.countsByState[rec.state]--
      },
      (id) => seqOfId(this.base, id),
    )
    const every = Math.min(60_000, Math.max(1000, Math.floor(host.retention.ageMs / 10)))
    this.pruneTimer = setInterval(() => this.history?.prune(host.now()), every)
    this.pruneTimer.unref()
  }

  defined(_definition: Definition): void {
    this.pump()
  }

  async submit(request: SubmitRequest): Promise<{ id: string }> {
    const host = this.need()
    if (request.id !== undefined) {
      if (this.records().get(request.id)) return { id: request.id }
    }
    const now = host.now()
    const seq = ++this.seq
    const rec: Rec = {
      seq,
      // The history finds this form by its seq (`seqOfId`), without an id → record map entry.
      id: request.id ?? `${this.base}${seq.toString(36)}`,
      name: request.name,
      data: request.data,
      state: 'pending',
      progress: 0,
      message: '',
      attempts: 0,
      createdAt: now,
      dueAt: now + request.delayMs,
      startedAt: null,
      finishedAt: null,
      priority: request.priority,
      timeoutMs: request.timeoutMs,
      result: undefined,
      error: undefined,
      queued: false,
      attempt: undefined,
      gone: false,
      pos: 0,
      local: false,
    }
    this.records().add(rec)
    this.countsByState.pending++
    this.enqueue(rec)
    return { id: rec.id }
  }

  async get(id: string): Promise<TaskInfo | undefined> {
    const rec = this.records().get(id)
    return rec && snapshot(rec)
  }

  async list(query: ListQuery & { limit: number }): Promise<TaskPage> {
    return this.records().list(query)
  }

  async cancel(id: string): Promise<boolean | undefined> {
    const rec = this.records().get(id)
    if (rec === undefined) return undefined
    if (rec.state === 'running') {
      rec.attempt?.abort('cancelled')
      return true
    }
    if (rec.state !== 'pending') return false
    if (rec.queued) this.lines.get(rec.name)?.remove(rec)
    this.finish(rec, { kind: 'cancelled', error: CANCELLED })
    return true
  }

  async retry(id: string): Promise<{ id: string } | undefined> {
    const rec = this.records().get(id)
    if (rec === undefined) return undefined
    if (rec.state === 'pending' || rec.state === 'running') {
      throw new HotpathError(
        'ERR_HOTPATH_TASK_NOT_FINISHED',
        `@hotpath/tasks: task "${id}" is ${rec.state}; only a finished task can be retried.`,
      )
    }
    this.records().reopened(rec, rec.state)
    this.move(rec, 'pending')
    rec.progress = 0
    rec.message = ''
    rec.result = undefined
    rec.error = undefined
    rec.finishedAt = null
    rec.dueAt = this.need().now()
    this.enqueue(rec)
    return { id }
  }

  counts(): Record<TaskState, number> {
    return { ...this.countsByState }
  }

  running(): number {
    return this.runningCount
  }

  /** Flags a task the local fallback ran in place of a failed engine. */
  markLocal(id: string): void {
    const rec = this.records().get(id)
    if (rec !== undefined) rec.local = true
  }

  /** @internal The sizes of the history's indexes: tests assert that they stay at the bound. */
  historySizes(): HistorySizes {
    return this.records().sizes()
  }

  /** Whether this engine holds the task (the local fallback of a Redis engine asks). */
  has(id: string): boolean {
    return this.records().get(id) !== undefined
  }

  close(drain: boolean, deadlineMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(deadline)
        this.stop()
        resolve()
      }
      const deadline = setTimeout(() => {
        for (const attempt of this.deadlines?.all() ?? []) attempt.abort('closed')
        done()
      }, deadlineMs)
      this.closing = { drain, resolve: done }
      if (!drain) this.dropQueued()
      this.checkIdle()
    })
  }

  private stop(): void {
    this.dropQueued()
    if (this.delayTimer !== undefined) clearTimeout(this.delayTimer)
    if (this.pruneTimer !== undefined) clearInterval(this.pruneTimer)
    this.delayTimer = undefined
    this.pruneTimer = undefined
  }

  private dropQueued(): void {
    const dropped = [...this.delayed.clear()]
    for (const line of this.lines.values()) dropped.push(...line.drain())
    for (const rec of dropped) {
      if (rec.state === 'pending') this.finish(rec, { kind: 'closed', error: CLOSED })
    }
  }

  private checkIdle(): void {
    const closing = this.closing
    if (closing === undefined || this.runningCount > 0) return
    if (closing.drain && this.countsByState.pending > 0) return
    this.closing = undefined
    closing.resolve()
  }

  private need(): EngineHost {
    if (this.host === undefined) {
      throw new HotpathError(
        'ERR_HOTPATH_TASKS_ENGINE',
        '@hotpath/tasks: pass the engine to createTasks({ engine }).',
      )
    }
    return this.host
  }

  private enqueue(rec: Rec): void {
    const now = this.need().now()
    if (rec.dueAt > now) {
      this.delayed.push(rec)
      if (rec.dueAt < this.delayAt) this.armDelay(rec.dueAt, now)
      return
    }
    let line = this.lines.get(rec.name)
    if (line === undefined) {
      line = new Line<Rec>()
      this.lines.set(rec.name, line)
    }
    line.push(rec)
    this.pump()
  }

  private armDelay(at: number, now: number): void {
    if (this.delayTimer !== undefined) clearTimeout(this.delayTimer)
    this.delayAt = at
    this.delayTimer = setTimeout(() => this.releaseDelayed(), Math.max(0, at - now))
  }

  private releaseDelayed(): void {
    this.delayTimer = undefined
    this.delayAt = Number.POSITIVE_INFINITY
    const now = this.need().now()
    for (let top = this.delayed.peek(); top !== undefined; top = this.delayed.peek()) {
      if (top.dueAt > now && top.state === 'pending' && !top.queued) {
        this.armDelay(top.dueAt, now)
        break
      }
      this.delayed.pop()
      if (top.state === 'pending' && !top.queued && top.dueAt <= now) this.enqueue(top)
    }
  }

  /** Starts what fits: the global limit, each name's own limit, best priority first. */
  private pump(): void {
    if (this.pumping) return
    this.pumping = true
    try {
      const host = this.need()
      while (this.runningCount < host.concurrency) {
        let best: Rec | undefined
        for (const [name, line] of this.lines) {
          const head = line.peek()
          if (head === undefined) continue
          const definition = host.definition(name)
          if (definition === undefined) continue
          if ((this.runningByName.get(name) ?? 0) >= definition.concurrency) continue
          if (
            best === undefined ||
            head.priority < best.priority ||
            (head.priority === best.priority && head.seq < best.seq)
          )
            best = head
        }
        if (best === undefined) break
        this.lines.get(best.name)?.shift()
        this.start(best)
      }
    } finally {
      this.pumping = false
    }
  }

  private start(rec: Rec): void {
    const host = this.need()
    const definition = host.definition(rec.name)
    if (definition === undefined) return
    const now = host.now()
    this.move(rec, 'running')
    rec.attempts++
    rec.startedAt = now
    rec.finishedAt = null
    this.runningCount++
    this.runningByName.set(rec.name, (this.runningByName.get(rec.name) ?? 0) + 1)
    const deadlines = this.deadlines as Deadlines
    rec.attempt = runAttempt(definition, rec.id, rec.data, rec.timeoutMs, deadlines, host.now, {
      progress: (pct, message) => {
        rec.progress = pct
        if (message !== undefined) rec.message = message
        if (host.listening()) host.emit('progress', snapshot(rec))
      },
      log: (message) => {
        rec.message = message
      },
      finish: (outcome) => this.settle(rec, outcome),
    })
  }

  private settle(rec: Rec, outcome: Outcome): void {
    const host = this.need()
    rec.attempt = undefined
    this.runningCount--
    this.runningByName.set(rec.name, (this.runningByName.get(rec.name) ?? 1) - 1)
    const now = host.now()
    const definition = host.definition(rec.name)
    host.record(
      rec.name,
      (rec.startedAt ?? now) - rec.dueAt,
      now - (rec.startedAt ?? now),
      outcome.kind === 'completed',
    )
    if (
      outcome.kind === 'failed' &&
      definition !== undefined &&
      rec.attempts <= definition.retries &&
      !this.closing
    ) {
      this.move(rec, 'pending')
      rec.error = outcome.error
      rec.dueAt = now + definition.backoff(rec.attempts)
      this.enqueue(rec)
    } else this.finish(rec, outcome)
    this.pump()
    this.checkIdle()
  }

  private finish(rec: Rec, outcome: Outcome): void {
    const host = this.need()
    const state: TaskState = outcome.kind === 'closed' ? 'cancelled' : outcome.kind
    this.move(rec, state)
    rec.finishedAt = host.now()
    if (outcome.kind === 'completed') {
      rec.result = outcome.result
      rec.error = undefined
      rec.progress = 100
    } else rec.error = outcome.error
    this.records().finish(rec, state, rec.finishedAt)
    if (host.listening()) host.emit(state === 'failed' ? 'failed' : state, snapshot(rec))
  }

  private move(rec: Rec, state: TaskState): void {
    this.countsByState[rec.state]--
    this.countsByState[state]++
    rec.state = state
  }

  private records(): History<Rec> {
    if (this.history === undefined) this.need()
    return this.history as History<Rec>
  }
}

const CANCELLED = { code: 'ERR_HOTPATH_TASK_CANCELLED', message: 'The task was cancelled.' }
const CLOSED = {
  code: 'ERR_HOTPATH_TASKS_CLOSED',
  message: 'The task was still queued when close() stopped the engine.',
}

function zeroCounts(): Record<TaskState, number> {
  const counts = {} as Record<TaskState, number>
  for (const state of TASK_STATES) counts[state] = 0
  return counts
}
