import type { Request, RequestHandler, Response } from 'express'
import fastJson from 'fast-json-stringify'
import { express } from '../../../test/helpers/express'
import { type Compile, type FieldsOptions, fields, type JsonSchema, serializer } from '../src'
import { type Served, serve } from './http'

const schema: JsonSchema = {
  type: 'object',
  required: ['id', 'title'],
  properties: {
    id: { type: 'integer' },
    title: { type: 'string' },
    password: { type: 'string' },
    author: {
      type: 'object',
      required: ['id'],
      properties: { id: { type: 'integer' }, name: { type: 'string' }, email: { type: 'string' } },
    },
    tags: {
      type: 'array',
      items: { type: 'object', properties: { id: { type: 'integer' }, label: { type: 'string' } } },
    },
  },
}
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

function spyCompile() {
  const schemas: JsonSchema[] = []
  const compile: Compile = (s) => {
    schemas.push(s)
    return fastJson(s as never) as (doc: unknown) => string
  }
  return { schemas, compile }
}

async function app(options: FieldsOptions, handler?: RequestHandler) {
  const json = fields(options)
  const a = express()
  a.use(json)
  a.get('/post', handler ?? ((_req: Request, res: Response) => void res.json(post)))
  const s = await serve(a)
  servers.push(s)
  return { json, s }
}

/** Every compiled schema is the route schema with some properties left out, nothing added. */
function isProjectionOf(projected: unknown, original: unknown): boolean {
  if (projected === original) return true
  if (
    typeof projected !== 'object' ||
    projected === null ||
    typeof original !== 'object' ||
    original === null
  )
    return false
  const p = projected as Record<string, unknown>
  const o = original as Record<string, unknown>
  for (const key of Object.keys(p)) {
    if (!Object.hasOwn(o, key)) return false
    if (key === 'required') {
      if (!(p.required as unknown[]).every((name) => (o.required as unknown[]).includes(name))) return false
    } else if (!isProjectionOf(p[key], o[key])) return false
  }
  return true
}

describe('with a route schema', () => {
  it('sends the masked body through the projected, compiled schema (schema order)', async () => {
    const { s } = await app({ schema })
    await s.get('/post?fields=title,id,author/name')
    const r = await s.get('/post?fields=title,id,author/name')
    expect(r.text).toBe('{"id":1,"title":"Hello","author":{"name":"Ann"}}')
  })

  it('sends the same bytes on the first sighting of a mask (masked, then JSON.stringify)', async () => {
    const { s } = await app({ schema })
    expect((await s.get('/post?fields=id,title,author/name')).text).toBe(
      '{"id":1,"title":"Hello","author":{"name":"Ann"}}',
    )
  })

  it('serializes an unmasked body with the whole compiled schema', async () => {
    const { s } = await app({ schema }, (_req, res) => void res.json({ ...post, extra: 'not in schema' }))
    const r = await s.get('/post')
    expect(JSON.parse(r.text)).toEqual(post)
  })

  it('applies exclusions to the schema', async () => {
    const { s } = await app({ schema })
    await s.get('/post?fields=-password,-tags/id')
    const r = await s.get('/post?fields=-password,-tags/id')
    expect(JSON.parse(r.text)).toEqual({
      id: 1,
      title: 'Hello',
      author: post.author,
      tags: [{ label: 'x' }, { label: 'y' }],
    })
  })

  it('compiles the whole schema once, at construction', () => {
    const spy = spyCompile()
    fields({ schema, compile: spy.compile })
    expect(spy.schemas).toEqual([schema])
  })

  it('compiles a mask on its second sighting, once, then serves it from the cache', async () => {
    const spy = spyCompile()
    const { s, json } = await app({ schema, compile: spy.compile })
    for (let i = 0; i < 4; i++) await s.get('/post?fields=id')
    expect(spy.schemas).toHaveLength(2)
    expect(json.stats().serializers).toEqual({ schemas: 1, masks: 1, compiled: 1, fallback: 1 })
  })

  it('shares one compiled serializer between a,b and b,a', async () => {
    const spy = spyCompile()
    const { s } = await app({ schema, compile: spy.compile })
    await s.get('/post?fields=id,title')
    await s.get('/post?fields=title,id')
    await s.get('/post?fields=id,title')
    expect(spy.schemas).toHaveLength(2)
  })

  it('holds at most cacheSize masks per schema (LRU)', async () => {
    const spy = spyCompile()
    const { s, json } = await app({ schema, compile: spy.compile, cacheSize: 2 })
    for (const mask of ['id', 'title', 'id', 'password', 'id']) await s.get(`/post?fields=${mask}`)
    // 'id' was kept as the most recent each time; 'title' was evicted by 'password'.
    expect(json.stats().serializers.masks).toBe(2)
    await s.get('/post?fields=title')
    expect(spy.schemas).toHaveLength(2)
  })

  it('never compiles a name a client wrote: every compiled schema is a projection of the route schema', async () => {
    const spy = spyCompile()
    const { s } = await app({ schema, compile: spy.compile })
    for (const mask of [
      'evil1,id',
      '__proto__,id',
      'constructor,title',
      'author(evil2,name)',
      '$ref,id',
      '*(type),id',
      '-author/evil3',
    ]) {
      await s.get(`/post?fields=${encodeURIComponent(mask)}`)
      await s.get(`/post?fields=${encodeURIComponent(mask)}`)
    }
    expect(spy.schemas.length).toBeGreaterThan(5)
    for (const compiled of spy.schemas) {
      expect(isProjectionOf(compiled, schema)).toBe(true)
      expect(JSON.stringify(compiled)).not.toMatch(/evil|constructor/)
      expect(Object.getPrototypeOf(compiled)).toBe(Object.prototype)
    }
  })

  it('falls back to JSON.stringify for a body that does not fit its schema', async () => {
    const { s } = await app({ schema }, (_req, res) => void res.json({ title: 'no id' }))
    await s.get('/post?fields=id,title')
    const r = await s.get('/post?fields=id,title')
    expect(r.status).toBe(200)
    expect(r.text).toBe('{"title":"no id"}')
  })

  describe('never sends what the schema does not declare', () => {
    // Undeclared at three levels: the post, its author, a tag.
    const leaky = {
      id: 1,
      title: 'Hello',
      passwordHash: 'x1',
      author: { id: 7, name: 'Ann', session: 's3cret' },
      tags: [{ id: 1, label: 'x', internal: true }],
    }
    const sent = {
      id: 1,
      title: 'Hello',
      author: { id: 7, name: 'Ann' },
      tags: [{ id: 1, label: 'x' }],
    }

    it('the same body on a mask’s first sighting (not compiled yet) as on its second', async () => {
      const { s } = await app({ schema }, (_req, res) => void res.json(leaky))
      const first = await s.get('/post?fields=id,title,author,tags')
      const second = await s.get('/post?fields=id,title,author,tags')
      expect(first.text).toBe(second.text)
      expect(JSON.parse(first.text)).toEqual(sent)
    })

    it('a body that does not fit (a required property missing): the rest, still allow-listed', async () => {
      const { s, json } = await app({ schema }, (_req, res) => {
        const { id: _id, ...noId } = leaky
        res.json(noId)
      })
      const r = await s.get('/post')
      expect(r.status).toBe(200)
      expect(JSON.parse(r.text)).toEqual({ title: 'Hello', author: sent.author, tags: sent.tags })
      const masked = await s.get('/post?fields=title,author')
      expect(JSON.parse(masked.text)).toEqual({ title: 'Hello', author: sent.author })
      expect(json.stats().serializers.fallback).toBeGreaterThan(0)
    })

    it('an object or array where the schema declares something else is sent as null', async () => {
      const { s } = await app(
        { schema },
        (_req, res) =>
          void res.json({
            id: 1,
            title: { secret: 'a' },
            author: [{ id: 1, session: 's' }],
            tags: { id: 2 },
          }),
      )
      const r = await s.get('/post')
      expect(JSON.parse(r.text)).toEqual({ id: 1, title: null, author: null, tags: null })
    })

    it("with 'json spaces' set (no compiled serializer), in schema order", async () => {
      const json = fields({ schema })
      const a = express()
      a.set('json spaces', 2)
      a.use(json)
      a.get('/post', (_req, res) => void res.json({ tags: leaky.tags, title: 'Hello', id: 1, extra: 1 }))
      const s = await serve(a)
      servers.push(s)
      const r = await s.get('/post')
      expect(r.text).toBe(JSON.stringify({ id: 1, title: 'Hello', tags: sent.tags }, null, 2))
    })

    it('through a toJSON, as JSON.stringify calls it, and to another layer that replaced res.json', async () => {
      const doc = { toJSON: () => leaky }
      const { s } = await app({ schema }, (_req, res) => void res.json(doc))
      expect(JSON.parse((await s.get('/post')).text)).toEqual(sent)
      const json = fields({ schema })
      const a = express()
      a.use((_req, res, next) => {
        const send = res.json.bind(res)
        // A layer mounted before fields() that replaced res.json: it wraps the body it is given.
        res.json = (body: unknown) => send({ data: body })
        next()
      })
      a.use(json)
      a.get('/post', (_req, res) => void res.json(leaky))
      const layered = await serve(a)
      servers.push(layered)
      const r = await layered.get('/post?fields=id,author')
      expect(JSON.parse(r.text)).toEqual({ data: { id: 1, author: sent.author } })
    })
  })

  it('serializes a level the projection cannot follow (anyOf) without a schema', async () => {
    const spy = spyCompile()
    const odd = {
      type: 'object',
      properties: {
        a: { anyOf: [{ type: 'object', properties: { x: { type: 'integer' } } }] },
        b: { type: 'integer' },
      },
    }
    const { s } = await app(
      { schema: odd, compile: spy.compile },
      (_req, res) => void res.json({ a: { x: 1, y: 2 }, b: 3 }),
    )
    await s.get('/post?fields=a/x')
    const r = await s.get('/post?fields=a/x')
    expect(r.text).toBe('{"a":{"x":1}}')
    expect(spy.schemas).toHaveLength(1)
  })

  it('throws ERR_HOTPATH_JSON_SCHEMA at construction for a schema that does not compile', () => {
    expect(() => fields({ schema: { type: 'object', properties: { a: { $ref: '#/nowhere' } } } })).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_JSON_SCHEMA' }),
    )
  })
})

describe('strict mode with a schema', () => {
  it('answers 400 before the handler runs for a name the schema does not declare', async () => {
    let calls = 0
    const { s } = await app({ schema, strict: true }, (_req, res) => {
      calls++
      res.json(post)
    })
    const r = await s.get('/post?fields=id,author(name,phone)')
    expect(r.status).toBe(400)
    expect(JSON.parse(r.text).error).toMatchObject({
      code: 'ERR_HOTPATH_FIELDS_UNKNOWN',
      token: 'phone',
      position: 15,
    })
    expect(calls).toBe(0)
  })

  it('accepts declared names, through arrays', async () => {
    const { s } = await app({ schema, strict: true })
    expect((await s.get('/post?fields=id,tags/label')).status).toBe(200)
  })
})

describe('route()', () => {
  it('gives one route its schema behind the app-wide instance', async () => {
    const spy = spyCompile()
    const json = fields({ compile: spy.compile })
    const a = express()
    a.use(json)
    a.get('/post', json.route({ schema, strict: true }), (_req, res) => void res.json({ ...post, extra: 1 }))
    a.get('/other', (_req, res) => void res.json({ id: 1, nope: 2 }))
    const s = await serve(a)
    servers.push(s)
    expect(JSON.parse((await s.get('/post')).text)).toEqual(post)
    expect((await s.get('/post?fields=nope')).status).toBe(400)
    expect((await s.get('/other?fields=nope')).text).toBe('{"nope":2}')
    expect(spy.schemas).toEqual([schema])
  })

  it('works alone, without the app-wide instance', async () => {
    const json = fields()
    const a = express()
    a.get('/post', json.route({ schema }), (_req, res) => void res.json(post))
    const s = await serve(a)
    servers.push(s)
    expect((await s.get('/post?fields=id')).text).toBe('{"id":1}')
  })

  it('rejects unknown route options', () => {
    expect(() => fields().route({ shcema: schema } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_HOTPATH_OPTION' }),
    )
  })
})

describe('serializer(schema, fields)', () => {
  it('serializes with the projected schema', () => {
    expect(serializer(schema, 'title,author/name')(post)).toBe('{"title":"Hello","author":{"name":"Ann"}}')
  })

  it('serializes with the whole schema without fields', () => {
    expect(JSON.parse(serializer(schema)({ ...post, extra: 1 }))).toEqual(post)
  })

  it('masks and uses JSON.stringify where the projection cannot follow', () => {
    const odd = {
      type: 'object',
      properties: { a: { anyOf: [{ type: 'integer' }] }, b: { type: 'integer' } },
    }
    expect(serializer(odd, 'a')({ a: 1, b: 2 })).toBe('{"a":1}')
  })
})

describe('the default compiler on one-level schemas', () => {
  const row = {
    type: 'object',
    properties: { id: { type: 'integer' }, name: { type: 'string' }, price: { type: ['number', 'null'] } },
  }

  it('keeps exactly the declared properties of every row, in schema order', () => {
    const list = serializer({ type: 'array', items: row })
    expect(list([{ name: 'a', id: 1, secret: 's', price: null }])).toBe('[{"id":1,"name":"a","price":null}]')
  })

  it('sends the same bytes as JSON.stringify for rows that match the schema', () => {
    const rows = Array.from({ length: 100 }, (_, id) => ({ id, name: `n"${id}`, price: id / 3 }))
    expect(serializer({ type: 'array', items: row })(rows)).toBe(JSON.stringify(rows))
  })

  it('projects a mask before choosing: a masked post of one level keeps the masked names only', () => {
    expect(serializer(schema, 'id,title')(post)).toBe('{"id":1,"title":"Hello"}')
  })
})
