import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { dashboard } from '../src'
import { allSources, appWith, MOUNTS, memoryLogger, TOKEN } from './fixtures'

function cookieOf(res: request.Response): string {
  const header = res.headers['set-cookie'] as unknown as string[]
  return (header[0] as string).split(';')[0] as string
}

describe.each(MOUNTS)('sign-in form, $name', ({ base }) => {
  const app = appWith(base)
  const signIn = (token: string) => request(app).post(`${base}/login`).type('form').send({ token })

  it('GET / without credentials shows only the sign-in form: no numbers, no route names', async () => {
    const res = await request(app).get(`${base}/`)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8')
    expect(res.text).toContain('<form method="post" action="login"')
    expect(res.text).toContain('name="token"')
    expect(res.text).not.toContain('<script')
    expect(res.text).not.toContain('GET /api')
    expect(res.text).not.toMatch(/\d+ ms|hitRatio|kpi-/)
  })

  it('GET /assets/app.css is served before sign-in (the form needs it)', async () => {
    const res = await request(app).get(`${base}/assets/app.css`)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe('text/css; charset=utf-8')
  })

  it('the right token sets an HttpOnly SameSite=Strict cookie scoped to the mount path and redirects to the page', async () => {
    const res = await signIn(TOKEN)
    expect(res.status).toBe(303)
    expect(res.headers.location).toBe('./')
    const cookie = (res.headers['set-cookie'] as unknown as string[])[0] as string
    expect(cookie).toMatch(
      new RegExp(
        `^hotpath_dashboard=[A-Za-z0-9_-]{43}; Path=${base || '/'}; Max-Age=43200; HttpOnly; SameSite=Strict$`,
      ),
    )
  })

  it('the session cookie opens the JSON endpoints', async () => {
    const cookie = cookieOf(await signIn(TOKEN))
    const res = await request(app).get(`${base}/dashboard`).set('Cookie', cookie)
    expect(res.status).toBe(200)
    expect(res.body.schema).toBe(1)
  })

  it('the session cookie shows the dashboard page at GET /', async () => {
    const cookie = cookieOf(await signIn(TOKEN))
    const res = await request(app).get(`${base}/`).set('Cookie', cookie)
    expect(res.status).toBe(200)
    expect(res.text).toContain('<script src="assets/app.js" defer></script>')
    expect(res.text).not.toContain('name="token"')
  })

  it('each sign-in gets a different session id', async () => {
    expect(cookieOf(await signIn(TOKEN))).not.toBe(cookieOf(await signIn(TOKEN)))
  })

  it('a wrong token answers 401 with the form and a fixed message, and no cookie', async () => {
    const res = await signIn('<b>wrong</b>-token-value')
    expect(res.status).toBe(401)
    expect(res.headers['set-cookie']).toBeUndefined()
    expect(res.text).toContain('That token is not valid.')
    expect(res.text).not.toContain('<b>wrong</b>')
  })

  it('a cross-site form post (Sec-Fetch-Site: cross-site) is refused', async () => {
    const res = await request(app)
      .post(`${base}/login`)
      .set('Sec-Fetch-Site', 'cross-site')
      .type('form')
      .send({ token: TOKEN })
    expect(res.status).toBe(403)
    expect(res.headers['set-cookie']).toBeUndefined()
  })

  it('a form post from another Origin is refused', async () => {
    const res = await request(app)
      .post(`${base}/login`)
      .set('Origin', 'https://evil.example')
      .type('form')
      .send({ token: TOKEN })
    expect(res.status).toBe(403)
  })

  it('a same-origin form post (Origin matches Host) is accepted', async () => {
    const res = await request(app)
      .post(`${base}/login`)
      .set('Host', 'dash.example:8080')
      .set('Origin', 'https://dash.example:8080')
      .type('form')
      .send({ token: TOKEN })
    expect(res.status).toBe(303)
  })

  it('a JSON body is refused with 415: the form is the only way in', async () => {
    const res = await request(app).post(`${base}/login`).send({ token: TOKEN })
    expect(res.status).toBe(415)
  })

  it('GET /login answers 401 before anything else (only POST is public)', async () => {
    const res = await request(app).get(`${base}/login`)
    expect(res.status).toBe(401)
  })

  it('sign-out forgets the session and expires the cookie', async () => {
    const cookie = cookieOf(await signIn(TOKEN))
    const out = await request(app).post(`${base}/logout`).set('Cookie', cookie).type('form').send('')
    expect(out.status).toBe(303)
    expect((out.headers['set-cookie'] as unknown as string[])[0]).toBe(
      `hotpath_dashboard=; Path=${base || '/'}; Max-Age=0; HttpOnly; SameSite=Strict`,
    )
    const res = await request(app).get(`${base}/dashboard`).set('Cookie', cookie)
    expect(res.status).toBe(401)
  })

  it('a cross-site sign-out is refused and the session survives', async () => {
    const cookie = cookieOf(await signIn(TOKEN))
    const out = await request(app)
      .post(`${base}/logout`)
      .set('Cookie', cookie)
      .set('Sec-Fetch-Site', 'cross-site')
    expect(out.status).toBe(403)
    await request(app).get(`${base}/dashboard`).set('Cookie', cookie).expect(200)
  })
})

describe('sessions', () => {
  const build = (now: () => number, session = {}) => {
    const app = express()
    app.use(
      '/p',
      dashboard({
        auth: { token: TOKEN },
        sources: allSources(),
        session,
        now,
        logger: memoryLogger().logger,
      }),
    )
    return app
  }
  const signIn = async (app: ReturnType<typeof build>) => {
    const res = await request(app).post('/p/login').type('form').send({ token: TOKEN })
    return ((res.headers['set-cookie'] as unknown as string[])[0] as string).split(';')[0] as string
  }

  it('expire after session.ttl', async () => {
    let clock = 1_000_000
    const app = build(() => clock, { ttl: '10m' })
    const cookie = await signIn(app)
    clock += 10 * 60_000 - 1
    await request(app).get('/p/dashboard').set('Cookie', cookie).expect(200)
    clock += 1
    await request(app).get('/p/dashboard').set('Cookie', cookie).expect(401)
  })

  it('are bounded by session.max: the oldest is dropped', async () => {
    const app = build(() => 1, { max: 2 })
    const first = await signIn(app)
    const second = await signIn(app)
    const third = await signIn(app)
    await request(app).get('/p/dashboard').set('Cookie', first).expect(401)
    await request(app).get('/p/dashboard').set('Cookie', second).expect(200)
    await request(app).get('/p/dashboard').set('Cookie', third).expect(200)
  })

  it('belong to one dashboard instance: a cookie from one is refused by another', async () => {
    const one = build(() => 1)
    const two = build(() => 1)
    const cookie = await signIn(one)
    await request(two).get('/p/dashboard').set('Cookie', cookie).expect(401)
  })

  it('use session.cookieName and session.cookiePath', async () => {
    const app = build(() => 1, { cookieName: 'perf', cookiePath: '/edge/p' })
    const res = await request(app).post('/p/login').type('form').send({ token: TOKEN })
    expect((res.headers['set-cookie'] as unknown as string[])[0]).toMatch(
      /^perf=[A-Za-z0-9_-]{43}; Path=\/edge\/p; /,
    )
  })

  it('the cookie is Secure when the request came over TLS (trust proxy)', async () => {
    const app = build(() => 1)
    app.set('trust proxy', 'loopback')
    const res = await request(app)
      .post('/p/login')
      .set('X-Forwarded-Proto', 'https')
      .type('form')
      .send({ token: TOKEN })
    expect((res.headers['set-cookie'] as unknown as string[])[0]).toMatch(
      /; HttpOnly; SameSite=Strict; Secure$/,
    )
  })
})
