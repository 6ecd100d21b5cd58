import request from 'supertest'
import { CSP } from '../src'
import { appWith, BEARER, MOUNTS } from './fixtures'

const EXPECTED_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

function expectSecurityHeaders(res: request.Response): void {
  expect(res.headers['cache-control']).toBe('no-store')
  expect(res.headers['x-content-type-options']).toBe('nosniff')
  expect(res.headers['content-security-policy']).toBe(EXPECTED_CSP)
  expect(res.headers['x-frame-options']).toBe('DENY')
  expect(res.headers['referrer-policy']).toBe('same-origin')
}

describe.each(MOUNTS)('security headers on every response, $name', ({ base }) => {
  const app = appWith(base)
  const tight = appWith(base, { rateLimit: { read: { limit: 1 } } })

  it('the exported CSP forbids inline script, inline style and framing', () => {
    expect(CSP).toBe(EXPECTED_CSP)
  })

  it.each([
    ['GET', '/dashboard', BEARER, 200],
    ['GET', '/cache/stats', BEARER, 200],
    ['GET', '/metrics', BEARER, 404],
    ['GET', '/dashboard', undefined, 401],
    ['GET', '/', undefined, 200],
    ['GET', '/', BEARER, 200],
    ['GET', '/assets/app.js', BEARER, 200],
    ['GET', '/assets/app.css', undefined, 200],
    ['GET', '/profile/slowest?limit=0', BEARER, 400],
    ['GET', '/cache/clear', BEARER, 405],
    ['GET', '/nope', BEARER, 404],
    ['POST', '/login', undefined, 415],
    ['POST', '/cache/clear', BEARER, 415],
  ] as const)('%s %s (auth: %s) → %i carries them', async (method, path, auth, status) => {
    const req = method === 'GET' ? request(app).get(`${base}${path}`) : request(app).post(`${base}${path}`)
    const res = auth ? await req.set('Authorization', auth) : await req
    expect(res.status).toBe(status)
    expectSecurityHeaders(res)
  })

  it('a 429 from the limiter carries them', async () => {
    await request(tight).get(`${base}/dashboard`).set('Authorization', BEARER).expect(200)
    const res = await request(tight).get(`${base}/dashboard`).set('Authorization', BEARER)
    expect(res.status).toBe(429)
    expectSecurityHeaders(res)
  })

  it('no CORS header is ever sent, even to a cross-origin request', async () => {
    const res = await request(app)
      .get(`${base}/dashboard`)
      .set('Authorization', BEARER)
      .set('Origin', 'https://evil.example')
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(res.headers['access-control-allow-credentials']).toBeUndefined()
  })

  it('a preflight is not granted', async () => {
    const res = await request(app)
      .options(`${base}/cache/clear`)
      .set('Origin', 'https://evil.example')
      .set('Access-Control-Request-Method', 'POST')
    expect(res.status).toBe(401)
    expect(res.headers['access-control-allow-origin']).toBeUndefined()
    expect(res.headers['access-control-allow-methods']).toBeUndefined()
  })
})

describe('headers do not leak to the rest of the application', () => {
  it('a route beside the dashboard keeps its own headers', async () => {
    const app = appWith('/performance')
    app.get('/api', (_req, res) => {
      res.json({ ok: true })
    })
    const res = await request(app).get('/api')
    expect(res.status).toBe(200)
    expect(res.headers['content-security-policy']).toBeUndefined()
    expect(res.headers['cache-control']).toBeUndefined()
  })
})
