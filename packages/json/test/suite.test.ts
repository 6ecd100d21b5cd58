import http from 'node:http'
import zlib from 'node:zlib'
import { cacheControl } from '@hotpath/cache-control'
import { compression } from '@hotpath/compression'
import { MemoryStore, responseCache } from '@hotpath/response-cache'
import createETag from 'etag'
import type { RequestHandler } from 'express'
import { express } from '../../../test/helpers/express'
import { fields } from '../src'
import { get, type Served, serve, until } from './http'

const post = { id: 1, title: 'Hello', body: 'b'.repeat(2000), author: { id: 7, name: 'Ann' } }

const servers: Served[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

const quiet = { warn: () => {}, error: () => {} }

/** The suite in its documented order: compression, fields, cache-control, response cache, route. */
async function suite(handler: RequestHandler, cache?: { maxEntryBytes?: number }, compressAll = false) {
  const calls = { n: 0 }
  const a = express()
  // application/x-ndjson is not in the compressible database: NDJSON needs a filter that says yes.
  a.use(compression({ threshold: 100, ...(compressAll ? { filter: () => true } : {}) }))
  a.use(fields({ logger: quiet }))
  a.use(cacheControl({ rules: [{ match: '/**', maxAge: '1m', public: true }] }))
  if (cache) a.use(responseCache({ ttl: '1m', store: new MemoryStore(), ...cache }))
  a.get('/r', (req, res, next) => {
    calls.n++
    handler(req, res, next)
  })
  const s = await serve(a)
  servers.push(s)
  return { s, calls }
}

const gunzip = (body: Buffer) =>
  zlib.gunzipSync(body, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8')

describe('with @hotpath/cache-control', () => {
  it('gives the masked body its own ETag', async () => {
    const { s } = await suite((_req, res) => void res.json(post))
    const r = await s.get('/r?fields=id,title')
    expect(r.text).toBe('{"id":1,"title":"Hello"}')
    expect(r.headers.etag).toBe(createETag('{"id":1,"title":"Hello"}', { weak: true }))
    expect((await s.get('/r')).headers.etag).not.toBe(r.headers.etag)
  })

  it('answers 304 to If-None-Match with the masked body’s ETag', async () => {
    const { s } = await suite((_req, res) => void res.json(post))
    const first = await s.get('/r?fields=id')
    const again = await s.get('/r?fields=id', { 'If-None-Match': first.headers.etag as string })
    expect(again.status).toBe(304)
    expect(again.body.length).toBe(0)
  })
})

describe('with @hotpath/compression', () => {
  it('compresses a streamed body, which decompresses to the whole array', async () => {
    const rows = Array.from({ length: 5000 }, (_, id) => ({ id, name: `row ${id}` }))
    const { s } = await suite((_req, res) => void res.stream?.(rows))
    const r = await s.get('/r', { 'Accept-Encoding': 'gzip' })
    expect(r.headers['content-encoding']).toBe('gzip')
    expect(r.body.length).toBeLessThan(JSON.stringify(rows).length / 3)
    expect(gunzip(r.body)).toBe(JSON.stringify(rows))
  })

  it('flushes the first chunk through the compressor before the source has finished', async () => {
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    async function* source() {
      yield { id: 0 }
      await gate
      yield { id: 1 }
    }
    const { s } = await suite((_req, res) => void res.stream?.(source()))
    // The first item decompresses from what arrived while the source still waits on its gate.
    const first = await new Promise<string>((resolve, reject) => {
      const req = http.get(
        { port: s.port, host: '127.0.0.1', path: '/r', agent: false, headers: { 'Accept-Encoding': 'gzip' } },
        (res) => {
          expect(res.headers['content-encoding']).toBe('gzip')
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => {
            chunks.push(c)
            const text = gunzip(Buffer.concat(chunks))
            if (text !== '') {
              resolve(text)
              release()
            }
          })
        },
      )
      req.on('error', reject)
    })
    expect(first).toBe('[{"id":0}')
  })

  it('delivers the NDJSON error line through the compressor, then cuts the message', async () => {
    async function* source() {
      for (let i = 0; i < 200; i++) {
        if (i === 100) throw new Error('boom')
        yield { i, pad: 'x'.repeat(50) }
      }
    }
    const { s } = await suite(
      (_req, res) => void res.stream?.(source(), { format: 'ndjson' }),
      undefined,
      true,
    )
    const r = await s.get('/r', { 'Accept-Encoding': 'gzip' })
    expect(r.complete).toBe(false)
    const lines = gunzip(r.body).trimEnd().split('\n')
    expect(lines).toHaveLength(101)
    expect(JSON.parse(lines[100] as string).error.code).toBe('ERR_HOTPATH_STREAM_FAILED')
  })
})

describe('with @hotpath/response-cache', () => {
  it('keys ?fields=a,b and ?fields=b,a to one entry', async () => {
    const { s, calls } = await suite((_req, res) => void res.json(post), {})
    const first = await s.get('/r?fields=title,id')
    const second = await s.get('/r?fields=id,title')
    expect(second.text).toBe(first.text)
    expect(calls.n).toBe(1)
  })

  it('keeps different masks apart', async () => {
    const { s, calls } = await suite((_req, res) => void res.json(post), {})
    expect((await s.get('/r?fields=id')).text).toBe('{"id":1}')
    expect((await s.get('/r?fields=title')).text).toBe('{"title":"Hello"}')
    expect(calls.n).toBe(2)
  })

  it('stores a complete streamed body and serves it again', async () => {
    const rows = Array.from({ length: 100 }, (_, id) => ({ id }))
    const { s, calls } = await suite((_req, res) => void res.stream?.(rows), {})
    const first = await s.get('/r')
    await until(() => true)
    const second = await s.get('/r')
    expect(second.text).toBe(JSON.stringify(rows))
    expect(first.text).toBe(second.text)
    expect(calls.n).toBe(1)
  })

  it('does not store a streamed body larger than maxEntryBytes', async () => {
    const rows = Array.from({ length: 2000 }, (_, id) => ({ id, pad: 'x'.repeat(20) }))
    const { s, calls } = await suite((_req, res) => void res.stream?.(rows), { maxEntryBytes: 10_000 })
    expect((await s.get('/r')).text).toBe(JSON.stringify(rows))
    expect((await s.get('/r')).text).toBe(JSON.stringify(rows))
    expect(calls.n).toBe(2)
  })

  it('does not store a stream cut by an error', async () => {
    let fail = true
    const { s, calls } = await suite((_req, res) => {
      async function* source() {
        for (let i = 0; i < 10; i++) {
          if (fail && i === 5) throw new Error('boom')
          yield { i }
        }
      }
      void res.stream?.(source(), { chunkSize: 8 })
    }, {})
    const cut = await s.get('/r')
    expect(cut.complete).toBe(false)
    fail = false
    const whole = await s.get('/r')
    expect(whole.complete).toBe(true)
    expect(JSON.parse(whole.text)).toHaveLength(10)
    expect(calls.n).toBe(2)
  })

  it('does not store a stream the client abandoned', async () => {
    let gone!: () => void
    const left = new Promise<void>((resolve) => (gone = resolve))
    let result: { aborted: boolean } | undefined
    const { s, calls } = await suite(
      async (_req, res) => {
        async function* source() {
          yield { id: 0 }
          if (calls.n === 1) await left
          for (let id = 1; id < 1000; id++) yield { id }
        }
        result = (await res.stream?.(source())) as never
      },
      { maxEntryBytes: 64 * 1024 * 1024 },
    )
    await new Promise<void>((resolve) => {
      const req = http.get({ port: s.port, host: '127.0.0.1', path: '/r', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
    })
    await new Promise((r) => setTimeout(r, 50))
    gone()
    await until(() => result !== undefined)
    expect(result?.aborted).toBe(true)
    const again = await get(s.port, '/r')
    expect(JSON.parse(again.text)).toHaveLength(1000)
    expect(calls.n).toBe(2)
  })
})
