import type { OnceLogger, TaskEventKind, TaskStateName, TaskSummary, TasksSource } from '@hotpath/core'
import express, { type Request, type RequestHandler, type Response, type Router } from 'express'
import type { Auth } from './auth'
import type { Config } from './options'
import { guarded, SCHEMA } from './report'
import { isSameOrigin } from './security'

const STATES: readonly TaskStateName[] = [
  'pending',
  'running',
  'completed',
  'failed',
  'cancelled',
  'timed_out',
]
const EVENTS: readonly TaskEventKind[] = ['progress', 'completed', 'failed', 'cancelled', 'timed_out']
const FINAL = new Set<string>(['completed', 'failed', 'cancelled', 'timed_out'])
const MAX_LIMIT = 500
const DEFAULT_LIMIT = 50
/** Open event streams per router: each holds a socket and a listener on the source. */
const MAX_STREAMS = 100
const HEARTBEAT_MS = 15_000

function refuse(res: Response, status: number, error: string, message: string): void {
  if (res.headersSent) return
  res.status(status).json({ schema: SCHEMA, error, message })
}

/** An engine that cannot answer (Redis down) is a 503, a coded caller mistake a 4xx; the rest goes to `next`. */
function answerError(res: Response, err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  if (code === 'ERR_HOTPATH_TASK_NOT_FOUND') {
    refuse(res, 404, 'not_found', 'No such task (never submitted, or past retention).')
    return true
  }
  if (code === 'ERR_HOTPATH_TASK_NOT_FINISHED') {
    refuse(res, 409, 'not_finished', 'Only a finished task can be retried; cancel it first.')
    return true
  }
  if (code === 'ERR_HOTPATH_TASKS_ENGINE' || code === 'ERR_HOTPATH_DEADLINE') {
    refuse(res, 503, 'engine_unavailable', 'The task engine did not answer; try again shortly.')
    return true
  }
  return false
}

function single(req: Request, name: string): unknown {
  const query = req.query as Record<string, unknown>
  return Object.hasOwn(query, name) ? query[name] : undefined
}

type ListQuery = Parameters<TasksSource['list']>[0]

function listQuery(req: Request): ListQuery | string {
  const query: ListQuery = { limit: DEFAULT_LIMIT }
  const state = single(req, 'state')
  if (state !== undefined && state !== '') {
    if (typeof state !== 'string' || !STATES.includes(state as TaskStateName))
      return `state must be one of ${STATES.join(', ')}`
    query.state = state as TaskStateName
  }
  const name = single(req, 'name')
  if (name !== undefined && name !== '') {
    if (typeof name !== 'string' || name.length > 200)
      return 'name must be a task name of at most 200 characters'
    query.name = name
  }
  const limit = single(req, 'limit')
  if (limit !== undefined) {
    if (
      typeof limit !== 'string' ||
      !/^\d{1,3}$/.test(limit) ||
      Number(limit) < 1 ||
      Number(limit) > MAX_LIMIT
    )
      return `limit must be a whole number from 1 to ${MAX_LIMIT}`
    query.limit = Number(limit)
  }
  const cursor = single(req, 'cursor')
  if (cursor !== undefined && cursor !== '') {
    if (typeof cursor !== 'string' || cursor.length > 200)
      return 'cursor must be the nextCursor of the previous page'
    query.cursor = cursor
  }
  return query
}

function idOf(req: Request): string | undefined {
  const id = req.params.id
  return typeof id === 'string' && id.length > 0 && id.length <= 256 ? id : undefined
}

/** Cross-site browsers first, then write permission, as for every state change of the dashboard. */
function writeGate(auth: Auth, config: Config, what: string): RequestHandler {
  return (req, res, next) => {
    if (!isSameOrigin(req, config.allowedOrigins)) {
      return refuse(res, 403, 'cross_site', `Cross-site requests cannot ${what} tasks.`)
    }
    auth.may(req, 'write').then((allowed) => {
      if (!allowed)
        return refuse(res, 403, 'forbidden', `This credential may read the dashboard but not ${what} tasks.`)
      next()
    }, next)
  }
}

function methodNotAllowed(allow: string): RequestHandler {
  // RFC 9110 §15.5.6: a 405 lists the methods the resource supports.
  return (_req, res) => {
    res.setHeader('Allow', allow)
    refuse(res, 405, 'method_not_allowed', `Use ${allow}.`)
  }
}

/**
 * `GET /tasks/:id/events`: server-sent events (WHATWG HTML §9.2) of one task. The current state is
 * sent first, then each progress and the terminal event, after which the stream ends. Listening
 * starts before the first read, so an end between the two is never missed.
 */
function eventsHandler(source: TasksSource, log: OnceLogger): RequestHandler {
  let open = 0
  return guarded(async (req, res) => {
    const id = idOf(req)
    if (id === undefined) return refuse(res, 404, 'not_found', 'No such task.')
    if (open >= MAX_STREAMS)
      return refuse(res, 503, 'too_many_streams', 'Too many task event streams are open.')
    const pending: string[] = []
    let seq = 0
    let started = false
    let ended = false
    const offs: Array<() => void> = []
    let heartbeat: NodeJS.Timeout | undefined
    const end = () => {
      if (ended) return
      ended = true
      open--
      for (const off of offs) off()
      if (heartbeat !== undefined) clearInterval(heartbeat)
      if (started) res.end()
    }
    const send = (event: string, data: unknown) => {
      const frame = `id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`
      if (!started) pending.push(frame)
      else if (!ended) res.write(frame)
      if (FINAL.has(event) && started) end()
    }
    open++
    res.on('close', end)
    try {
      for (const kind of EVENTS) {
        offs.push(
          source.on(kind, (event) => {
            if (event.id === id) send(kind, event)
          }),
        )
      }
      const task = await source.get(id)
      if (task === undefined) {
        end()
        return refuse(res, 404, 'not_found', 'No such task (never submitted, or past retention).')
      }
      if (ended) return
      // A reconnect (EventSource sends Last-Event-ID) to a task that has ended: 204 tells the
      // browser to stop reconnecting (WHATWG HTML §9.2.3), instead of asking again every 2 s.
      if (FINAL.has(task.state) && req.headers['last-event-id'] !== undefined) {
        end()
        res.status(204).end()
        return
      }
      res.status(200)
      res.setHeader('Content-Type', 'text/event-stream; charset=utf-8')
      res.setHeader('X-Accel-Buffering', 'no')
      res.flushHeaders()
      res.write(`retry: 2000\nid: ${++seq}\nevent: state\ndata: ${JSON.stringify(task)}\n\n`)
      started = true
      if (FINAL.has(task.state)) return end()
      for (const frame of pending.splice(0)) {
        res.write(frame)
        if (/\nevent: (completed|failed|cancelled|timed_out)\n/.test(frame)) return end()
      }
      heartbeat = setInterval(() => {
        if (!ended) res.write(': keep-alive\n\n')
      }, HEARTBEAT_MS)
      heartbeat.unref()
    } catch (err) {
      if (!started) {
        end()
        if (!answerError(res, err)) throw err
        return
      }
      log.errorOnce(
        'ERR_HOTPATH_DASHBOARD_TASK_EVENTS',
        '@hotpath/dashboard: a task event stream failed.',
        err,
      )
      end()
    }
  })
}

/** Everything under `/tasks`; without a source every path answers 404 with how to add one. */
export function tasksRoutes(
  source: TasksSource | undefined,
  auth: Auth,
  config: Config,
  log: OnceLogger,
): Router {
  const router = express.Router({ strict: false })
  if (source === undefined) {
    router.use((_req, res) => {
      refuse(res, 404, 'not_found', 'No tasks source: pass sources.tasks (a @hotpath/tasks instance).')
    })
    return router
  }
  const list = guarded(async (req, res) => {
    const query = listQuery(req)
    if (typeof query === 'string') return refuse(res, 400, 'bad_request', query)
    try {
      const page = await source.list(query)
      const body: Record<string, unknown> = {
        schema: SCHEMA,
        generatedAt: new Date().toISOString(),
        tasks: page.tasks,
      }
      if (page.nextCursor !== undefined) body.nextCursor = page.nextCursor
      body.stats = source.stats()
      res.json(body)
    } catch (err) {
      if (!answerError(res, err)) throw err
    }
  })
  const one = guarded(async (req, res) => {
    const id = idOf(req)
    const task: TaskSummary | undefined =
      id === undefined
        ? undefined
        : await source.get(id).catch((err) => {
            if (!answerError(res, err)) throw err
            return undefined
          })
    if (res.headersSent) return
    if (task === undefined)
      return refuse(res, 404, 'not_found', 'No such task (never submitted, or past retention).')
    res.json({ schema: SCHEMA, task })
  })
  const cancel = guarded(async (req, res) => {
    const id = idOf(req)
    if (id === undefined) return refuse(res, 404, 'not_found', 'No such task.')
    try {
      const cancelled = await source.cancel(id)
      if (!cancelled)
        return refuse(res, 409, 'finished', 'The task had already finished; nothing was cancelled.')
      res.json({ schema: SCHEMA, id, cancelled: true, task: await source.get(id) })
    } catch (err) {
      if (!answerError(res, err)) throw err
    }
  })
  const retry = guarded(async (req, res) => {
    const id = idOf(req)
    if (id === undefined) return refuse(res, 404, 'not_found', 'No such task.')
    try {
      const result = await source.retry(id)
      res.status(202).json({ schema: SCHEMA, id: result.id })
    } catch (err) {
      if (!answerError(res, err)) throw err
    }
  })

  router.route('/').get(list).all(methodNotAllowed('GET, HEAD'))
  router.route('/:id/events').get(eventsHandler(source, log)).all(methodNotAllowed('GET, HEAD'))
  router
    .route('/:id/retry')
    .post(writeGate(auth, config, 'retry'), retry)
    .all(methodNotAllowed('POST'))
  router
    .route('/:id')
    .get(one)
    .delete(writeGate(auth, config, 'cancel'), cancel)
    .all(methodNotAllowed('GET, HEAD, DELETE'))
  return router
}
