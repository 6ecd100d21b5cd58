import { randomBytes } from 'node:crypto'
import createETag from 'etag'
import type { Request, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { cacheControl } from '../src'
import { etagFor } from '../src/etag'

const PRODUCTS = {
  items: Array.from({ length: 40 }, (_, i) => ({ id: i, name: `product ${i}`, price: i * 3.5 })),
}

describe('etagFor', () => {
  const bodies: Array<[string, string | Buffer]> = [
    ['an empty string', ''],
    ['an empty Buffer', Buffer.alloc(0)],
    ['ASCII', 'hello'],
    ['multi-byte UTF-8', 'héllo wörld ✓ 𝄞'],
    ['a 1 KB JSON text', JSON.stringify(PRODUCTS)],
    ['binary bytes', randomBytes(4096)],
  ]
  it.each(bodies)('gives the etag package’s tag, character for character, for %s', (_name, body) => {
    expect(etagFor(body, true)).toBe(createETag(body, { weak: true }))
    expect(etagFor(body, false)).toBe(createETag(body, { weak: false }))
  })
})

/** The same routes with and without the middleware, so Express's own header is the reference. */
function apps(setting?: unknown) {
  const build = (withMiddleware: boolean) => {
    const app = express()
    if (setting !== undefined) app.set('etag', setting)
    if (withMiddleware) app.use(cacheControl({ rules: [{ match: '/api/**', preset: 'api' }] }))
    app.get('/api/products', (_req: Request, res: Response) => {
      res.json(PRODUCTS)
    })
    app.get('/api/page', (_req: Request, res: Response) => {
      res.send('<p>héllo</p>')
    })
    app.get('/api/bytes', (_req: Request, res: Response) => {
      res.type('bin').send(Buffer.from('0123456789'))
    })
    app.get('/api/own', (_req: Request, res: Response) => {
      res.set('ETag', '"v7"').json(PRODUCTS)
    })
    app.get('/api/missing', (_req: Request, res: Response) => {
      res.status(404).json({ error: 'not found' })
    })
    return app
  }
  return { bare: build(false), hooked: build(true) }
}

const PATHS = ['/api/products', '/api/page', '/api/bytes', '/api/own', '/api/missing']

describe("Express's ETag with the middleware mounted", () => {
  it.each([
    ['the default setting', undefined],
    ["'weak'", 'weak'],
    ["'strong'", 'strong'],
  ])('is the header Express sends without it, with %s', async (_name, setting) => {
    const { bare, hooked } = apps(setting)
    for (const path of PATHS) {
      const expected = await request(bare).get(path)
      const actual = await request(hooked).get(path)
      expect(actual.status).toBe(expected.status)
      expect(actual.headers.etag).toBe(expected.headers.etag)
      expect(actual.headers['content-type']).toBe(expected.headers['content-type'])
      expect(actual.headers['content-length']).toBe(expected.headers['content-length'])
      expect(actual.text).toBe(expected.text)
    }
  })

  it('is the exact weak tag of the bytes sent, by default', async () => {
    const { hooked } = apps()
    const res = await request(hooked).get('/api/products').expect(200)
    expect(res.headers.etag).toBe(createETag(Buffer.from(JSON.stringify(PRODUCTS)), { weak: true }))
  })

  it("is the app's own function's tag when the setting is a function", async () => {
    const seen: string[] = []
    const { hooked } = apps((body: Buffer | string) => {
      seen.push(String(body).slice(0, 9))
      return '"custom"'
    })
    const res = await request(hooked).get('/api/products').expect(200)
    expect(res.headers.etag).toBe('"custom"')
    expect(seen).toEqual(['{"items":'])
  })

  it("is the middleware's own weak tag when Express makes none (etag setting false)", async () => {
    const { hooked } = apps(false)
    const res = await request(hooked).get('/api/products').expect(200)
    expect(res.headers.etag).toBe(createETag(JSON.stringify(PRODUCTS), { weak: true }))
  })

  it('answers 304 to If-None-Match with that tag, with the policy and no body', async () => {
    const { hooked } = apps()
    const first = await request(hooked).get('/api/products').expect(200)
    const again = await request(hooked)
      .get('/api/products')
      .set('If-None-Match', first.headers.etag)
      .expect(304)
    expect(again.headers.etag).toBe(first.headers.etag)
    expect(again.headers['cache-control']).toBe(first.headers['cache-control'])
    expect(again.text).toBe('')
  })
})
