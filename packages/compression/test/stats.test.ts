import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { compression } from '../src'
import { appWith, jsonOfSize, raw } from './helpers'

const text1k = JSON.stringify(jsonOfSize(1024))
const text5k = JSON.stringify(jsonOfSize(5000))

function itemsApp(compress: ReturnType<typeof compression>) {
  const app = express()
  app.use(compress)
  const router = express.Router()
  router.get('/items/:id', (_req, res) => {
    res.type('json').send(text1k)
  })
  router.get('/stream', (_req, res) => {
    res.type('text')
    res.write(text1k)
    res.end(text5k)
  })
  router.get('/large', (_req, res) => {
    res.type('json').send(text5k)
  })
  app.use('/api', router)
  return app
}

describe('stats() byte counts', () => {
  it('counts the exact bytes of a body compressed in one call', async () => {
    const compress = compression()
    const res = await raw(request(itemsApp(compress)).get('/api/items/7').set('Accept-Encoding', 'gzip'))
    const gzip = compress.stats().encodings.gzip
    expect(gzip).toEqual({
      responses: 1,
      bytesIn: Buffer.byteLength(text1k),
      bytesOut: res.body.length,
      ratio: res.body.length / Buffer.byteLength(text1k),
      ms: expect.any(Number),
    })
  })

  it('counts the exact bytes of a streamed body', async () => {
    const compress = compression()
    const res = await raw(request(itemsApp(compress)).get('/api/stream').set('Accept-Encoding', 'br'))
    expect(res.headers['content-encoding']).toBe('br')
    const br = compress.stats().encodings.br
    expect(br?.responses).toBe(1)
    expect(br?.bytesIn).toBe(Buffer.byteLength(text1k) + Buffer.byteLength(text5k))
    expect(br?.bytesOut).toBe(res.body.length)
  })

  it('counts the exact bytes of a one-shot body sent through the stream path', async () => {
    const compress = compression({ syncThreshold: 1000 })
    const res = await raw(request(itemsApp(compress)).get('/api/large').set('Accept-Encoding', 'deflate'))
    expect(res.headers['content-length']).toBeUndefined()
    const deflate = compress.stats().encodings.deflate
    expect([deflate?.bytesIn, deflate?.bytesOut]).toEqual([Buffer.byteLength(text5k), res.body.length])
  })

  it('reports time spent compressing as a non-negative number of milliseconds', async () => {
    const compress = compression()
    await raw(request(itemsApp(compress)).get('/api/items/1').set('Accept-Encoding', 'gzip'))
    const ms = compress.stats().encodings.gzip?.ms as number
    expect(ms).toBeGreaterThan(0)
    expect(ms).toBeLessThan(1000)
  })

  it('adds every encoding into totals', async () => {
    const compress = compression()
    const app = itemsApp(compress)
    const a = await raw(request(app).get('/api/items/1').set('Accept-Encoding', 'gzip'))
    const b = await raw(request(app).get('/api/items/2').set('Accept-Encoding', 'br'))
    const inBytes = 2 * Buffer.byteLength(text1k)
    const outBytes = a.body.length + b.body.length
    expect(compress.stats().totals).toEqual({
      responses: 2,
      bytesIn: inBytes,
      bytesOut: outBytes,
      bytesSaved: inBytes - outBytes,
      ratio: outBytes / inBytes,
    })
  })
})

describe('stats() per route', () => {
  it('reports bytes saved under the route template', async () => {
    const compress = compression()
    const app = itemsApp(compress)
    const a = await raw(request(app).get('/api/items/1').set('Accept-Encoding', 'gzip'))
    const b = await raw(request(app).get('/api/items/2').set('Accept-Encoding', 'gzip'))
    const inBytes = 2 * Buffer.byteLength(text1k)
    expect(compress.stats().routes['GET /api/items/:id']).toEqual({
      responses: 2,
      bytesIn: inBytes,
      bytesOut: a.body.length + b.body.length,
      bytesSaved: inBytes - a.body.length - b.body.length,
      uncompressedLarge: 0,
    })
  })

  it('counts a large compressible response sent uncompressed as uncompressedLarge', async () => {
    const compress = compression()
    await raw(request(itemsApp(compress)).get('/api/items/1').set('Accept-Encoding', 'identity'))
    expect(compress.stats().routes['GET /api/items/:id']?.uncompressedLarge).toBe(1)
  })

  it('counts a large streamed response sent uncompressed as uncompressedLarge', async () => {
    const compress = compression()
    await raw(request(itemsApp(compress)).get('/api/stream').set('Accept-Encoding', 'identity'))
    expect(compress.stats().routes['GET /api/stream']?.uncompressedLarge).toBe(1)
  })

  it('does not count a response below the threshold as uncompressedLarge', async () => {
    const compress = compression({ threshold: 2000 })
    await raw(request(itemsApp(compress)).get('/api/items/1').set('Accept-Encoding', 'identity'))
    expect(compress.stats().routes).toEqual({})
  })
})

describe('instances', () => {
  it('keeps the counters of two instances apart', async () => {
    const one = compression()
    const two = compression()
    await raw(request(itemsApp(one)).get('/api/items/1').set('Accept-Encoding', 'gzip'))
    expect(one.stats().totals.responses).toBe(1)
    expect(two.stats().totals.responses).toBe(0)
  })

  it('compresses once when two instances are stacked', async () => {
    const outer = compression()
    const inner = compression()
    const app = appWith(outer, (a) => {
      a.use(inner)
      a.get('/json', (_req, res) => {
        res.type('json').send(text1k)
      })
    })
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers.vary).toBe('Accept-Encoding')
    expect(inner.stats().totals.responses).toBe(1)
    expect(outer.stats().skipped['already-encoded']).toBe(1)
  })

  it('is named compression so the dashboard can list it', () => {
    const compress = compression({ threshold: '1kb' })
    expect(compress.name).toBe('compression')
    expect(compress.stats().threshold).toBe(1024)
  })

  it('starts every skip reason at zero', () => {
    expect(compression().stats().skipped).toEqual({
      'below-threshold': 0,
      'not-compressible': 0,
      filtered: 0,
      'no-transform': 0,
      'already-encoded': 0,
      identity: 0,
      'head-or-status': 0,
    })
  })

  it('sets every counter back to zero on reset()', async () => {
    const compress = compression()
    await raw(request(itemsApp(compress)).get('/api/items/1').set('Accept-Encoding', 'gzip'))
    compress.reset()
    expect(compress.stats().totals.responses).toBe(0)
    expect(compress.stats().routes).toEqual({})
  })
})
