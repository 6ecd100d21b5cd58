import { Registry } from 'prom-client'
import request from 'supertest'
import { compression } from '../src'
import { appWith, jsonOfSize } from './helpers'

const body = JSON.stringify(jsonOfSize(2048))

function app(registry: Registry, prefix?: string) {
  const compress = compression({ registry, ...(prefix === undefined ? {} : { metricsPrefix: prefix }) })
  return {
    compress,
    app: appWith(compress, (a) => {
      a.get('/json', (_req, res) => {
        res.type('json').send(body)
      })
      a.get('/png', (_req, res) => {
        res.type('png').send(Buffer.alloc(2048))
      })
    }),
  }
}

describe('Prometheus metrics on the registry option', () => {
  it('counts compressed responses and their bytes by coding', async () => {
    const registry = new Registry()
    const { app: server, compress } = app(registry)
    await request(server).get('/json').set('Accept-Encoding', 'gzip')
    await request(server).get('/json').set('Accept-Encoding', 'gzip')
    const text = await registry.metrics()
    const stats = compress.stats().encodings.gzip
    expect(text).toContain('hotpath_compression_responses_total{encoding="gzip"} 2')
    expect(text).toContain(`hotpath_compression_bytes_in_total{encoding="gzip"} ${stats?.bytesIn}`)
    expect(text).toContain(`hotpath_compression_bytes_out_total{encoding="gzip"} ${stats?.bytesOut}`)
  })

  it('counts skipped responses by reason', async () => {
    const registry = new Registry()
    const { app: server } = app(registry)
    await request(server).get('/png').set('Accept-Encoding', 'gzip')
    expect(await registry.metrics()).toContain(
      'hotpath_compression_skipped_total{reason="not-compressible"} 1',
    )
  })

  it('reads zero again after reset()', async () => {
    const registry = new Registry()
    const { app: server, compress } = app(registry)
    await request(server).get('/json').set('Accept-Encoding', 'gzip')
    compress.reset()
    expect(await registry.metrics()).toContain('hotpath_compression_responses_total{encoding="gzip"} 0')
  })

  it('refuses a second instance on the same registry and prefix, naming metricsPrefix', () => {
    const registry = new Registry()
    compression({ registry })
    expect(() => compression({ registry })).toThrow(/metricsPrefix/)
    expect(() => compression({ registry, metricsPrefix: 'api_compression_' })).not.toThrow()
  })

  it('refuses a registry that is not a prom-client Registry', () => {
    expect(() => compression({ registry: {} as Registry })).toThrow(/registry must be a prom-client Registry/)
  })
})
