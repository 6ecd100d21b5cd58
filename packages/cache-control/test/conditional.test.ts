import type { Request, Response } from 'express'
import request from 'supertest'
import { express } from '../../../test/helpers/express'
import { cacheControl } from '../src'

const BODY = JSON.stringify({ items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item ${i}` })) })
const LAST_MODIFIED = 'Wed, 21 Oct 2026 07:28:00 GMT'

function app(options: Parameters<typeof cacheControl>[0] = {}) {
  const server = express()
  server.set('etag', false) // the middleware, not Express, makes the validators here
  const cc = cacheControl({ rules: [{ match: '/**', preset: 'api', vary: ['Accept-Language'] }], ...options })
  server.use(cc)
  server.get('/end', (_req: Request, res: Response) => {
    res.setHeader('Content-Type', 'application/json')
    res.setHeader('Last-Modified', LAST_MODIFIED)
    res.end(BODY)
  })
  server.get('/send', (_req: Request, res: Response) => {
    res.type('json').send(BODY)
  })
  server.get('/fail', (_req: Request, res: Response) => {
    res.status(500).end(BODY)
  })
  server.post('/end', (_req: Request, res: Response) => {
    res.end(BODY)
  })
  return { server, cc }
}

async function etagOf(server: ReturnType<typeof app>['server'], path = '/end') {
  const res = await request(server).get(path).expect(200)
  return res.headers.etag as string
}

describe('ETag', () => {
  it('adds a weak ETag to a body sent in one piece', async () => {
    const etag = await etagOf(app().server)
    expect(etag).toMatch(/^W\/"[0-9a-f]+-[A-Za-z0-9+/=]+"$/)
  })

  it('adds a strong ETag when asked', async () => {
    const etag = await etagOf(app({ etag: 'strong' }).server)
    expect(etag).toMatch(/^"[0-9a-f]+-[A-Za-z0-9+/=]+"$/)
  })

  it('adds no ETag when disabled', async () => {
    const res = await request(app({ etag: false }).server)
      .get('/end')
      .expect(200)
    expect(res.headers.etag).toBeUndefined()
  })

  it('keeps the ETag Express computed for res.send', async () => {
    const server = express()
    server.use(cacheControl({ etag: 'strong' }))
    server.get('/x', (_req: Request, res: Response) => {
      res.send(BODY)
    })
    const res = await request(server).get('/x').expect(200)
    expect(res.headers.etag).toMatch(/^W\//)
  })

  it('gives the same ETag for the same body and a different one for another body', async () => {
    const { server } = app()
    expect(await etagOf(server)).toBe(await etagOf(server))
    expect(await etagOf(server, '/send')).toBe(await etagOf(server))
  })
})

describe('304 Not Modified (RFC 9110 §13.2.2)', () => {
  it('answers a matching If-None-Match with 304, validators and policy, and no body', async () => {
    const { server } = app()
    const etag = await etagOf(server)
    const res = await request(server).get('/end').set('If-None-Match', etag).expect(304)
    expect(res.headers.etag).toBe(etag)
    expect(res.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=60')
    expect(res.headers.vary).toBe('Accept-Language')
    expect(res.headers['content-type']).toBeUndefined()
    expect(res.headers['content-length']).toBeUndefined()
    expect(res.text).toBe('')
  })

  it('compares weakly: a strong tag in the request matches the weak tag of the response', async () => {
    const { server } = app()
    const etag = await etagOf(server)
    await request(server).get('/end').set('If-None-Match', etag.slice(2)).expect(304)
  })

  it('matches any tag of a list', async () => {
    const { server } = app()
    const etag = await etagOf(server)
    await request(server).get('/end').set('If-None-Match', `"other", W/"x",${etag}`).expect(304)
  })

  it('matches * when the resource exists', async () => {
    await request(app().server).get('/end').set('If-None-Match', '*').expect(304)
  })

  it('sends the full body when no tag matches', async () => {
    const res = await request(app().server).get('/end').set('If-None-Match', '"nope", W/"nope2"').expect(200)
    expect(res.text).toBe(BODY)
  })

  it('answers If-Modified-Since at or after Last-Modified with 304', async () => {
    await request(app().server).get('/end').set('If-Modified-Since', LAST_MODIFIED).expect(304)
  })

  it('sends the body when modified after If-Modified-Since', async () => {
    await request(app().server)
      .get('/end')
      .set('If-Modified-Since', 'Tue, 20 Oct 2026 07:28:00 GMT')
      .expect(200)
  })

  it('lets If-None-Match win over If-Modified-Since', async () => {
    await request(app().server)
      .get('/end')
      .set('If-None-Match', '"does-not-match"')
      .set('If-Modified-Since', LAST_MODIFIED)
      .expect(200)
  })

  it('answers HEAD with 304 too', async () => {
    const { server } = app()
    const etag = await etagOf(server)
    await request(server).head('/end').set('If-None-Match', etag).expect(304)
  })

  it('does not answer 304 for POST', async () => {
    const { server } = app()
    const etag = await etagOf(server)
    const res = await request(server).post('/end').set('If-None-Match', etag).expect(200)
    expect(res.text).toBe(BODY)
  })

  it('does not answer 304 for an error response', async () => {
    const res = await request(app().server).get('/fail').set('If-None-Match', '*').expect(500)
    expect(res.headers['cache-control']).toBe('no-store')
  })

  it('sends the full response when the client says Cache-Control: no-cache', async () => {
    const { server } = app()
    const etag = await etagOf(server)
    await request(server).get('/end').set('If-None-Match', etag).set('Cache-Control', 'no-cache').expect(200)
  })

  it.each([
    ['an unterminated quote', '"abc'],
    ['garbage', 'W/W/W/,,,;;"'],
    ['a bad date', 'not a date'],
  ])('treats %s as no match and never throws', async (_what, value) => {
    const res = await request(app().server)
      .get('/end')
      .set('If-None-Match', value)
      .set('If-Modified-Since', value)
      .expect(200)
    expect(res.text).toBe(BODY)
  })

  it('ignores a 12 KB If-None-Match list instead of scanning it', async () => {
    const { server } = app()
    const etag = await etagOf(server)
    const res = await request(server)
      .get('/end')
      .set('If-None-Match', `${'"a", '.repeat(2400)}${etag}`)
      .expect(200)
    expect(res.text).toBe(BODY)
  })

  it('still matches inside a 7 KB list', async () => {
    const { server } = app()
    const etag = await etagOf(server)
    await request(server)
      .get('/end')
      .set('If-None-Match', `${'"a", '.repeat(1400)}${etag}`)
      .expect(304)
  })

  it('parses a huge malformed validator in linear time', () => {
    // A quadratic parser would take seconds on this input; jest's timeout would catch it.
    const { server } = app()
    const value = `W/${'"'.repeat(1)}${'x'.repeat(7000)}`
    return request(server).get('/end').set('If-None-Match', value).expect(200)
  })

  it('counts 304s and the body bytes they saved, for res.end and res.send', async () => {
    const { server, cc } = app()
    const etag = await etagOf(server)
    await request(server).get('/end').set('If-None-Match', etag).expect(304)
    const sendEtag = await etagOf(server, '/send')
    await request(server).get('/send').set('If-None-Match', sendEtag).expect(304)
    expect(cc.stats().notModified).toBe(2)
    expect(cc.stats().bytesSaved).toBe(2 * Buffer.byteLength(BODY))
  })
})

describe("Express's own 304", () => {
  it('counts a 304 Express answered itself and the body bytes it did not send', async () => {
    const server = express() // Express's default weak ETag is on here
    const cc = cacheControl()
    server.use(cc)
    server.get('/send', (_req: Request, res: Response) => {
      res.type('json').send(BODY)
    })
    const first = await request(server).get('/send').expect(200)
    await request(server)
      .get('/send')
      .set('If-None-Match', first.headers.etag as string)
      .expect(304)
    expect(cc.stats().notModified).toBe(1)
    expect(cc.stats().bytesSaved).toBe(Buffer.byteLength(BODY))
  })
})

describe('412 Precondition Failed', () => {
  function writable(current: string | undefined, lastModified?: string) {
    const server = express()
    const cc = cacheControl({
      currentETag: async () => current,
      currentLastModified: () => lastModified,
    })
    server.use(cc)
    server.put('/doc', (_req: Request, res: Response) => {
      res.status(204).end()
    })
    return { server, cc }
  }

  it('lets a write through when If-Match holds the current ETag', async () => {
    await request(writable('"v2"').server).put('/doc').set('If-Match', '"v1", "v2"').expect(204)
  })

  it('answers 412 with the current ETag when If-Match does not match', async () => {
    const { server, cc } = writable('"v2"')
    const res = await request(server).put('/doc').set('If-Match', '"v1"').expect(412)
    expect(res.headers.etag).toBe('"v2"')
    expect(res.headers['cache-control']).toBe('no-store')
    expect(cc.stats().preconditionFailed).toBe(1)
  })

  it('compares If-Match strongly: a weak tag never matches', async () => {
    await request(writable('W/"v2"').server).put('/doc').set('If-Match', 'W/"v2"').expect(412)
  })

  it('answers 412 to If-Match: * when the resource does not exist', async () => {
    await request(writable(undefined).server).put('/doc').set('If-Match', '*').expect(412)
  })

  it('answers 412 when modified after If-Unmodified-Since', async () => {
    const { server } = writable(undefined, 'Wed, 21 Oct 2026 07:28:00 GMT')
    await request(server).put('/doc').set('If-Unmodified-Since', 'Tue, 20 Oct 2026 07:28:00 GMT').expect(412)
    await request(server).put('/doc').set('If-Unmodified-Since', 'Thu, 22 Oct 2026 07:28:00 GMT').expect(204)
  })

  it('passes a throwing currentETag to the error handler instead of crashing', async () => {
    const server = express()
    server.use(
      cacheControl({
        currentETag: () => {
          throw new Error('db down')
        },
        logger: { warn: () => {}, error: () => {} },
      }),
    )
    server.put('/doc', (_req: Request, res: Response) => {
      res.status(204).end()
    })
    server.use((err: Error, _req: Request, res: Response, _next: () => void) => {
      res.status(503).send(err.message)
    })
    const res = await request(server).put('/doc').set('If-Match', '"v1"').expect(503)
    expect(res.text).toBe('db down')
  })
})
