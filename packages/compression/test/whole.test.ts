import { randomBytes } from 'node:crypto'
import http from 'node:http'
import zlib from 'node:zlib'
import compressionPackage from 'compression'
import type { Request, RequestHandler, Response } from 'express'
import request from 'supertest'
import { compression } from '../src'
import { windowBitsFor } from '../src/decide'
import { appWith, decode, jsonOfSize, type Listening, listen, raw, until } from './helpers'

// Above the default syncThreshold (32 KB): compressed by one zlib stream, off the main thread.
const body100k = jsonOfSize(100 * 1024)
const text100k = JSON.stringify(body100k)
const latin = 'caf\u00e9 cr\u00e8me br\u00fbl\u00e9e '.repeat(3000)

function routes(a: ReturnType<typeof appWith>): void {
  a.get('/json', (_req, res) => {
    res.json(body100k)
  })
  a.get('/etag', (_req, res) => {
    res.set('ETag', '"v1"').type('json').send(text100k)
  })
  a.get('/latin', (_req, res) => {
    res.setHeader('Content-Type', 'text/plain; charset=latin1')
    res.end(latin, 'latin1')
  })
}

describe('a large body sent whole', () => {
  const compress = compression()
  const app = appWith(compress, routes)
  const reference = appWith(compressionPackage({ threshold: 500 }) as unknown as RequestHandler, routes)

  for (const coding of ['br', 'gzip', 'deflate']) {
    it(`sends the same ${coding} bytes as the compression package, and they decode to the body`, async () => {
      const ours = await raw(request(app).get('/json').set('Accept-Encoding', coding))
      const theirs = await raw(request(reference).get('/json').set('Accept-Encoding', coding))
      expect(ours.headers['content-encoding']).toBe(coding)
      expect(ours.headers['content-length']).toBeUndefined()
      expect(ours.headers['transfer-encoding']).toBe('chunked')
      expect(ours.headers.vary).toBe('Accept-Encoding')
      expect(decode(coding, ours.body).toString()).toBe(text100k)
      expect(ours.body.equals(theirs.body)).toBe(true)
    })
  }

  it('counts its bytes in and out', async () => {
    compress.reset()
    const res = await raw(request(app).get('/json').set('Accept-Encoding', 'br'))
    expect(compress.stats().encodings.br).toMatchObject({
      responses: 1,
      bytesIn: Buffer.byteLength(text100k),
      bytesOut: res.body.length,
    })
    expect(compress.stats().aborted).toBe(0)
  })

  it('weakens a strong ETag', async () => {
    const res = await raw(request(app).get('/etag').set('Accept-Encoding', 'gzip'))
    expect(res.headers.etag).toBe('W/"v1"')
    expect(decode('gzip', res.body).toString()).toBe(text100k)
  })

  it('encodes a string body with the encoding given to res.end', async () => {
    const res = await raw(request(app).get('/latin').set('Accept-Encoding', 'br'))
    expect(res.headers['content-encoding']).toBe('br')
    expect(decode('br', res.body).toString('latin1')).toBe(latin)
  })
})

describe('calls made after the whole body was ended', () => {
  const seen: unknown[] = []
  let ended = false
  const app = appWith(compression(), (a) => {
    a.get('/late', (_req, res) => {
      res.type('json')
      res.end(text100k, () => {
        ended = true
      })
      seen.push(res.write('junk'), res.end('more'))
    })
  })

  it('drops them, as compression does, and still calls the end callback', async () => {
    const res = await raw(request(app).get('/late').set('Accept-Encoding', 'gzip'))
    expect(seen).toEqual([false, false])
    expect(decode('gzip', res.body).toString()).toBe(text100k)
    await until(() => ended)
  })
})

describe('a large body sent whole outside Express', () => {
  it('is compressed and decodes to the body', async () => {
    const compress = compression()
    const server = await listen((req: http.IncomingMessage, res: http.ServerResponse) => {
      compress(req as Request, res as unknown as Response, () => {
        res.setHeader('Content-Type', 'application/json')
        res.end(Buffer.from(text100k))
      })
    })
    try {
      const res = await raw(
        request(`http://127.0.0.1:${server.port}`).get('/').set('Accept-Encoding', 'deflate'),
      )
      expect(res.headers['content-encoding']).toBe('deflate')
      expect(decode('deflate', res.body).toString()).toBe(text100k)
      expect(compress.stats().encodings.deflate?.bytesOut).toBe(res.body.length)
    } finally {
      await server.close()
    }
  })
})

describe('a client that stops reading a large body sent whole', () => {
  // Random hex compresses to about half: ~16 MB of output, more than the socket buffers hold.
  const huge = Buffer.from(randomBytes(16 * 1024 * 1024).toString('hex'))
  let server: Listening
  let response: http.ServerResponse | undefined
  const gzipStreams: zlib.Gzip[] = []
  const descriptor = Object.getOwnPropertyDescriptor(zlib, 'createGzip') as PropertyDescriptor
  const compress = compression({ level: 1 })

  beforeAll(async () => {
    Object.defineProperty(zlib, 'createGzip', {
      ...descriptor,
      value: (options?: zlib.ZlibOptions) => {
        const gzip = (descriptor.value as typeof zlib.createGzip)(options)
        gzipStreams.push(gzip)
        return gzip
      },
    })
    server = await listen(
      appWith(compress, (a) => {
        a.get('/huge', (_req, res) => {
          response = res
          res.setHeader('Content-Type', 'text/plain')
          res.end(huge)
        })
      }),
    )
  })
  afterAll(async () => {
    Object.defineProperty(zlib, 'createGzip', descriptor)
    await server.close()
  })

  it('pauses zlib and keeps the server-side buffer bounded', async () => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: server.port, path: '/huge', headers: { 'Accept-Encoding': 'gzip' } },
        resolve,
      )
      req.on('error', reject)
      req.end()
    })
    expect(res.headers['content-encoding']).toBe('gzip')
    res.pause()
    await until(() => gzipStreams[0]?.isPaused() === true, 15_000)
    expect(gzipStreams).toHaveLength(1)
    expect(response?.writableLength).toBeLessThan(1024 * 1024)
    res.destroy()
  })

  it('destroys the zlib stream once the client is gone and counts the response as aborted', async () => {
    await until(() => gzipStreams[0]?.destroyed === true)
    expect(compress.stats().aborted).toBe(1)
    expect(compress.stats().encodings.gzip?.responses).toBe(0)
  })
})

describe('the deflate window of a small body compressed in one call', () => {
  it('picks the smallest window that still reaches back over the whole body', () => {
    expect([0, 250, 251, 762, 763, 1786, 3834, 7930, 16_122, 32_506, 40_000].map(windowBitsFor)).toEqual([
      9, 9, 10, 10, 11, 11, 12, 13, 14, 15, 15,
    ])
  })

  it('sends exactly the gzip bytes zlib makes with its default window, for every size class', async () => {
    const lengths = [1, 200, 600, 1000, 1024, 1500, 2048, 3000, 4096, 6000, 8192, 12_000, 16_384, 30_000]
    const bodies = lengths.map((n) => JSON.stringify(jsonOfSize(n)).slice(0, n))
    const app = appWith(compression({ threshold: 0 }), (a) => {
      a.get('/', (req: Request, res: Response) => {
        res.type('json').end(bodies[Number(req.query.i)])
      })
    })
    for (let i = 0; i < bodies.length; i++) {
      const res = await raw(request(app).get(`/?i=${i}`).set('Accept-Encoding', 'gzip'))
      expect(res.headers['content-encoding']).toBe('gzip')
      expect((res.body as Buffer).equals(zlib.gzipSync(bodies[i] as string))).toBe(true)
    }
  })

  it('makes the same bytes as the default window where a match reaches furthest back', () => {
    for (const bits of [10, 11, 12, 13, 14]) {
      // 64 random bytes at both ends of a body as long as the window allows: the second copy
      // is one match reaching back over the whole body, found only if the window covers it.
      const head = randomBytes(64)
      const input = Buffer.concat([head, randomBytes(2 ** bits - 262 - 128), head])
      expect(windowBitsFor(input.length)).toBe(bits)
      const chosen = zlib.gzipSync(input, { windowBits: bits })
      expect(chosen.equals(zlib.gzipSync(input))).toBe(true)
      // One bit less misses that match: the check above can tell windows apart.
      expect(zlib.gzipSync(input, { windowBits: bits - 1 }).length).toBeGreaterThan(chosen.length)
    }
  })
})
