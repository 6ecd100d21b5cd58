import type { Request, RequestHandler, Response } from 'express'
import { express } from '../../../test/helpers/express'
import { type FieldsOptions, fields } from '../src'
import { type Served, serve } from './http'

const post = {
  id: 1,
  title: 'Hello',
  password: 'secret',
  author: { id: 7, name: 'Ann', email: 'ann@example.com' },
  tags: [
    { id: 1, label: 'x' },
    { id: 2, label: 'y' },
  ],
}

const servers: Served[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()))
})

async function app(options: FieldsOptions = {}, handler?: RequestHandler, before: RequestHandler[] = []) {
  const json = fields(options)
  const a = express()
  a.use(...before, json)
  a.get('/post', handler ?? ((_req: Request, res: Response) => void res.json(post)))
  const s = await serve(a)
  servers.push(s)
  return { json, s }
}

describe('masking res.json', () => {
  it('sends only the selected fields', async () => {
    const { s } = await app()
    const r = await s.get('/post?fields=id,author/name')
    expect(r.status).toBe(200)
    expect(r.text).toBe('{"id":1,"author":{"name":"Ann"}}')
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(r.headers['content-length']).toBe(String(r.body.length))
  })

  it('sends everything but the excluded fields', async () => {
    const { s } = await app()
    const r = await s.get('/post?fields=-password,-author/email')
    expect(JSON.parse(r.text)).toEqual({
      id: 1,
      title: 'Hello',
      author: { id: 7, name: 'Ann' },
      tags: post.tags,
    })
  })

  it('decodes a percent-encoded mask', async () => {
    const { s } = await app()
    const r = await s.get('/post?fields=id%2Ctags(label)')
    expect(r.text).toBe('{"id":1,"tags":[{"label":"x"},{"label":"y"}]}')
  })

  it('joins a repeated parameter', async () => {
    const { s } = await app()
    const r = await s.get('/post?fields=id&fields=title')
    expect(r.text).toBe('{"id":1,"title":"Hello"}')
  })

  it('leaves the body untouched without ?fields=', async () => {
    const { s } = await app()
    const r = await s.get('/post')
    expect(r.text).toBe(JSON.stringify(post))
  })

  it('leaves the body untouched for an empty ?fields=', async () => {
    const { s } = await app()
    expect((await s.get('/post?fields=')).text).toBe(JSON.stringify(post))
  })

  it('ignores an unknown field by default', async () => {
    const { s } = await app()
    const r = await s.get('/post?fields=id,nope')
    expect(r.status).toBe(200)
    expect(r.text).toBe('{"id":1}')
  })

  it("honours the app's json spaces setting", async () => {
    const json = fields()
    const a = express()
    a.set('json spaces', 2)
    a.use(json)
    a.get('/post', (_req, res) => void res.json(post))
    const s = await serve(a)
    servers.push(s)
    expect((await s.get('/post?fields=id')).text).toBe('{\n  "id": 1\n}')
  })

  it('keeps a Content-Type the route set', async () => {
    const { s } = await app({}, (_req, res) => void res.type('application/vnd.api+json').json(post))
    expect((await s.get('/post?fields=id')).headers['content-type']).toBe(
      'application/vnd.api+json; charset=utf-8',
    )
  })

  it('masks a scalar body not at all', async () => {
    const { s } = await app({}, (_req, res) => void res.json('just a string'))
    expect((await s.get('/post?fields=id')).text).toBe('"just a string"')
  })

  it('uses a custom parameter name', async () => {
    const { s } = await app({ param: 'only' })
    expect((await s.get('/post?only=id&fields=title')).text).toBe('{"id":1}')
  })
})

describe('bad masks', () => {
  it('answer 400 with a JSON error naming the token and its position', async () => {
    const { s } = await app()
    const r = await s.get('/post?fields=id,,title')
    expect(r.status).toBe(400)
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(r.headers['cache-control']).toBe('no-store')
    expect(JSON.parse(r.text)).toEqual({
      error: {
        code: 'ERR_HOTPATH_FIELDS_SYNTAX',
        message: 'fields: expected a field name, found "," at position 3.',
        token: ',',
        position: 3,
      },
    })
  })

  it('never reach the handler', async () => {
    let calls = 0
    const { s } = await app({}, (_req, res) => {
      calls++
      res.json(post)
    })
    await s.get('/post?fields=a(')
    expect(calls).toBe(0)
  })

  it('answer 400 ERR_HOTPATH_FIELDS_TOO_LONG past 1 KB', async () => {
    const { s } = await app()
    const r = await s.get(`/post?fields=${'a,'.repeat(600)}a`)
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text).error.code).toBe('ERR_HOTPATH_FIELDS_TOO_LONG')
  })

  it('answer 400 ERR_HOTPATH_FIELDS_DEPTH past 8 levels', async () => {
    const { s } = await app()
    const r = await s.get('/post?fields=a/b/c/d/e/f/g/h/i')
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text).error).toMatchObject({
      code: 'ERR_HOTPATH_FIELDS_DEPTH',
      token: 'i',
      position: 16,
    })
  })

  it('follow maxLength and maxDepth options', async () => {
    const { s } = await app({ maxLength: 5, maxDepth: 2 })
    expect(JSON.parse((await s.get('/post?fields=id,title')).text).error.code).toBe(
      'ERR_HOTPATH_FIELDS_TOO_LONG',
    )
    expect(JSON.parse((await s.get('/post?fields=a/b/c')).text).error.code).toBe('ERR_HOTPATH_FIELDS_DEPTH')
  })

  it('answer 400 for a malformed percent-escape', async () => {
    const { s } = await app()
    const r = await s.get('/post?fields=%E0%A4%A')
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text).error.code).toBe('ERR_HOTPATH_FIELDS_SYNTAX')
  })

  it('are counted by code in stats().rejected', async () => {
    const { s, json } = await app()
    await s.get('/post?fields=(')
    await s.get('/post?fields=a/b/c/d/e/f/g/h/i')
    expect(json.stats().rejected).toEqual({ ERR_HOTPATH_FIELDS_SYNTAX: 1, ERR_HOTPATH_FIELDS_DEPTH: 1 })
  })
})

describe('strict mode', () => {
  it('answers 400 ERR_HOTPATH_FIELDS_UNKNOWN for a name the body does not have', async () => {
    const { s } = await app({ strict: true })
    const r = await s.get('/post?fields=id,author/nope')
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text).error).toEqual({
      code: 'ERR_HOTPATH_FIELDS_UNKNOWN',
      message: 'fields: unknown field "nope" at position 10.',
      token: 'nope',
      position: 10,
    })
  })

  it('accepts names the body has', async () => {
    const { s } = await app({ strict: true })
    expect((await s.get('/post?fields=id,author/name,-tags/id')).status).toBe(200)
  })

  it('accepts any name on an empty list (nothing to check against)', async () => {
    const { s } = await app({ strict: true }, (_req, res) => void res.json([]))
    expect((await s.get('/post?fields=whatever')).text).toBe('[]')
  })
})

describe('req.fields', () => {
  it('has() and toColumns() reflect the mask in the handler', async () => {
    const { s } = await app({}, (req, res) => {
      res.json({
        has: [req.fields?.has('author.name'), req.fields?.has('author.email'), req.fields?.has('title')],
        columns: req.fields?.toColumns(['id', 'title', 'author_id']),
      })
    })
    const r = await s.get('/post?fields=id,author/name,has,columns')
    expect(JSON.parse(r.text)).toEqual({ has: [true, false, false], columns: ['id'] })
  })

  it('is the "all fields" mask without ?fields=', async () => {
    const { s } = await app({}, (req, res) => {
      res.json({ active: req.fields?.active, has: req.fields?.has('x.y'), columns: req.fields?.toColumns() })
    })
    expect(JSON.parse((await s.get('/post')).text)).toEqual({ active: false, has: true, columns: ['*'] })
  })
})

describe('URL normalisation', () => {
  it('rewrites the mask in req.url, req.originalUrl and req.query to its canonical form', async () => {
    const { s } = await app({}, (req, res) => {
      res.json({ url: req.url, originalUrl: req.originalUrl, query: req.query.fields, id: 1 })
    })
    const r = await s.get('/post?page=2&fields=url,id,query,originalUrl&x=1')
    expect(JSON.parse(r.text)).toEqual({
      url: '/post?page=2&fields=id,originalUrl,query,url&x=1',
      originalUrl: '/post?page=2&fields=id,originalUrl,query,url&x=1',
      query: 'id,originalUrl,query,url',
      id: 1,
    })
  })

  it('drops an empty ?fields= from the URL', async () => {
    const { s } = await app({}, (req, res) => void res.json({ url: req.originalUrl }))
    expect(JSON.parse((await s.get('/post?fields=&a=1')).text)).toEqual({ url: '/post?a=1' })
  })

  it('keeps the URL when normalizeUrl is false', async () => {
    const { s } = await app({ normalizeUrl: false }, (req, res) => void res.json({ url: req.originalUrl }))
    expect(JSON.parse((await s.get('/post?fields=url,id')).text)).toEqual({ url: '/post?fields=url,id' })
  })

  it('works under a mounted router', async () => {
    const json = fields()
    const a = express()
    const router = express.Router()
    router.get(
      '/post',
      (req, res) => void res.json({ url: req.url, originalUrl: req.originalUrl, base: req.baseUrl }),
    )
    a.use('/api', json, router)
    const s = await serve(a)
    servers.push(s)
    const r = await s.get('/api/post?fields=url,originalUrl,base')
    expect(JSON.parse(r.text)).toEqual({
      url: '/post?fields=base,originalUrl,url',
      originalUrl: '/api/post?fields=base,originalUrl,url',
      base: '/api',
    })
  })
})

describe('stats()', () => {
  it('reports bytes out and bytes saved by masking per route (unshaped responses are not counted)', async () => {
    const { s, json } = await app({ measureEvery: 1 })
    await s.get('/post?fields=id')
    await s.get('/post')
    const full = Buffer.byteLength(JSON.stringify(post))
    const row = json.stats().routes['GET /post']
    expect(row).toMatchObject({ responses: 1, masked: 1, bytesOut: 8, bytesSaved: full - 8 })
    expect(json.stats().totals.bytesSaved).toBe(full - 8)
  })

  it('estimates the bytes saved between measured responses', async () => {
    const { s, json } = await app({ measureEvery: 2 })
    for (let i = 0; i < 4; i++) await s.get('/post?fields=id')
    const full = Buffer.byteLength(JSON.stringify(post))
    expect(json.stats().routes['GET /post']?.bytesSaved).toBe(4 * (full - 8))
  })

  it('is a StatsSource named json, and reset() zeroes it', async () => {
    const { s, json } = await app()
    await s.get('/post?fields=id')
    expect(json.name).toBe('json')
    json.reset()
    expect(json.stats().routes).toEqual({})
  })
})

describe('options', () => {
  it('throws ERR_HOTPATH_OPTION for an unknown option, with a suggestion', () => {
    expect(() => fields({ stirct: true } as FieldsOptions)).toThrow(
      expect.objectContaining({
        code: 'ERR_HOTPATH_OPTION',
        message: expect.stringContaining('Did you mean "strict"'),
      }),
    )
  })

  it.each([
    [{ maxLength: 0 }],
    [{ maxDepth: 1.5 }],
    [{ cacheSize: -1 }],
    [{ strict: 'yes' }],
    [{ param: 'a b' }],
    [{ schema: [] }],
    [{ compile: 3 }],
  ])('rejects %j at construction', (bad) => {
    expect(() => fields(bad as FieldsOptions)).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_OPTION' }),
    )
  })

  it('does not modify the options object', () => {
    const options = Object.freeze({ strict: true, maxDepth: 3 })
    fields(options)
    expect(options).toEqual({ strict: true, maxDepth: 3 })
  })

  it('gives two instances nothing in common', async () => {
    const a = fields()
    const b = fields()
    const s = await app({}, undefined, [])
    void s
    expect(a.stats()).toEqual(b.stats())
    expect(a).not.toBe(b)
  })
})

describe('res.json and res.stream on the app', () => {
  it('leaves res.json of routes without fields() as Express sends it', async () => {
    const json = fields()
    const a = express()
    a.get('/with', json, (_req, res) => void res.json(post))
    a.get('/without', (_req, res) => void res.json(post))
    const s = await serve(a)
    servers.push(s)
    expect((await s.get('/with?fields=id')).text).toBe('{"id":1}')
    expect((await s.get('/without?fields=id')).text).toBe(JSON.stringify(post))
  })

  it('lets two instances on one app each mask their own routes', async () => {
    const a = express()
    a.get('/a', fields(), (_req, res) => void res.json(post))
    a.get('/b', fields({ param: 'only' }), (_req, res) => void res.json(post))
    const s = await serve(a)
    servers.push(s)
    expect((await s.get('/a?fields=id')).text).toBe('{"id":1}')
    expect((await s.get('/b?only=title&fields=id')).text).toBe('{"title":"Hello"}')
  })

  it('masks through a res.json another layer replaced on the response, keeping that layer in the path', async () => {
    const a = express()
    a.use((_req, res, next) => {
      const json = res.json.bind(res)
      res.json = (body: unknown) => {
        res.set('X-Wrapped', '1')
        return json(body)
      }
      next()
    })
    a.use(fields())
    a.get('/post', (_req, res) => void res.json(post))
    const s = await serve(a)
    servers.push(s)
    const r = await s.get('/post?fields=id')
    expect(r.text).toBe('{"id":1}')
    expect(r.headers['x-wrapped']).toBe('1')
  })

  it('works in a mounted sub-app', async () => {
    const sub = express()
    sub.use(fields())
    sub.get('/post', (_req, res) => void res.json(post))
    const a = express()
    a.use('/sub', sub)
    const s = await serve(a)
    servers.push(s)
    expect((await s.get('/sub/post?fields=title')).text).toBe('{"title":"Hello"}')
  })
})

describe('req.fields on the app', () => {
  it('is undefined on a route fields() does not serve', async () => {
    const a = express()
    a.get('/with', fields(), (req, res) => void res.json({ active: req.fields?.active }))
    a.get('/without', (req, res) => void res.json({ defined: req.fields !== undefined }))
    const s = await serve(a)
    servers.push(s)
    expect((await s.get('/with?fields=active')).text).toBe('{"active":true}')
    expect((await s.get('/without?fields=id')).text).toBe('{"defined":false}')
  })

  it('can be replaced by the application', async () => {
    const { s } = await app({}, (req, res) => {
      ;(req as { fields?: unknown }).fields = 'mine'
      res.send(String(req.fields))
    })
    expect((await s.get('/post?fields=id')).text).toBe('mine')
  })
})
