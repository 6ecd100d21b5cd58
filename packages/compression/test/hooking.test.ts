import http from 'node:http'
import type { NextFunction, Request, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { compression } from '../src'
import { decode, jsonOfSize, listen, raw } from './helpers'

const text1k = JSON.stringify(jsonOfSize(1024))

function subApp() {
  const sub = express()
  sub.get('/json', (_req, res) => {
    res.type('json').send(text1k)
  })
  return sub
}

describe('where the response comes from', () => {
  it('compresses a response sent by a mounted sub-app', async () => {
    const app = express()
    app.use(compression())
    app.use('/v2', subApp())
    const res = await raw(request(app).get('/v2/json').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', res.body).toString()).toBe(text1k)
  })

  it('compresses a response of a sub-app mounted after the first request', async () => {
    const app = express()
    app.use(compression())
    app.get('/json', (_req, res) => {
      res.type('json').send(text1k)
    })
    const before = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip'))
    app.use('/late', subApp())
    const after = await raw(request(app).get('/late/json').set('Accept-Encoding', 'gzip'))
    expect([before.headers['content-encoding'], after.headers['content-encoding']]).toEqual(['gzip', 'gzip'])
  })

  it('keeps compressing a response the parent app sends after a sub-app that mounts it', async () => {
    const app = express()
    const sub = express()
    sub.use(compression())
    sub.get('/sub-only', (_req, res) => {
      res.end()
    })
    app.use(sub)
    app.get('/json', (_req, res) => {
      res.type('json').send(text1k)
    })
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', res.body).toString()).toBe(text1k)
  })

  it('streams a chunked response of a mounted sub-app and counts its bytes', async () => {
    const compress = compression()
    const sub = express()
    sub.get('/chunks', (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' })
      res.write(text1k)
      res.end(text1k)
    })
    const app = express()
    app.use(compress)
    app.use('/v2', sub)
    const res = await raw(request(app).get('/v2/chunks').set('Accept-Encoding', 'deflate'))
    expect(res.headers['content-encoding']).toBe('deflate')
    expect(decode('deflate', res.body).toString()).toBe(text1k + text1k)
    expect(compress.stats().encodings.deflate).toMatchObject({
      responses: 1,
      bytesIn: 2 * Buffer.byteLength(text1k),
      bytesOut: res.body.length,
    })
  })

  it('compresses a response of a router nested in a router', async () => {
    const app = express()
    const outer = express.Router()
    const inner = express.Router()
    inner.get('/json', (_req, res) => {
      res.type('json').send(text1k)
    })
    outer.use('/inner', inner)
    app.use(compression())
    app.use('/outer', outer)
    const res = await raw(request(app).get('/outer/inner/json').set('Accept-Encoding', 'br'))
    expect(res.headers['content-encoding']).toBe('br')
    expect(decode('br', res.body).toString()).toBe(text1k)
  })

  it('compresses when an earlier middleware already wrapped res.end', async () => {
    const app = express()
    let wrapperSaw = -1
    app.use((_req: Request, res: Response, next: NextFunction) => {
      const end = res.end.bind(res) as (...args: unknown[]) => Response
      ;(res as unknown as { end: unknown }).end = (...args: unknown[]) => {
        wrapperSaw = Buffer.isBuffer(args[0]) ? (args[0] as Buffer).length : -1
        return end(...args)
      }
      next()
    })
    app.use(compression())
    app.get('/json', (_req, res) => {
      res.type('json').send(text1k)
    })
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(wrapperSaw).toBe(res.body.length)
  })

  it('lets a later middleware wrap res.end over it', async () => {
    const app = express()
    const seen: number[] = []
    app.use(compression())
    app.use((_req: Request, res: Response, next: NextFunction) => {
      const end = res.end
      ;(res as unknown as { end: unknown }).end = function (
        this: Response,
        chunk: unknown,
        ...rest: unknown[]
      ) {
        seen.push(typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Buffer).length)
        return (end as (...args: unknown[]) => Response).call(this, chunk, ...rest)
      }
      next()
    })
    app.get('/json', (_req, res) => {
      res.type('json').send(text1k)
    })
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(seen).toEqual([Buffer.byteLength(text1k)])
    expect(decode('gzip', res.body).toString()).toBe(text1k)
  })

  it('does not touch a response of a route mounted before it', async () => {
    const compress = compression()
    const app = express()
    app.get('/before', (_req, res) => {
      res.type('json').send(text1k)
    })
    app.use(compress)
    app.get('/after', (_req, res) => {
      res.type('json').send(text1k)
    })
    const after = await raw(request(app).get('/after').set('Accept-Encoding', 'gzip'))
    const before = await raw(request(app).get('/before').set('Accept-Encoding', 'gzip'))
    expect(after.headers['content-encoding']).toBe('gzip')
    expect(before.headers['content-encoding']).toBeUndefined()
    expect(before.headers.vary).toBeUndefined()
    expect(before.body.toString()).toBe(text1k)
    expect(compress.stats().totals.responses).toBe(1)
    expect(Object.values(compress.stats().skipped).reduce((a, b) => a + b, 0)).toBe(0)
  })

  it("compresses outside Express without touching Node's response prototype", async () => {
    const proto = http.ServerResponse.prototype
    const methods = [proto.end, proto.write, proto.writeHead]
    const compress = compression()
    const server = await listen((req: http.IncomingMessage, res: http.ServerResponse) => {
      compress(req as Request, res as unknown as Response, () => {
        res.setHeader('Content-Type', 'application/json')
        res.end(text1k)
      })
    })
    try {
      const res = await raw(
        request(`http://127.0.0.1:${server.port}`).get('/').set('Accept-Encoding', 'gzip'),
      )
      expect(res.headers['content-encoding']).toBe('gzip')
      expect(decode('gzip', res.body).toString()).toBe(text1k)
      expect([proto.end, proto.write, proto.writeHead]).toEqual(methods)
      expect(Object.hasOwn(proto, 'flush')).toBe(false)
    } finally {
      await server.close()
    }
  })
})
