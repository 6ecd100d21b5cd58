/**
 * `/metrics` without `options.registry` serves the profiler's registry, on which the other
 * packages register too, so one scrape covers every package.
 */
import { compression } from '@hotpath/compression'
import { profiler } from '@hotpath/profiler'
import { rateLimit } from '@hotpath/rate-limit'
import type { Registry } from 'prom-client'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { dashboard } from '../src'
import { BEARER, MOUNTS } from './fixtures'

describe.each(MOUNTS)('/metrics from the profiler, $name', ({ base }) => {
  const prof = profiler()
  const compress = compression({ registry: prof.registry as unknown as Registry })
  const limiter = rateLimit({ registry: prof.registry as unknown as Registry })
  const app = express()
  app.use(prof, limiter, compress)
  app.get('/api/items', (_req, res) => {
    res.json({ items: Array.from({ length: 100 }, (_, id) => ({ id, name: `item ${id}` })) })
  })
  const router = dashboard({
    auth: { token: BEARER.slice('Bearer '.length) },
    sources: { profiler: prof, compression: compress, rateLimit: limiter },
  })
  if (base) app.use(base, router)
  else app.use(router)
  afterAll(() => prof.close?.())

  it("serves the profiler's registry when no registry is passed", async () => {
    await request(app).get('/api/items').set('Accept-Encoding', 'gzip')
    const res = await request(app).get(`${base}/metrics`).set('Authorization', BEARER)
    expect(res.status).toBe(200)
    expect(res.headers['content-type']).toBe((prof.registry as unknown as Registry).contentType)
    expect(res.text).toMatch(
      /^http_server_request_duration_seconds_count\{[^}]*route="GET \/api\/items"[^}]*\} 1$/m,
    )
  })

  it('covers the packages that registered on it', async () => {
    const res = await request(app).get(`${base}/metrics`).set('Authorization', BEARER)
    expect(res.text).toMatch(/^hotpath_compression_responses_total\{encoding="gzip"\} [1-9]/m)
    expect(res.text).toMatch(
      /^hotpath_rate_limit_requests_total\{policy="default",outcome="allowed"\} [1-9]/m,
    )
  })

  it('answers 404 when the profiler has no metrics and no registry is passed', async () => {
    const quiet = profiler({ registry: false })
    const own = express()
    own.use(dashboard({ auth: { token: BEARER.slice('Bearer '.length) }, sources: { profiler: quiet } }))
    const res = await request(own).get('/metrics').set('Authorization', BEARER)
    expect(res.status).toBe(404)
    quiet.close?.()
  })
})
