import http from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import type { Response } from 'express'
import { compression } from '../src'
import { appWith, type Listening, listen, until } from './helpers'

type Flushable = Response & { flush(): void }

/** Opens a raw request on 127.0.0.1 and resolves with the response as soon as headers arrive. */
function open(port: number, path: string, headers: http.OutgoingHttpHeaders): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers }, resolve)
    req.on('error', reject)
    req.end()
  })
}

describe('server-sent events', () => {
  let server: Listening
  let release: () => void = () => {}

  beforeAll(async () => {
    const app = appWith(compression(), (a) => {
      a.get('/events', (_req, res) => {
        res.setHeader('Content-Type', 'text/event-stream')
        res.write('data: first\n\n')
        release = () => res.end('data: last\n\n')
      })
      a.get('/events-head', (_req, res) => {
        res.writeHead(200, { 'Content-Type': 'text/event-stream' })
        res.write('data: first\n\n')
        release = () => res.end()
      })
    })
    server = await listen(app)
  })
  afterAll(() => server.close())

  for (const path of ['/events', '/events-head']) {
    it(`delivers the first gzip event of ${path} before the stream ends`, async () => {
      const res = await open(server.port, path, { 'Accept-Encoding': 'gzip' })
      expect(res.headers['content-encoding']).toBe('gzip')
      const gunzip = zlib.createGunzip()
      res.pipe(gunzip)
      const first = await new Promise<string>((resolve) =>
        gunzip.once('data', (c: Buffer) => resolve(c.toString())),
      )
      expect(first).toBe('data: first\n\n')
      release()
      await new Promise((resolve) => gunzip.on('end', resolve).resume())
    })
  }
})

describe('flushEventStream: false', () => {
  let server: Listening
  let release: () => void = () => {}
  beforeAll(async () => {
    const app = appWith(compression({ flushEventStream: false }), (a) => {
      a.get('/events', (_req, res) => {
        res.setHeader('Content-Type', 'text/event-stream')
        res.write('data: first\n\n')
        ;(res as Flushable).flush()
        release = () => res.end()
      })
    })
    server = await listen(app)
  })
  afterAll(() => server.close())

  it('leaves flushing to res.flush(), which still delivers the event at once', async () => {
    const res = await open(server.port, '/events', { 'Accept-Encoding': 'br' })
    expect(res.headers['content-encoding']).toBe('br')
    const brotli = zlib.createBrotliDecompress()
    res.pipe(brotli)
    const first = await new Promise<string>((resolve) =>
      brotli.once('data', (c: Buffer) => resolve(c.toString())),
    )
    expect(first).toBe('data: first\n\n')
    release()
    await new Promise((resolve) => brotli.on('end', resolve).resume())
  })
})

describe('writing after the client left', () => {
  let server: Listening
  let response: Response | undefined
  beforeAll(async () => {
    const app = appWith(compression(), (a) => {
      a.get('/events', (_req, res) => {
        response = res
        res.setHeader('Content-Type', 'text/event-stream')
        res.write('data: first\n\n')
      })
    })
    server = await listen(app)
  })
  afterAll(() => server.close())

  it('neither throws nor emits an unhandled error', async () => {
    const res = await open(server.port, '/events', { 'Accept-Encoding': 'gzip' })
    await new Promise((resolve) => res.once('data', resolve))
    res.destroy()
    await until(() => response?.destroyed === true)
    const sse = response as Response
    expect(() => {
      sse.write('data: late\n\n')
      sse.write('data: later\n\n')
      sse.end()
    }).not.toThrow()
    await new Promise((resolve) => setTimeout(resolve, 50))
  })
})

describe('res.flush()', () => {
  let server: Listening
  beforeAll(async () => {
    const app = appWith(compression(), (a) => {
      a.get('/image', (_req, res) => {
        res.setHeader('Content-Type', 'image/png')
        res.write(Buffer.alloc(10))
        ;(res as Flushable).flush()
        res.end()
      })
    })
    server = await listen(app)
  })
  afterAll(() => server.close())

  it('exists on a response that is not compressed', async () => {
    const res = await open(server.port, '/image', { 'Accept-Encoding': 'gzip' })
    const chunks: Buffer[] = []
    for await (const chunk of res) chunks.push(chunk as Buffer)
    expect(res.statusCode).toBe(200)
    expect(Buffer.concat(chunks).length).toBe(10)
  })
})

describe('a client that stops reading a 50 MB response', () => {
  const TOTAL = 50 * 1024 * 1024
  // Random hex compresses to about half, so the compressed stream is ~25 MB: far more than
  // the socket buffers can hold, so the server must stop producing when the client stops.
  const CHUNK = Buffer.from(
    Array.from({ length: 32 * 1024 }, () => Math.floor(Math.random() * 16).toString(16)).join(''),
  )
  let server: Listening
  let produced = 0
  let source: Readable | undefined
  let response: http.ServerResponse | undefined
  const gzipStreams: zlib.Gzip[] = []
  const descriptor = Object.getOwnPropertyDescriptor(zlib, 'createGzip') as PropertyDescriptor
  const compress = compression()

  beforeAll(async () => {
    // Observe the stream the compression package creates, to check it is destroyed.
    Object.defineProperty(zlib, 'createGzip', {
      ...descriptor,
      value: (options?: zlib.ZlibOptions) => {
        const gzip = (descriptor.value as typeof zlib.createGzip)(options)
        gzipStreams.push(gzip)
        return gzip
      },
    })
    const app = appWith(compress, (a) => {
      a.get('/huge', (_req, res) => {
        response = res
        res.setHeader('Content-Type', 'text/plain')
        let sent = 0
        source = new Readable({
          read() {
            if (sent >= TOTAL) return void this.push(null)
            sent += CHUNK.length
            produced = sent
            this.push(CHUNK)
          },
        })
        pipeline(source, res).catch(() => {})
      })
    })
    server = await listen(app)
  })
  afterAll(async () => {
    Object.defineProperty(zlib, 'createGzip', descriptor)
    await server.close()
  })

  it('stops producing and keeps the server-side buffer bounded', async () => {
    const res = await open(server.port, '/huge', { 'Accept-Encoding': 'gzip' })
    expect(res.headers['content-encoding']).toBe('gzip')
    res.pause()
    // Production has stalled once it stays still for 300 ms: backpressure reached the source.
    let last = -1
    let stillSince = Date.now()
    await until(() => {
      if (produced !== last) {
        last = produced
        stillSince = Date.now()
      }
      return produced > 0 && Date.now() - stillSince >= 300
    }, 15_000)
    expect(produced).toBeLessThan(TOTAL / 2)
    expect(response?.writableLength).toBeLessThan(1024 * 1024)
    expect(gzipStreams).toHaveLength(1)
    expect(gzipStreams[0]?.writableLength).toBeLessThan(1024 * 1024)
    res.destroy()
  })

  it('destroys the zlib stream and the source once the client is gone', async () => {
    await until(() => gzipStreams[0]?.destroyed === true && source?.destroyed === true)
    expect(gzipStreams[0]?.destroyed).toBe(true)
    expect(source?.destroyed).toBe(true)
  })

  it('counts the response as aborted, not as compressed', () => {
    expect(compress.stats().aborted).toBe(1)
    expect(compress.stats().encodings.gzip?.responses).toBe(0)
  })
})
