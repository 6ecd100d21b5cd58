import { Registry } from 'prom-client'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { responseCache } from '../src'

function app(registry: Registry) {
  const cache = responseCache({ ttl: '1m', registry })
  const server = express()
  server.get('/page', cache.route(), (_req, res) => {
    res.type('text').send('x'.repeat(2000))
  })
  return { cache, server }
}

describe('Prometheus metrics on the registry option', () => {
  it('counts hits and misses and reports entries and stored bytes', async () => {
    const registry = new Registry()
    const { cache, server } = app(registry)
    await request(server).get('/page').set('Host', 'shop.test')
    // The entry is written once the response has finished.
    for (let i = 0; i < 100 && cache.stats().stores === 0; i++) await new Promise((r) => setTimeout(r, 10))
    await request(server).get('/page').set('Host', 'shop.test')
    const text = await registry.metrics()
    expect(text).toMatch(/^hotpath_cache_misses_total 1$/m)
    expect(text).toMatch(/^hotpath_cache_hits_total 1$/m)
    expect(text).toMatch(/^hotpath_cache_entries 1$/m)
    expect(text).toContain(`hotpath_cache_stored_bytes ${cache.stats().storedBytes}`)
  })

  it('reads zero again after reset(), keeping the entries', async () => {
    const registry = new Registry()
    const { cache, server } = app(registry)
    await request(server).get('/page').set('Host', 'shop.test')
    cache.reset()
    const text = await registry.metrics()
    expect(text).toMatch(/^hotpath_cache_misses_total 0$/m)
    expect(text).toMatch(/^hotpath_cache_entries 1$/m)
  })

  it('refuses a second cache on the same registry and prefix, naming metricsPrefix', () => {
    const registry = new Registry()
    responseCache({ registry })
    expect(() => responseCache({ registry })).toThrow(/metricsPrefix/)
    expect(() => responseCache({ registry, metricsPrefix: 'api_cache_' })).not.toThrow()
  })
})
