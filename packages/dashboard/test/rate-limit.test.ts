import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { dashboard } from '../src'
import { allSources, appWith, BEARER, MOUNTS, memoryLogger, TOKEN } from './fixtures'

describe.each(MOUNTS)("the dashboard's own rate limits, $name", ({ base }) => {
  it('reads are limited per client at rateLimit.read.limit, with Retry-After and a JSON body', async () => {
    const app = appWith(base, { rateLimit: { read: { limit: 3, window: '1m' } }, now: () => 1_200_000 })
    for (let i = 0; i < 3; i++)
      await request(app).get(`${base}/dashboard`).set('Authorization', BEARER).expect(200)
    const res = await request(app).get(`${base}/dashboard`).set('Authorization', BEARER)
    expect(res.status).toBe(429)
    expect(res.headers['ratelimit-policy']).toBe('"dashboard-read";q=3;w=60')
    expect(res.headers.ratelimit).toBe('"dashboard-read";r=0;t=80')
    // Sliding window: 3 in the current window weigh 3·(1 − x) after x of the next one, so a 4th fits at x = 1/3 (80 s).
    expect(res.headers['retry-after']).toBe('80')
    expect(res.body).toEqual({
      schema: 1,
      error: 'rate_limited',
      message: 'Too many requests to the dashboard; retry later.',
    })
  })

  it('writes have their own, tighter budget: sign-in attempts stop at rateLimit.write.limit', async () => {
    const app = appWith(base, { rateLimit: { write: { limit: 2, window: '1m' } } })
    const attempt = (token: string) => request(app).post(`${base}/login`).type('form').send({ token })
    expect((await attempt('wrong-token-000000000')).status).toBe(401)
    expect((await attempt('wrong-token-111111111')).status).toBe(401)
    // Even the right token is refused once the budget is spent: guessing cannot continue.
    expect((await attempt(TOKEN)).status).toBe(429)
    await request(app).get(`${base}/dashboard`).set('Authorization', BEARER).expect(200)
  })

  it('unauthenticated requests count too, so bearer-token guessing is limited', async () => {
    const app = appWith(base, { rateLimit: { read: { limit: 2 } } })
    await request(app).get(`${base}/dashboard`).set('Authorization', 'Bearer guess-1').expect(401)
    await request(app).get(`${base}/dashboard`).set('Authorization', 'Bearer guess-2').expect(401)
    await request(app).get(`${base}/dashboard`).set('Authorization', BEARER).expect(429)
  })

  it('the window rolls over on the injected clock', async () => {
    let clock = 1_000_000
    const app = appWith(base, { rateLimit: { read: { limit: 1, window: '10s' } }, now: () => clock })
    await request(app).get(`${base}/dashboard`).set('Authorization', BEARER).expect(200)
    await request(app).get(`${base}/dashboard`).set('Authorization', BEARER).expect(429)
    clock += 20_000
    await request(app).get(`${base}/dashboard`).set('Authorization', BEARER).expect(200)
  })

  it('the default read budget (600/min) lets a page poll every second', async () => {
    const app = express()
    const router = dashboard({ auth: { token: TOKEN }, sources: allSources(), logger: memoryLogger().logger })
    if (base) app.use(base, router)
    else app.use(router)
    for (let i = 0; i < 60; i++)
      await request(app).get(`${base}/dashboard`).set('Authorization', BEARER).expect(200)
  })

  it('the default write budget (10/min) stops the eleventh post', async () => {
    const app = express()
    const router = dashboard({ auth: { token: TOKEN }, sources: allSources(), logger: memoryLogger().logger })
    if (base) app.use(base, router)
    else app.use(router)
    for (let i = 0; i < 10; i++)
      await request(app).post(`${base}/login`).type('form').send({ token: 'x' }).expect(401)
    await request(app).post(`${base}/login`).type('form').send({ token: 'x' }).expect(429)
  })

  it('rateLimit: false turns the limits off', async () => {
    const app = appWith(base, { rateLimit: false })
    for (let i = 0; i < 15; i++)
      await request(app).post(`${base}/login`).type('form').send({ token: 'x' }).expect(401)
  })
})

describe('independent instances', () => {
  it('two dashboards do not share rate-limit counts', async () => {
    const one = appWith('', { rateLimit: { read: { limit: 1 } } })
    const two = appWith('', { rateLimit: { read: { limit: 1 } } })
    await request(one).get('/dashboard').set('Authorization', BEARER).expect(200)
    await request(two).get('/dashboard').set('Authorization', BEARER).expect(200)
    await request(one).get('/dashboard').set('Authorization', BEARER).expect(429)
  })

  it('two dashboards with different tokens each accept only their own', async () => {
    const other = 'another-token-0123456789'
    const one = appWith('', {})
    const two = appWith('', { auth: { token: other } })
    await request(one).get('/dashboard').set('Authorization', BEARER).expect(200)
    await request(two).get('/dashboard').set('Authorization', BEARER).expect(401)
    await request(two).get('/dashboard').set('Authorization', `Bearer ${other}`).expect(200)
  })
})
