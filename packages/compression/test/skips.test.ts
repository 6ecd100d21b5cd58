import zlib from 'node:zlib'
import request from 'supertest'
import { compression } from '../src'
import { appWith, jsonOfSize, raw } from './helpers'

const text1k = JSON.stringify(jsonOfSize(1024))
const pregzipped = zlib.gzipSync(text1k)

describe('responses left untouched', () => {
  const compress = compression()
  const app = appWith(compress, (a) => {
    a.all('/json', (_req, res) => {
      res.type('json').send(text1k)
    })
    a.get('/no-content', (_req, res) => {
      res.setHeader('Content-Type', 'application/json')
      res.status(204).end()
    })
    a.get('/etag', (_req, res) => {
      res.setHeader('ETag', '"v1"')
      res.type('json').send(text1k)
    })
    a.get('/range', (_req, res) => {
      res.status(206)
      res.setHeader('Content-Type', 'application/json')
      res.setHeader('Content-Range', `bytes 0-599/${text1k.length}`)
      res.end(text1k.slice(0, 600))
    })
    a.get('/encoded', (_req, res) => {
      res.setHeader('Content-Type', 'application/json')
      res.setHeader('Content-Encoding', 'gzip')
      res.end(pregzipped)
    })
    a.get('/no-transform', (_req, res) => {
      res.setHeader('Cache-Control', 'public, no-transform')
      res.type('json').send(text1k)
    })
    a.get('/png', (_req, res) => {
      res.type('png').send(Buffer.alloc(4096, 7))
    })
    a.get('/small', (_req, res) => {
      res.json({ ok: true })
    })
  })
  const skipped = (reason: string): number => compress.stats().skipped[reason] as number

  beforeEach(() => compress.reset())

  it('does not compress a HEAD response but keeps its Vary', async () => {
    const res = await raw(request(app).head('/json').set('Accept-Encoding', 'gzip'))
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers['content-length']).toBe(String(text1k.length))
    expect(res.headers.vary).toBe('Accept-Encoding')
    expect(skipped('head-or-status')).toBe(1)
  })

  it('does not touch a 204', async () => {
    const res = await raw(request(app).get('/no-content').set('Accept-Encoding', 'gzip'))
    expect(res.status).toBe(204)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers.vary).toBeUndefined()
    expect(skipped('head-or-status')).toBe(1)
  })

  it('does not touch a 304', async () => {
    const res = await raw(
      request(app).get('/etag').set('Accept-Encoding', 'gzip').set('If-None-Match', '"v1"'),
    )
    expect(res.status).toBe(304)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers.etag).toBe('"v1"')
    expect(skipped('head-or-status')).toBe(1)
  })

  it('does not encode a 206 byte range', async () => {
    const res = await raw(request(app).get('/range').set('Accept-Encoding', 'gzip'))
    expect(res.status).toBe(206)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.body.toString()).toBe(text1k.slice(0, 600))
    expect(skipped('head-or-status')).toBe(1)
  })

  it('passes an already encoded body through byte for byte, without adding Vary', async () => {
    const res = await raw(request(app).get('/encoded').set('Accept-Encoding', 'gzip, br'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers.vary).toBeUndefined()
    expect(Buffer.compare(res.body, pregzipped)).toBe(0)
    expect(skipped('already-encoded')).toBe(1)
    expect(compress.stats().totals.responses).toBe(0)
  })

  it('honours Cache-Control: no-transform', async () => {
    const res = await raw(request(app).get('/no-transform').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.body.toString()).toBe(text1k)
    expect(skipped('no-transform')).toBe(1)
  })

  it('does not compress a type the compressible database rejects', async () => {
    const res = await raw(request(app).get('/png').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers.vary).toBeUndefined()
    expect(res.body.length).toBe(4096)
    expect(skipped('not-compressible')).toBe(1)
  })

  it('does not compress a body below the threshold but sets Vary', async () => {
    const res = await raw(request(app).get('/small').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers.vary).toBe('Accept-Encoding')
    expect(res.body.toString()).toBe('{"ok":true}')
    expect(skipped('below-threshold')).toBe(1)
  })

  it('counts a client that wants identity', async () => {
    await raw(request(app).get('/json').set('Accept-Encoding', 'identity'))
    expect(skipped('identity')).toBe(1)
  })
})

describe('filter', () => {
  it('sends the response as is when a custom filter says no, counted as filtered', async () => {
    const compress = compression({
      filter: (req, res) => req.path !== '/secret' && compression.filter(req, res),
    })
    const app = appWith(compress, (a) => {
      a.get('/secret', (_req, res) => {
        res.type('json').send(text1k)
      })
    })
    const res = await raw(request(app).get('/secret').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.headers.vary).toBeUndefined()
    expect(compress.stats().skipped.filtered).toBe(1)
  })

  it('still compresses other routes through the wrapped default filter', async () => {
    const compress = compression({
      filter: (req, res) => req.path !== '/secret' && compression.filter(req, res),
    })
    const app = appWith(compress, (a) => {
      a.get('/public', (_req, res) => {
        res.type('json').send(text1k)
      })
    })
    const res = await raw(request(app).get('/public').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
  })

  it('treats a throwing filter as "do not compress" and logs it once', async () => {
    const errors: string[] = []
    const logger = { warn: () => {}, error: (message: string) => errors.push(message) }
    const compress = compression({
      logger,
      filter: () => {
        throw new Error('boom')
      },
    })
    const app = appWith(compress, (a) => {
      a.get('/json', (_req, res) => {
        res.type('json').send(text1k)
      })
    })
    const first = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip'))
    const second = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip'))
    expect([first.status, second.status]).toEqual([200, 200])
    expect(second.body.toString()).toBe(text1k)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toContain('ERR_HOTPATH_COMPRESSION_FILTER')
  })
})
