import type { TasksSource } from '@hotpath/core'
import { createTasks, type Tasks } from '@hotpath/tasks'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { dashboard } from '../src'
import { AUTH, BEARER, MOUNTS, memoryLogger, ROOMY_LIMITS } from './fixtures'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const made: Tasks[] = []
afterEach(async () => {
  await Promise.all(made.splice(0).map((t) => t.close({ drain: false, timeout: 100 })))
})

function setup(
  base: string,
  options: { authorize?: (action: string) => boolean; source?: TasksSource } = {},
) {
  const tasks = createTasks({ concurrency: 5 })
  made.push(tasks)
  let release = () => {}
  const gate = new Promise<void>((resolve) => {
    release = resolve
  })
  tasks.define('report', async (month: string, { progress, signal }) => {
    progress(25, `reading ${month}`)
    while (!signal.aborted) {
      if (await Promise.race([gate.then(() => true), sleep(5).then(() => false)])) break
    }
    progress(75, 'writing')
    return { month }
  })
  tasks.define('broken', async () => {
    throw Object.assign(new Error('disk full'), { code: 'E_DISK' })
  })
  const app = express()
  const authorize = options.authorize
  const router = dashboard({
    auth: authorize ? { authorize: (_req, action) => authorize(action) } : AUTH,
    sources: { tasks: options.source ?? tasks },
    rateLimit: ROOMY_LIMITS,
    logger: memoryLogger().logger,
  })
  if (base) app.use(base, router)
  else app.use(router)
  const get = (path: string) => request(app).get(`${base}${path}`).set('Authorization', BEARER)
  const settle = async (id: string) => {
    for (;;) {
      const t = await tasks.get(id)
      if (t && !['pending', 'running'].includes(t.state)) return t
      await sleep(5)
    }
  }
  return { tasks, app, get, release, settle }
}

describe.each(MOUNTS)('task endpoints, $name', ({ base }) => {
  it('GET /tasks lists the tasks newest first with the per-name stats', async () => {
    const { tasks, get, release, settle } = setup(base)
    release()
    const a = await tasks.submit('report', '2024-06')
    const b = await tasks.submit('report', '2024-07')
    await settle(a.id)
    await settle(b.id)
    const res = await get('/tasks').expect(200)
    expect(res.headers['cache-control']).toBe('no-store')
    expect(res.body.tasks.map((t: { id: string }) => t.id)).toEqual([b.id, a.id])
    expect(res.body.tasks[0]).toMatchObject({
      name: 'report',
      state: 'completed',
      result: { month: '2024-07' },
    })
    expect(res.body.stats.counts.completed).toBe(2)
    expect(res.body.stats.names[0]).toMatchObject({ name: 'report', runMs: { count: 2 } })
    expect(res.body.nextCursor).toBeUndefined()
  })

  it('GET /tasks filters by state and name and pages with the cursor', async () => {
    const { tasks, get, release, settle } = setup(base)
    release()
    const reports = []
    for (let i = 0; i < 3; i++) reports.push((await tasks.submit('report', `m${i}`)).id)
    const broken = (await tasks.submit('broken')).id
    for (const id of [...reports, broken]) await settle(id)
    const failed = await get('/tasks?state=failed').expect(200)
    expect(failed.body.tasks).toHaveLength(1)
    expect(failed.body.tasks[0]).toMatchObject({
      id: broken,
      error: { message: 'disk full', code: 'E_DISK' },
    })
    const page1 = await get('/tasks?name=report&limit=2').expect(200)
    expect(page1.body.tasks.map((t: { id: string }) => t.id)).toEqual([reports[2], reports[1]])
    const page2 = await get(`/tasks?name=report&limit=2&cursor=${page1.body.nextCursor}`).expect(200)
    expect(page2.body.tasks.map((t: { id: string }) => t.id)).toEqual([reports[0]])
  })

  it.each([
    ['?state=done', 'state must be one of'],
    ['?limit=0', 'limit must be a whole number from 1 to 500'],
    ['?limit=abc', 'limit must be'],
    ['?state=failed&state=running', 'state must be one of'],
  ])('GET /tasks%s answers 400', async (query, message) => {
    const { get } = setup(base)
    const res = await get(`/tasks${query}`).expect(400)
    expect(res.body).toMatchObject({ error: 'bad_request', message: expect.stringContaining(message) })
  })

  it('GET /tasks answers 401 without a credential', async () => {
    const { app } = setup(base)
    await request(app).get(`${base}/tasks`).expect(401)
  })

  it('GET /tasks/:id answers the task, and 404 for an unknown id', async () => {
    const { tasks, get } = setup(base)
    const { id } = await tasks.submit('report', '2024-08')
    const res = await get(`/tasks/${id}`).expect(200)
    expect(res.body.task).toMatchObject({
      id,
      name: 'report',
      state: 'running',
      progress: 25,
      message: 'reading 2024-08',
    })
    const missing = await get('/tasks/no-such-task').expect(404)
    expect(missing.body.error).toBe('not_found')
  })

  it('GET /tasks/:id/events streams the state, each progress and the end, then closes', async () => {
    const { tasks, get, release } = setup(base)
    const { id } = await tasks.submit('report', '2024-09')
    setTimeout(release, 50)
    const res = await get(`/tasks/${id}/events`)
      .buffer(true)
      .parse((response, done) => {
        let text = ''
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8')
        })
        response.on('end', () => done(null, text))
      })
      .expect(200)
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8')
    const events = (res.body as string)
      .split('\n\n')
      .filter((frame) => frame.includes('event: '))
      .map((frame) => {
        const [, event] = /event: (\w+)/.exec(frame) ?? []
        const [, data] = /data: (.*)/.exec(frame) ?? []
        return { event, data: JSON.parse(data as string) }
      })
    expect(events.map((e) => e.event)).toEqual(['state', 'progress', 'completed'])
    expect(events[0]?.data).toMatchObject({ id, state: 'running', progress: 25 })
    expect(events[1]?.data).toMatchObject({ id, progress: 75, message: 'writing' })
    expect(events[2]?.data).toMatchObject({ id, state: 'completed', result: { month: '2024-09' } })
  })

  it('GET /tasks/:id/events of a finished task sends its state and closes', async () => {
    const { tasks, get, settle } = setup(base)
    const { id } = await tasks.submit('broken')
    await settle(id)
    const res = await get(`/tasks/${id}/events`)
      .buffer(true)
      .parse((response, done) => {
        let text = ''
        response.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8')
        })
        response.on('end', () => done(null, text))
      })
    expect(res.status).toBe(200)
    expect(res.body).toContain('event: state\ndata: ')
    expect(res.body).toContain('"state":"failed"')
  })

  it('GET /tasks/:id/events answers 204 to a reconnect for a finished task, so the browser stops', async () => {
    const { tasks, get, settle } = setup(base)
    const { id } = await tasks.submit('broken')
    await settle(id)
    const res = await get(`/tasks/${id}/events`).set('Last-Event-ID', '1')
    expect(res.status).toBe(204)
  })

  it('GET /tasks/:id/events answers 404 for an unknown id', async () => {
    const { get } = setup(base)
    await get('/tasks/nope/events').expect(404)
  })

  it('DELETE /tasks/:id cancels a running task and aborts its handler', async () => {
    const { tasks, app } = setup(base)
    const { id } = await tasks.submit('report', '2024-10')
    const res = await request(app).delete(`${base}/tasks/${id}`).set('Authorization', BEARER).expect(200)
    expect(res.body).toMatchObject({ id, cancelled: true, task: { state: 'cancelled' } })
    expect((await tasks.get(id))?.error?.code).toBe('ERR_HOTPATH_TASK_CANCELLED')
  })

  it('DELETE /tasks/:id answers 409 for a finished task and 404 for an unknown one', async () => {
    const { tasks, app, settle } = setup(base)
    const { id } = await tasks.submit('broken')
    await settle(id)
    const finished = await request(app).delete(`${base}/tasks/${id}`).set('Authorization', BEARER).expect(409)
    expect(finished.body.error).toBe('finished')
    await request(app).delete(`${base}/tasks/nope`).set('Authorization', BEARER).expect(404)
  })

  it('DELETE /tasks/:id from another site answers 403 and cancels nothing', async () => {
    const { tasks, app } = setup(base)
    const { id } = await tasks.submit('report', '2024-11')
    const res = await request(app)
      .delete(`${base}/tasks/${id}`)
      .set('Authorization', BEARER)
      .set('Origin', 'https://evil.example')
      .expect(403)
    expect(res.body.error).toBe('cross_site')
    expect((await tasks.get(id))?.state).toBe('running')
  })

  it('DELETE /tasks/:id with a read-only credential answers 403 and cancels nothing', async () => {
    const { tasks, app } = setup(base, { authorize: (action) => action === 'read' })
    const { id } = await tasks.submit('report', '2024-12')
    const res = await request(app).delete(`${base}/tasks/${id}`).expect(403)
    expect(res.body.error).toBe('forbidden')
    expect((await tasks.get(id))?.state).toBe('running')
  })

  it('POST /tasks/:id/retry runs a failed task again and answers 202', async () => {
    const { tasks, app, settle } = setup(base)
    const { id } = await tasks.submit('broken')
    const first = await settle(id)
    const res = await request(app).post(`${base}/tasks/${id}/retry`).set('Authorization', BEARER).expect(202)
    expect(res.body).toMatchObject({ id })
    const second = await settle(id)
    expect(second.attempts).toBe(first.attempts + 1)
  })

  it('POST /tasks/:id/retry of a running task answers 409', async () => {
    const { tasks, app } = setup(base)
    const { id } = await tasks.submit('report', '2025-01')
    const res = await request(app).post(`${base}/tasks/${id}/retry`).set('Authorization', BEARER).expect(409)
    expect(res.body.error).toBe('not_finished')
  })

  it('PUT /tasks/:id answers 405 with the Allow header', async () => {
    const { app } = setup(base)
    const res = await request(app).put(`${base}/tasks/x`).set('Authorization', BEARER).expect(405)
    expect(res.headers.allow).toBe('GET, HEAD, DELETE')
  })

  it('answers 503 when the task engine does not answer', async () => {
    const failing = (): Promise<never> =>
      Promise.reject(Object.assign(new Error('Redis down'), { code: 'ERR_HOTPATH_TASKS_ENGINE' }))
    const source: TasksSource = {
      name: 'tasks',
      stats: () => {
        throw new Error('unused')
      },
      get: failing,
      list: failing,
      cancel: failing,
      retry: failing,
      on: () => () => {},
    }
    const { get } = setup(base, { source })
    expect((await get('/tasks').expect(503)).body.error).toBe('engine_unavailable')
    expect((await get('/tasks/abc').expect(503)).body.error).toBe('engine_unavailable')
  })
})

describe('task endpoints without a tasks source', () => {
  it('answer 404 naming sources.tasks', async () => {
    const app = express()
    app.use(dashboard({ auth: AUTH, rateLimit: ROOMY_LIMITS, logger: memoryLogger().logger }))
    const res = await request(app).get('/tasks').set('Authorization', BEARER).expect(404)
    expect(res.body.message).toContain('sources.tasks')
  })

  it('accepts a createTasks instance as sources.tasks', () => {
    const tasks = createTasks()
    made.push(tasks)
    const source: TasksSource = tasks
    expect(() => dashboard({ auth: AUTH, sources: { tasks: source } })).not.toThrow()
  })
})
