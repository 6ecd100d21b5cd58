/**
 * The behaviours the `compression` package's own test suite checks, written anew for this
 * project and run against `@hotpath/compression` inside Express (4 and 5, one jest project
 * each). Where hotpath answers differently on purpose, the `it` says what it does instead and
 * the README's "Differences from compression" lists it.
 */
import { randomBytes } from 'node:crypto'
import http from 'node:http'
import zlib from 'node:zlib'
import type { NextFunction, Request, Response } from 'express'
import responseTime from 'response-time'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { type CompressionOptions, compression } from '../src'
import { decode, type Listening, listen, raw } from './helpers'

type Handler = (req: Request, res: Response & { flush(): void }) => void

/** An Express app with one `compression(opts)` in front of `handler`, as the peer's suite builds. */
function serve(opts: CompressionOptions | undefined, handler: Handler) {
  const app = express()
  app.use(compression(opts))
  app.use((req: Request, res: Response) => handler(req, res as Response & { flush(): void }))
  return app
}

const hello: Handler = (_req, res) => {
  res.setHeader('Content-Type', 'text/plain')
  res.end('hello, world')
}

/** A GET sent with exactly `headers` (supertest always adds an Accept-Encoding). */
function get(port: number, headers: http.OutgoingHttpHeaders = {}): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/', headers }, resolve)
    req.on('error', reject)
    req.end()
  })
}

function bodyOf(res: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.on('end', () => resolve(Buffer.concat(chunks)))
    res.on('error', reject)
  })
}

const open: Listening[] = []
async function listening(app: http.RequestListener | ReturnType<typeof express>): Promise<number> {
  const server = await listen(app as http.RequestListener)
  open.push(server)
  return server.port
}
afterAll(async () => {
  await Promise.all(open.map((s) => s.close()))
})

describe('compression()', () => {
  it('skips HEAD', async () => {
    const res = await request(serve({ threshold: 0 }, hello))
      .head('/')
      .set('Accept-Encoding', 'gzip')
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBeUndefined()
  })

  it('skips an unknown Accept-Encoding', async () => {
    const res = await request(serve({ threshold: 0 }, hello))
      .get('/')
      .set('Accept-Encoding', 'bogus')
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.text).toBe('hello, world')
  })

  it('skips a response whose Content-Encoding is already set', async () => {
    const app = serve({ threshold: 0 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.setHeader('Content-Encoding', 'x-custom')
      res.end('hello, world')
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('x-custom')
    expect(res.body.toString()).toBe('hello, world')
  })

  it('sets Vary: Accept-Encoding', async () => {
    const res = await raw(
      request(serve({ threshold: 0 }, hello))
        .get('/')
        .set('Accept-Encoding', 'gzip'),
    )
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers.vary).toBe('Accept-Encoding')
  })

  it('sets Vary even when the request has no Accept-Encoding', async () => {
    const port = await listening(serve({ threshold: 1000 }, hello))
    const res = await get(port)
    await bodyOf(res)
    expect(res.headers.vary).toBe('Accept-Encoding')
    expect(res.headers['content-encoding']).toBeUndefined()
  })

  it('does not set Vary when the Content-Type does not pass the filter', async () => {
    const app = serve(undefined, (_req, res) => {
      res.setHeader('Content-Type', 'image/jpeg')
      res.end()
    })
    const res = await request(app).get('/')
    expect(res.status).toBe(200)
    expect(res.headers.vary).toBeUndefined()
  })

  it('sets Vary for a HEAD request', async () => {
    const res = await request(serve({ threshold: 0 }, hello))
      .head('/')
      .set('Accept-Encoding', 'gzip')
    expect(res.headers.vary).toBe('Accept-Encoding')
  })

  // Difference: the peer streams every compressed body chunked; a body sent whole is
  // compressed in one call here, so its length is known and sent.
  it('sends a small body sent whole with the Content-Length of its compressed bytes', async () => {
    const res = await raw(
      request(serve({ threshold: 0 }, hello))
        .get('/')
        .set('Accept-Encoding', 'gzip'),
    )
    expect(res.headers['transfer-encoding']).toBeUndefined()
    expect(res.headers['content-length']).toBe(String(res.body.length))
    expect(decode('gzip', res.body).toString()).toBe('hello, world')
  })

  it('transfers a body written in several calls chunked', async () => {
    const app = serve({ threshold: 0 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.write('hello, ')
      res.end('world')
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(decode('gzip', res.body).toString()).toBe('hello, world')
  })

  it('removes the identity Content-Length of a compressed body', async () => {
    const app = serve({ threshold: 0 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.setHeader('Content-Length', '12')
      res.write('hello, ')
      res.end('world')
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(res.headers['content-length']).toBeUndefined()
  })

  it('works with encoding arguments', async () => {
    const app = serve({ threshold: 0 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.write('hello, ', 'utf8')
      res.end('world', 'utf8')
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(decode('gzip', res.body).toString()).toBe('hello, world')
  })

  it('allows writing after the response closed', async () => {
    let afterClose: [unknown, unknown] | undefined
    const closed = new Promise<void>((resolve) => {
      const app = serve({ threshold: 0 }, (_req, res) => {
        res.setHeader('Content-Type', 'text/plain')
        res.once('close', () => {
          afterClose = [res.write('hello, '), res.end('world')]
          resolve()
        })
        res.destroy()
      })
      listening(app).then((port) => get(port, { 'Accept-Encoding': 'gzip' }).catch(() => undefined))
    })
    await closed
    // Both calls returned (no throw); an `error` event nobody handles would fail the suite.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(afterClose).toHaveLength(2)
  })

  it.each([
    ['compressed', { threshold: 0 }, 'gzip'],
    ['uncompressed', { filter: () => false }, undefined],
  ] as const)('applies back-pressure when %s', async (_name, opts, encoding) => {
    const chunk = randomBytes(128 * 1024)
    let writes = 0
    let full = false
    const finished = new Promise<void>((resolve) => {
      const app = serve(opts, (_req, res) => {
        res.setHeader('Content-Type', 'text/plain')
        res.write('start')
        // Random bytes do not shrink: the socket fills and write() must say so.
        while (writes < 200 && res.write(chunk) !== false) {
          writes++
          res.flush()
        }
        full = writes < 200
        res.once('drain', () => {
          res.end('end')
        })
        res.once('finish', () => resolve())
      })
      listening(app).then(async (port) => {
        const res = await get(port, { 'Accept-Encoding': 'gzip' })
        expect(res.headers['content-encoding']).toBe(encoding)
        res.resume()
      })
    })
    await finished
    expect(full).toBe(true)
  })

  it('transfers a large body', async () => {
    const body = Buffer.alloc(1024 * 1024, '.')
    const app = serve({ threshold: 0 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.end(body)
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', res.body).equals(body)).toBe(true)
  })

  it('transfers a large body written in several calls', async () => {
    const part = Buffer.alloc(40 * 1024, '.')
    const app = serve({ threshold: 0 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.write(part)
      res.write(part)
      res.write(part)
      res.end(part)
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['transfer-encoding']).toBe('chunked')
    expect(decode('gzip', res.body).length).toBe(4 * part.length)
  })
})

describe('threshold', () => {
  it('does not compress a response below the threshold', async () => {
    const app = serve({ threshold: '1kb' }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.setHeader('Content-Length', '12')
      res.end('hello, world')
    })
    const res = await request(app).get('/').set('Accept-Encoding', 'gzip')
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.text).toBe('hello, world')
  })

  it('compresses a response above the threshold', async () => {
    const app = serve({ threshold: '1kb' }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.setHeader('Content-Length', '2048')
      res.end(Buffer.alloc(2048))
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', res.body).length).toBe(2048)
  })

  it('compresses a stream without a Content-Length', async () => {
    const app = serve({ threshold: '1kb' }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.write('hello, ')
      setTimeout(() => res.end('world'), 10)
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', res.body).toString()).toBe('hello, world')
  })

  it('does not compress a stream whose Content-Length is below the threshold', async () => {
    const app = serve({ threshold: '1kb' }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.setHeader('Content-Length', '12')
      res.write('hello, ')
      setTimeout(() => res.end('world'), 10)
    })
    const res = await request(app).get('/').set('Accept-Encoding', 'gzip')
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.text).toBe('hello, world')
  })

  it('compresses a stream whose Content-Length is above the threshold', async () => {
    const app = serve({ threshold: '1kb' }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.setHeader('Content-Length', '2048')
      res.write(Buffer.alloc(1024))
      setTimeout(() => res.end(Buffer.alloc(1024)), 10)
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', res.body).length).toBe(2048)
  })

  it('measures hex data by its bytes', async () => {
    const app = serve({ threshold: 6 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.end('2e2e2e2e', 'hex')
    })
    const res = await request(app).get('/').set('Accept-Encoding', 'gzip')
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.text).toBe('....')
  })

  it('counts res.end() as 0 bytes', async () => {
    const app = serve({ threshold: 1 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.end()
    })
    const res = await request(app).get('/').set('Accept-Encoding', 'gzip')
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.text).toBe('')
  })

  it('works with res.end(null)', async () => {
    const app = serve({ threshold: 1000 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.end(null)
    })
    const res = await request(app).get('/').set('Accept-Encoding', 'gzip')
    expect(res.status).toBe(200)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.text).toBe('')
  })
})

describe('negotiation', () => {
  it('returns false writing after end', async () => {
    const results: unknown[] = []
    const app = serve({ threshold: 0 }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.end('hello, world')
      results.push(res.write('more'), res.end())
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(decode('gzip', res.body).toString()).toBe('hello, world')
    expect(results).toEqual([false, false])
  })

  it.each([
    ['gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['br', 'br'],
    ['gzip, deflate', 'gzip'],
    ['deflate, gzip', 'gzip'],
    ['gzip, br', 'br'],
    ['deflate, gzip, br', 'br'],
    ['gzip;q=1, br;q=0.3', 'gzip'],
    ['gzip, br;q=0.8', 'gzip'],
    ['gzip;q=0.001', 'gzip'],
    ['deflate, br', 'br'],
  ])('answers "Accept-Encoding: %s" with %s', async (header, coding) => {
    const res = await raw(
      request(serve({ threshold: 0 }, hello))
        .get('/')
        .set('Accept-Encoding', header),
    )
    expect(res.headers['content-encoding']).toBe(coding)
    expect(decode(coding, res.body).toString()).toBe('hello, world')
  })

  it('compresses br at the quality given in the brotli option', async () => {
    const quality = zlib.constants.BROTLI_PARAM_QUALITY
    const text = 'hello, world, hello, world, hello, brotli '.repeat(40)
    const app = serve({ threshold: 0, brotli: { params: { [quality]: 11 } } }, (_req, res) => {
      res.setHeader('Content-Type', 'text/plain')
      res.end(text)
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'br'))
    expect(res.headers['content-encoding']).toBe('br')
    expect(res.body.equals(zlib.brotliCompressSync(text, { params: { [quality]: 11 } }))).toBe(true)
  })

  it('still answers gzip when brotli options are given', async () => {
    const quality = zlib.constants.BROTLI_PARAM_QUALITY
    const app = serve({ threshold: 0, brotli: { params: { [quality]: 8 } } }, hello)
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.headers['content-encoding']).toBe('gzip')
  })
})

describe('Cache-Control: no-transform', () => {
  const noTransform: Handler = (_req, res) => {
    res.setHeader('Cache-Control', 'no-transform')
    res.setHeader('Content-Type', 'text/plain')
    res.end('hello, world')
  }

  it('does not compress the response', async () => {
    const res = await request(serve({ threshold: 0 }, noTransform))
      .get('/')
      .set('Accept-Encoding', 'gzip')
    expect(res.headers['cache-control']).toBe('no-transform')
    expect(res.headers['content-encoding']).toBeUndefined()
    expect(res.text).toBe('hello, world')
  })

  it('does not set Vary', async () => {
    const res = await request(serve({ threshold: 0 }, noTransform))
      .get('/')
      .set('Accept-Encoding', 'gzip')
    expect(res.headers.vary).toBeUndefined()
  })
})

describe('.filter', () => {
  const filterSays = (type: string | undefined) =>
    http.createServer((req, res) => {
      if (type !== undefined) res.setHeader('Content-Type', type)
      res.end(String(compression.filter(req as Request, res as unknown as Response)))
    })

  it('is a function', () => {
    expect(typeof compression.filter).toBe('function')
  })

  it('returns false for a response without a Content-Type', async () => {
    expect((await request(filterSays(undefined)).get('/')).text).toBe('false')
  })

  it('returns true for text/plain', async () => {
    expect((await request(filterSays('text/plain')).get('/')).text).toBe('true')
  })

  it('returns false for application/x-bogus', async () => {
    expect((await request(filterSays('application/x-bogus')).get('/')).text).toBe('false')
  })
})

/** Writes `count` chunks, flushing after each but the last; the client asks for the next. */
function writeAndFlush(res: Response & { flush(): void }, count: number, chunk: Buffer): () => void {
  let writes = 0
  return () => {
    if (writes++ >= count) return
    if (writes === count) {
      res.end(chunk)
      return
    }
    res.write(chunk)
    res.flush()
  }
}

/** Decodes a streamed response and hands each decoded chunk to `onChunk` as it arrives. */
async function chunksOf(port: number, coding: string, onChunk: (chunk: Buffer) => void): Promise<Buffer[]> {
  const res = await get(port, { 'Accept-Encoding': coding })
  expect(res.headers['content-encoding']).toBe(coding)
  const inflate =
    coding === 'br'
      ? zlib.createBrotliDecompress()
      : coding === 'gzip'
        ? zlib.createGunzip()
        : zlib.createInflate()
  const seen: Buffer[] = []
  return new Promise((resolve, reject) => {
    res.pipe(inflate)
    inflate.on('data', (chunk: Buffer) => {
      seen.push(chunk)
      onChunk(chunk)
    })
    inflate.on('end', () => resolve(seen))
    inflate.on('error', reject)
  })
}

describe('res.flush()', () => {
  it('is always present', async () => {
    const app = serve(undefined, (_req, res) => {
      res.statusCode = typeof res.flush === 'function' ? 200 : 500
      res.flush()
      res.end()
    })
    expect((await request(app).get('/')).status).toBe(200)
  })

  it('flushes the response', async () => {
    let next: () => void = () => {}
    const app = serve({ threshold: 0 }, (_req, res) => {
      next = writeAndFlush(res, 2, Buffer.alloc(1024))
      res.setHeader('Content-Type', 'text/plain')
      res.setHeader('Content-Length', '2048')
      next()
    })
    const port = await listening(app)
    const chunks = await chunksOf(port, 'gzip', () => next())
    expect(chunks.map((c) => c.length)).toEqual([1024, 1024])
  })

  it.each(['gzip', 'br', 'deflate'])('flushes small chunks for %s', async (coding) => {
    let next: () => void = () => {}
    const app = serve({ threshold: 0 }, (_req, res) => {
      next = writeAndFlush(res, 2, Buffer.from('..'))
      res.setHeader('Content-Type', 'text/plain')
      next()
    })
    const port = await listening(app)
    const chunks = await chunksOf(port, coding, () => next())
    expect(chunks.map((c) => c.toString())).toEqual(['..', '..'])
  })
})

describe('enforceEncoding', () => {
  it('uses the negotiated coding, not enforceEncoding, when the client sent Accept-Encoding', async () => {
    const res = await raw(
      request(serve({ threshold: 0, enforceEncoding: 'deflate' }, hello))
        .get('/')
        .set('Accept-Encoding', 'gzip'),
    )
    expect(res.headers['content-encoding']).toBe('gzip')
    expect(decode('gzip', res.body).toString()).toBe('hello, world')
  })

  it('does not compress a request without Accept-Encoding when enforceEncoding is identity', async () => {
    const port = await listening(serve({ threshold: 0, enforceEncoding: 'identity' }, hello))
    const res = await get(port)
    expect(res.headers['content-encoding']).toBeUndefined()
    expect((await bodyOf(res)).toString()).toBe('hello, world')
  })

  it.each(['gzip', 'deflate', 'br'] as const)(
    'compresses a request without Accept-Encoding when enforceEncoding is %s',
    async (coding) => {
      const port = await listening(serve({ threshold: 0, enforceEncoding: coding }, hello))
      const res = await get(port)
      expect(res.headers['content-encoding']).toBe(coding)
      expect(decode(coding, await bodyOf(res)).toString()).toBe('hello, world')
    },
  )

  // Difference: RFC 9110 §12.5.3 — an empty Accept-Encoding asks for no coding at all, so
  // enforceEncoding applies only when the header is absent.
  it('sends identity to an empty Accept-Encoding even with enforceEncoding', async () => {
    const port = await listening(serve({ threshold: 0, enforceEncoding: 'gzip' }, hello))
    const res = await get(port, { 'Accept-Encoding': '' })
    expect(res.headers['content-encoding']).toBeUndefined()
    expect((await bodyOf(res)).toString()).toBe('hello, world')
  })

  // Difference: the peer ignores an unknown enforceEncoding; a typo here fails at construction.
  it.each(['bogus', '*'])('refuses enforceEncoding %j at construction', (value) => {
    expect(() => compression({ enforceEncoding: value as 'gzip' })).toThrow(/enforceEncoding must be one of/)
  })
})

describe('where the middleware sits (the issue reports)', () => {
  it('does not crash on res.write() after res.end() of a compressed body under 32 KB', async () => {
    let wrote: unknown
    const app = serve(undefined, (_req, res) => {
      res.type('json').end(JSON.stringify({ text: 'x'.repeat(2000) }))
      wrote = res.write('late')
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.status).toBe(200)
    expect(JSON.parse(decode('gzip', res.body).toString()).text).toHaveLength(2000)
    expect(wrote).toBe(false)
  })

  it('has res.flush before the first write behind a middleware that wraps writeHead', async () => {
    const app = express()
    app.use(responseTime())
    app.use(compression())
    app.get('/', (_req, res) => {
      res.type('text')
      ;(res as unknown as { flush(): void }).flush()
      res.end('x'.repeat(1000))
    })
    const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.status).toBe(200)
    expect(res.headers['x-response-time']).toMatch(/ms$/)
    expect(decode('gzip', res.body).toString()).toBe('x'.repeat(1000))
  })

  it('has res.flush inside a mounted sub-app', async () => {
    const app = express()
    const sub = express()
    sub.use(compression())
    sub.get('/', (_req: Request, res: Response) => {
      res.type('text')
      ;(res as unknown as { flush(): void }).flush()
      res.end('x'.repeat(1000))
    })
    app.use('/sub', sub)
    const res = await raw(request(app).get('/sub').set('Accept-Encoding', 'gzip'))
    expect(res.status).toBe(200)
    expect(decode('gzip', res.body).toString()).toBe('x'.repeat(1000))
  })

  it('has res.flush on a plain http.createServer', async () => {
    const compress = compression()
    const server = http.createServer((req, res) => {
      compress(
        req as Request,
        res as unknown as Response,
        ((err?: unknown) => {
          if (err) throw err
          res.setHeader('Content-Type', 'text/plain')
          ;(res as unknown as { flush(): void }).flush()
          res.end('x'.repeat(1000))
        }) as NextFunction,
      )
    })
    const res = await raw(request(server).get('/').set('Accept-Encoding', 'gzip'))
    expect(res.status).toBe(200)
    expect(decode('gzip', res.body).toString()).toBe('x'.repeat(1000))
  })
})
