import { Counter, Registry } from 'prom-client'
import request from 'supertest'
import { appWith, BEARER, MOUNTS } from './fixtures'

describe.each(MOUNTS)('GET /metrics, $name', ({ base }) => {
  const registry = new Registry()
  const counter = new Counter({ name: 'shop_orders_total', help: 'Orders placed.', registers: [registry] })
  counter.inc(3)
  const app = appWith(base, { registry })

  it("returns the registry's Prometheus text with its content type", async () => {
    const res = await request(app).get(`${base}/metrics`).set('Authorization', BEARER)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe(registry.contentType)
    expect(res.text).toBe(
      '# HELP shop_orders_total Orders placed.\n# TYPE shop_orders_total counter\nshop_orders_total 3\n',
    )
  })

  it('needs credentials', async () => {
    const res = await request(app).get(`${base}/metrics`)
    expect(res.status).toBe(401)
    expect(res.text).not.toContain('shop_orders_total')
  })

  it('answers 404 when no registry was passed', async () => {
    const res = await request(appWith(base)).get(`${base}/metrics`).set('Authorization', BEARER)
    expect(res.status).toBe(404)
    expect(res.body).toEqual({
      schema: 1,
      error: 'not_found',
      message:
        'No prom-client registry: pass options.registry, or a profiler whose metrics are on (its registry is served).',
    })
  })

  it('a registry that rejects goes to the application error handler', async () => {
    const broken = { contentType: 'text/plain', metrics: () => Promise.reject(new Error('collect failed')) }
    const own = appWith(base, { registry: broken })
    const seen: string[] = []
    own.use((err: Error, _req: unknown, res: { status(n: number): { end(): void } }, _next: unknown) => {
      seen.push(err.message)
      res.status(500).end()
    })
    await request(own).get(`${base}/metrics`).set('Authorization', BEARER).expect(500)
    expect(seen).toEqual(['collect failed'])
  })
})
