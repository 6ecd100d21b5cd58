/**
 * The example shop's background reports: POST /api/reports queues a task on the memory engine,
 * the page at /reports/:id follows it, and the dashboard's /tasks endpoints see it.
 */
import request from 'supertest'
import { createApp } from '../examples/basic/src/app'
import { createCatalog } from '../examples/basic/src/catalog'

const TOKEN = 'example-reports-token-0123456789'

describe('the example shop: background reports', () => {
  let shop: ReturnType<typeof createApp>
  beforeEach(() => {
    shop = createApp({ token: TOKEN, catalog: createCatalog(20, 0) })
  })
  afterEach(async () => {
    await shop.close()
  })

  it('POST /api/reports answers 202 with the task id and where to follow it', async () => {
    const res = await request(shop.app).post('/api/reports').send({ month: '2024-07' }).expect(202)
    expect(res.body).toEqual({
      id: expect.any(String),
      status: `/api/reports/${res.body.id}`,
      page: `/reports/${res.body.id}`,
    })
    expect(res.headers.location).toBe(`/api/reports/${res.body.id}`)
  })

  it('GET /api/reports/:id shows the progress, then the result', async () => {
    const { body } = await request(shop.app).post('/api/reports').send({ month: '2024-08' }).expect(202)
    let task = (await request(shop.app).get(`/api/reports/${body.id}`).expect(200)).body
    const seen = new Set<number>()
    while (task.state === 'pending' || task.state === 'running') {
      seen.add(task.progress)
      await new Promise((r) => setTimeout(r, 100))
      const res = await request(shop.app).get(`/api/reports/${body.id}`).expect(200)
      expect(res.headers['cache-control']).toBe('no-store')
      task = res.body
    }
    expect(task).toMatchObject({
      state: 'completed',
      progress: 100,
      result: { month: '2024-08', rows: 5000 },
    })
    expect([...seen].some((p) => p > 0 && p < 100)).toBe(true)
  }, 15_000)

  it('a form post from the shop page is sent on to the progress page', async () => {
    const res = await request(shop.app)
      .post('/api/reports')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .set('Accept', 'text/html')
      .send('')
      .expect(303)
    expect(res.headers.location).toMatch(/^\/reports\/[a-z0-9]+$/)
    const page = await request(shop.app)
      .get(res.headers.location as string)
      .expect(200)
    expect(page.text).toContain('<progress id="bar"')
    expect(page.text).toContain('/static/report.js')
  })

  it('POST /api/reports refuses a month that is not YYYY-MM with 400', async () => {
    await request(shop.app).post('/api/reports').send({ month: 'July' }).expect(400)
  })

  it('the dashboard lists the report task and can cancel it', async () => {
    const { body } = await request(shop.app).post('/api/reports').send({ month: '2024-09' }).expect(202)
    const list = await request(shop.app)
      .get('/performance/tasks?name=report')
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(200)
    expect(list.body.tasks.map((t: { id: string }) => t.id)).toContain(body.id)
    const cancelled = await request(shop.app)
      .delete(`/performance/tasks/${body.id}`)
      .set('Authorization', `Bearer ${TOKEN}`)
      .expect(200)
    expect(cancelled.body.task.state).toBe('cancelled')
  })
})
