/**
 * The options an app moving from the `compression` package passes, on the wire: each one
 * changes the bytes the way zlib says it should, and a misspelt one is caught at construction.
 */
import zlib from 'node:zlib'
import { HotpathError } from '@hotpath/core'
import request from 'supertest'
import { type CompressionOptions, compression } from '../src'
import { appWith, decode, raw } from './helpers'

const text = Array.from({ length: 400 }, (_, i) => `line ${i % 37} of a compressible body`).join('\n')

/** The gzip body the app sends for `text` under `opts`, with `sent` as the route sends it. */
async function gzipOf(opts: CompressionOptions, sent: 'whole' | 'stream' = 'whole'): Promise<Buffer> {
  const app = appWith(compression(opts), (a) => {
    a.get('/', (_req, res) => {
      res.type('text')
      if (sent === 'whole') res.end(text)
      else {
        res.write(text.slice(0, 100))
        res.end(text.slice(100))
      }
    })
  })
  const res = await raw(request(app).get('/').set('Accept-Encoding', 'gzip'))
  expect(res.headers['content-encoding']).toBe('gzip')
  expect(decode('gzip', res.body).toString()).toBe(text)
  return res.body
}

describe('zlib options from the compression package', () => {
  it.each(['whole', 'stream'] as const)('compresses at the given level (%s body)', async (sent) => {
    const body = await gzipOf({ level: 1 }, sent)
    const fast = zlib.gzipSync(text, { level: 1 }).length
    expect(Math.abs(body.length - fast)).toBeLessThan(40)
    expect(body.length).toBeGreaterThan(zlib.gzipSync(text, { level: 9 }).length)
  })

  it('sends the bytes zlib makes with the given strategy', async () => {
    const body = await gzipOf({ strategy: zlib.constants.Z_HUFFMAN_ONLY })
    expect(body.equals(zlib.gzipSync(text, { strategy: zlib.constants.Z_HUFFMAN_ONLY, level: 6 }))).toBe(true)
  })

  it('sends the bytes zlib makes with the given windowBits and memLevel', async () => {
    const body = await gzipOf({ windowBits: 9, memLevel: 1 })
    expect(body.equals(zlib.gzipSync(text, { windowBits: 9, memLevel: 1, level: 6 }))).toBe(true)
  })

  it('accepts chunkSize and streams a body that decodes', async () => {
    const body = await gzipOf({ chunkSize: 64, level: 0 }, 'stream')
    expect(decode('gzip', body).toString()).toBe(text)
  })

  it('uses the given filter', async () => {
    const app = appWith(compression({ filter: (req) => req.path !== '/raw' }), (a) => {
      a.get('/:name', (_req, res) => {
        res.type('text').end(text)
      })
    })
    const kept = await raw(request(app).get('/raw').set('Accept-Encoding', 'gzip'))
    const squeezed = await raw(request(app).get('/other').set('Accept-Encoding', 'gzip'))
    expect([kept.headers['content-encoding'], squeezed.headers['content-encoding']]).toEqual([
      undefined,
      'gzip',
    ])
  })
})

describe('option names', () => {
  it.each([
    ['quality', 'brotliQuality'],
    ['params', 'brotli'],
    ['defaultEncoding', 'enforceEncoding'],
    ['treshold', 'threshold'],
    ['chunksize', 'chunkSize'],
  ])('suggests %s → %s', (given, meant) => {
    let caught: unknown
    try {
      compression({ [given]: 1 } as CompressionOptions)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(HotpathError)
    expect((caught as HotpathError).code).toBe('ERR_HOTPATH_OPTION')
    expect((caught as Error).message).toContain(`Did you mean "${meant}"?`)
  })

  it.each([
    [{ windowBits: 16 }, /windowBits must be a deflate window from 9 to 15/],
    [{ memLevel: 0 }, /memLevel must be a zlib memLevel from 1 to 9/],
    [{ strategy: 7 }, /strategy must be a zlib strategy/],
    [{ chunkSize: 10 }, /chunkSize must be a byte count of at least 64/],
    [{ brotli: 'fast' }, /brotli must be a zlib BrotliOptions object/],
    [{ encodings: ['gzip'], enforceEncoding: 'br' }, /enforceEncoding 'br' is not in encodings/],
  ])('rejects %j at construction', (opts, message) => {
    expect(() => compression(opts as CompressionOptions)).toThrow(message)
  })

  it('does not change the brotli options it is given', () => {
    const brotli = { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 9 } }
    const copy = JSON.stringify(brotli)
    compression({ brotli })
    expect(JSON.stringify(brotli)).toBe(copy)
  })
})
